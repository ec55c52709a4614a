"""The example plugin (examples/simcore-example-backend), installed with pip and found
through its entry point, runs the same action stream as the mock."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from simcore.logs.jsonl import OUTCOME_FIELDS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "simcore-example-backend"
PROFILE = ROOT / "profiles" / "default.toml"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example installed into a folder of its own (offline: setuptools from this venv)."""
    target = tmp_path_factory.mktemp("site")
    # build from a copy: setuptools writes build/ and *.egg-info next to the sources
    source = tmp_path_factory.mktemp("source") / EXAMPLE.name
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"]
    command += ["--no-index", "--target", str(target), str(source)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return target


def simcore(site: Path, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-m", "simcore.ui.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def action_stream(log: Path) -> list[dict[str, Any]]:
    """The log's records without the outcome fields."""
    lines = log.read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k not in OUTCOME_FIELDS} for line in lines]


@pytest.fixture
def evening(tmp_path: Path) -> Path:
    """profiles/default.toml from 18:00, when most users are awake."""
    text = PROFILE.read_text()
    assert "start = 2026-01-05T00:00:00" in text
    path = tmp_path / "evening.toml"
    path.write_text(text.replace("start = 2026-01-05T00:00:00", "start = 2026-01-05T18:00:00"))
    return path


def statuses_of(log: Path, action: str) -> set[int]:
    records = (json.loads(line) for line in log.read_text().splitlines())
    return {r["status"] for r in records if r["action"] == action}


def test_the_example_plugin_is_listed_and_runs_the_mocks_action_stream(
    site: Path, evening: Path, tmp_path: Path
) -> None:
    listed = simcore(site, "backends")
    assert "example" in listed and "simcore_example_backend:ExampleBackend" in listed
    logs = {}
    for backend in ("example", "mock"):
        out = tmp_path / backend
        args = ["run", str(evening), "--backend", backend, "--duration", "2h", "--users", "50"]
        simcore(site, *args, "--seed", "11", "--out", str(out), "--quiet")
        logs[backend] = out / "actions.jsonl"
    example, mock = (action_stream(logs[b]) for b in ("example", "mock"))
    assert len(example) > 100
    assert example == mock
    # the plugin answered, not the mock: a like is 200 there, 201 in the mock
    assert statuses_of(logs["example"], "like_post") == {200}
    assert statuses_of(logs["mock"], "like_post") == {201}
    assert statuses_of(logs["example"], "create_post") == {201}
    # it is Stateful: the snapshot at the end carries its store
    records = [json.loads(line) for line in logs["example"].read_text().splitlines()]
    made = sum(r["status"] == 201 and r["action"] != "sign_up" for r in records)
    signed = sum(r["action"] == "sign_up" for r in records)
    snapshot = next((tmp_path / "example" / "snapshots").glob("*.npz"))
    with np.load(snapshot, allow_pickle=False) as arrays:
        assert len(arrays["backend.users"]) == signed
        assert len(arrays["backend.server_posts"]) == made > 0
        assert int(arrays["backend.next_id"][0]) == made + 1
