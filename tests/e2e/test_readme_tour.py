"""The README's tour works as written: its commands, after the activation it tells the user
to do, and the log line it shows is the one seed 42 writes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT as REPO

README = (REPO / "README.md").read_text()


def _tour_commands() -> list[str]:
    block = README.split("## A short tour", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    lines = [line.split("#", 1)[0].strip() for line in block.splitlines()]
    return [line for line in lines if line]


def _activated_env() -> dict[str, str]:
    """The environment after ``. .venv/bin/activate``: the interpreter's bin first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(Path(sys.executable).parent.parent)
    return env


@pytest.mark.slow
def test_the_tour_runs_as_written(tmp_path: Path) -> None:
    """Every command of the tour, in a shell, from a checkout's directory: exit 0."""
    commands = _tour_commands()
    assert commands[0] == ". .venv/bin/activate"
    shutil.copytree(REPO / "profiles", tmp_path / "profiles")
    env = _activated_env()
    for command in commands[1:]:
        assert command.startswith("simcore "), command
        done = subprocess.run(
            command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])
        assert "Traceback" not in done.stderr
    assert (tmp_path / "runs" / "default-seed42" / "actions.jsonl").is_file()
    assert (tmp_path / "runs" / "big" / "summary.json").is_file()


def test_python_dash_m_simcore_works() -> None:
    """``python -m simcore`` is the simcore command."""
    done = subprocess.run(
        [sys.executable, "-m", "simcore", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "Usage: simcore" in done.stdout


def test_the_example_log_line_is_what_seed_42_writes(tmp_path: Path) -> None:
    """The README's log line is, byte for byte, a line of ``simcore run --seed 42 profiles/default.toml``."""
    line = re.search(r'^\{"seq":\d+,.*\}$', README, re.MULTILINE)
    assert line is not None
    shown = json.loads(line.group(0))
    from click.testing import CliRunner

    from simcore.ui.cli import main

    out = tmp_path / "run"
    args = [
        "run",
        "--seed",
        "42",
        str(REPO / "profiles" / "default.toml"),
        "--out",
        str(out),
        "--quiet",
        "--no-control",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    with open(out / "actions.jsonl", encoding="utf-8") as f:
        for i, text in enumerate(f):
            if i == shown["seq"]:
                assert text.rstrip("\n") == line.group(0)
                return
    pytest.fail(f"the log has no line {shown['seq']}")
