"""The command line, through click's CliRunner: run, config check/show, backends, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from simcore import __version__
from simcore.logs.jsonl import read_log
from simcore.scenario.parse import loads_config
from simcore.ui.cli import main
from tests.support.bad_configs import BAD_CONFIGS
from tests.support.paths import DEFAULT_PROFILE


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_version_and_help() -> None:
    """--version prints the version; --help lists the commands."""
    code, out = _run("--version")
    assert code == 0 and __version__ in out
    code, out = _run("--help")
    assert code == 0 and "run" in out and "config" in out
    code, out = _run("run", "--help")
    assert "--duration" in out and "--seed" in out and "--users" in out


def test_run_writes_a_run_directory(tmp_path: Path) -> None:
    """`simcore run` writes config.toml, the JSONL log and summary.json, and prints hourly lines."""
    out = tmp_path / "run"
    code, text = _run(
        "run",
        str(DEFAULT_PROFILE),
        "--seed",
        "3",
        "--duration",
        "3h",
        "--users",
        "150",
        "--out",
        str(out),
    )
    assert code == 0, text
    assert text.count(" users ") >= 3  # one console line per simulated hour
    records = read_log(out / "actions.jsonl")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["actions"] == len(records) > 100
    assert summary["seed"] == 3 and summary["ticks"] == 180 and summary["users"] >= 150
    assert set(records[0]) >= {
        "seq",
        "tick",
        "time",
        "user",
        "profile",
        "state",
        "action",
        "method",
        "path",
        "post",
        "status",
        "latency_ms",
    }
    assert [r["seq"] for r in records] == list(range(len(records)))
    used = loads_config((out / "config.toml").read_text())
    assert used.seed == 3 and used.population.initial_users == 150 and used.duration == "3h"


def test_same_seed_same_log_through_the_cli(tmp_path: Path) -> None:
    """Two CLI runs with one seed write byte-identical logs; another seed differs."""
    logs = []
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        code, _ = _run(
            "run",
            str(DEFAULT_PROFILE),
            "--seed",
            seed,
            "--duration",
            "2h",
            "--users",
            "100",
            "--out",
            str(tmp_path / name),
            "--quiet",
        )
        assert code == 0
        logs.append((tmp_path / name / "actions.jsonl").read_bytes())
    assert logs[0] == logs[1] != logs[2]


def test_log_none_and_log_path(tmp_path: Path) -> None:
    """--log none writes no log; --log PATH writes it there."""
    code, _ = _run(
        "run",
        str(DEFAULT_PROFILE),
        "--duration",
        "1h",
        "--users",
        "20",
        "--out",
        str(tmp_path / "a"),
        "--log",
        "none",
        "-q",
    )
    assert code == 0 and not (tmp_path / "a" / "actions.jsonl").exists()
    code, _ = _run(
        "run",
        str(DEFAULT_PROFILE),
        "--duration",
        "1h",
        "--users",
        "20",
        "--out",
        str(tmp_path / "b"),
        "--log",
        str(tmp_path / "elsewhere.jsonl"),
        "-q",
    )
    assert code == 0 and (tmp_path / "elsewhere.jsonl").stat().st_size > 0


def test_default_run_directory_is_not_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --out, runs go to runs/PROFILE-seedN, then -2, -3 …"""
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        assert _run("run", str(DEFAULT_PROFILE), "--duration", "1h", "--users", "10", "-q")[0] == 0
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [
        "default-seed42",
        "default-seed42-2",
    ]


def test_config_check_and_show(tmp_path: Path) -> None:
    """check says ok; show prints TOML that loads back to the same config."""
    code, out = _run("config", "check", str(DEFAULT_PROFILE))
    assert code == 0 and "ok" in out
    # each kind's route and the placeholders it may use
    assert (
        "  read_post: GET /posts/{id}; {run} {user} {name} {user_id} {id} {post} {tag} {title}\n" in out
    )
    assert "  sign_up: POST /users; {run} {user} {name}\n" in out
    code, out = _run("config", "show", str(DEFAULT_PROFILE))
    assert code == 0
    assert loads_config(out) == loads_config(DEFAULT_PROFILE.read_text())


def test_backends_lists_the_mock() -> None:
    """The mock is found through the simcore.backends entry points."""
    code, out = _run("backends")
    assert code == 0 and "mock" in out


@pytest.mark.parametrize(("text", "path", "message"), BAD_CONFIGS)
@pytest.mark.parametrize("command", [("config", "check"), ("run",)])
def test_bad_config_exits_2_with_the_key_path(
    tmp_path: Path, text: str, path: str, message: str, command: tuple[str, ...]
) -> None:
    """Every bad-config case: exit 2, the key path and fix in the message, no traceback."""
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    result = CliRunner().invoke(main, [*command, str(bad)])
    assert result.exit_code == 2
    assert path in result.output and message in result.output
    assert ("Traceback" not in result.output and result.exception is None) or isinstance(
        result.exception, SystemExit
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["config", "check", "missing.toml"], "does not exist"),
        (["run", str(DEFAULT_PROFILE), "--duration", "soon"], "--duration: got 'soon'"),
        (["run", str(DEFAULT_PROFILE), "--users", "-5"], "--users: got -5"),
        (["run", str(DEFAULT_PROFILE), "--backend", "mok"], "did you mean 'mock'"),
    ],
)
def test_bad_arguments_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    """Missing files, bad durations and unknown backends are clear errors with exit code 2."""
    result = CliRunner().invoke(
        main, [*args, "--out", str(tmp_path / "r")] if args[0] == "run" else args
    )
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_syntax_error_exits_2(tmp_path: Path) -> None:
    """A TOML syntax error is exit 2 with the position."""
    bad = tmp_path / "bad.toml"
    bad.write_text("seed = [")
    code = CliRunner().invoke(main, ["config", "check", str(bad)])
    assert code.exit_code == 2 and "TOML syntax error" in code.output


def test_a_ctrl_c_outside_a_run_exits_130_without_aborted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A Ctrl-C that no run handles (here while ``config check`` reads its file; in ``simcore
    run``, a second one landing after the stopped run printed everything) ends with 130."""

    def interrupted(path: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("simcore.ui.commands.load_config", interrupted)
    result = CliRunner().invoke(main, ["config", "check", str(DEFAULT_PROFILE)])
    assert result.exit_code == 130, result.output
    assert "Aborted" not in result.output
