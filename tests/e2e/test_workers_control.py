"""What works in one process works with ``--workers``: `simcore ctl` against a live run on
workers, the keys, thresholds, the terminal dashboard and the web view.

The runs join this session's Ray runtime (the ``ray_runtime`` fixture): in process, or from a
subprocess through ``--ray-address``, so no test pays for a Ray start of its own (the Ctrl-C
test in test_workers.py does, once)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from simcore.analysis.thresholds import EXIT_THRESHOLDS_FAILED
from simcore.logs.read import read_rows
from simcore.run import snapshot as snapshots
from simcore.run.builder import build_run
from simcore.run.control import socket_path
from simcore.scenario.parse import loads_config, with_overrides
from simcore.ui.cli import main
from simcore.ui.keys import KeyReader
from tests.support.helpers import wait_until
from tests.support.paths import DEFAULT_PROFILE
from tests.support.runner import AtTick
from tests.support.webrun import get, get_state, web_run

PROFILE = str(DEFAULT_PROFILE)


def _cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


def _status(run_dir: Path) -> dict[str, Any]:
    code, output = _cli("ctl", str(run_dir), "status", "--json")
    assert code == 0, output
    document: dict[str, Any] = json.loads(output)
    return document


def _address() -> str:
    import ray

    address: str = ray.get_runtime_context().gcs_address
    return address


@pytest.mark.slow
def test_ctl_steers_a_live_run_on_workers_and_it_resumes_on_three(
    ray_runtime: None, tmp_path: Path
) -> None:
    """`simcore ctl` against a live paced `--workers 2` run: pause freezes it (no tick, no log
    line), speed and resume take effect, stop ends it with a whole-tick snapshot; resumed on
    3 workers it ends with the one-process log."""
    args = ("run", PROFILE, "--seed", "8", "--users", "300", "--duration", "6h")
    straight = tmp_path / "straight"
    code, output = _cli(*args, "-q", "--no-control", "--out", str(straight))
    assert code == 0, output
    run_dir = tmp_path / "run"
    log = run_dir / "actions.jsonl"
    command = [sys.executable, "-m", "simcore", *args, "--speed", "1800", "-q"]
    command += ["--workers", "2", "--ray-address", _address(), "--out", str(run_dir)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(
            "the run's control socket", lambda: socket_path(run_dir).exists() and log.exists(), 60
        )
        code, output = _cli("ctl", str(run_dir), "pause")
        assert code == 0 and "paused           True" in output, output
        time.sleep(0.3)  # a tick in flight finishes its slice
        frozen, size = _status(run_dir), log.stat().st_size
        time.sleep(0.6)  # 18 simulated minutes at 1800x
        still = _status(run_dir)
        assert still["paused"] is True and still["tick"] == frozen["tick"]
        assert log.stat().st_size == size, "actions were logged while paused"
        assert _cli("ctl", str(run_dir), "speed", "3600")[0] == 0
        assert _cli("ctl", str(run_dir), "resume")[0] == 0
        wait_until("ticks after the resume", lambda: _status(run_dir)["tick"] > still["tick"] + 5, 60)
        status = _status(run_dir)
        assert status["speed"] == "3600x" and status["paused"] is False
        assert _cli("ctl", str(run_dir), "stop")[0] == 0
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["stopped_by"] == "ctl stop" and summary["workers"] == 2
    assert summary["pacing"]["paused_seconds"] >= 0.5
    snap = snapshots.load(Path(summary["snapshot"]))
    assert snap.tick == summary["ticks"] < 360
    assert (straight / "actions.jsonl").read_bytes().startswith(log.read_bytes())
    code, output = _cli("run", "--resume", str(run_dir), "--workers", "3", "--speed", "max", "-q")
    assert code == 0, output
    assert log.read_bytes() == (straight / "actions.jsonl").read_bytes()
    assert json.loads((run_dir / "summary.json").read_text())["workers"] == 3


@pytest.mark.slow
def test_keys_stop_a_run_on_workers(ray_runtime: None, tmp_path: Path) -> None:
    """The dashboard's keys steer a run on workers as they do one process: + doubles the
    speed, q stops it after the current tick with a snapshot, and the resumed run (one
    process) ends with the one-process log."""
    config = with_overrides(loads_config(""), seed=6, population__initial_users=200, duration="3h")
    with build_run(config, run_dir=tmp_path / "straight", control_socket=False) as run:
        run.execute()
    folder = tmp_path / "keys"
    with build_run(config, run_dir=folder, control_socket=False, workers=2) as run:
        keys = KeyReader(run.control)
        run.control.set_speed(1800.0)
        run.watch(sink=AtTick(30, lambda: keys.handle("+")))
        run.watch(sink=AtTick(60, lambda: keys.handle("q")))
        result = run.execute()
    assert run.control.speed == 3600.0
    assert result.stopped_by == "key q" and result.tick == 61 and result.snapshot is not None
    snap = snapshots.load(result.snapshot)
    with build_run(snap.config, resume=snap, control_socket=False) as run:
        assert run.execute().stopped_by is None
    assert (folder / "actions.jsonl").read_bytes() == (
        tmp_path / "straight" / "actions.jsonl"
    ).read_bytes()


def _thresholds_profile(tmp_path: Path) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(
        'duration = "3h"\nstart = 2026-01-05T08:00:00\n[population]\ninitial_users = 150\n'
        '[thresholds]\nerror_rate = "< 0.5"\nactions_per_hour = "> 1e9"\n'
        '"crowd.share_users_posted" = "> 0"\n',
        encoding="utf-8",
    )
    return path


@pytest.mark.slow
def test_thresholds_on_workers_give_the_one_process_verdict(ray_runtime: None, tmp_path: Path) -> None:
    """A failing threshold on `--workers 2`: exit 3, FAIL printed, and every threshold's value
    and verdict in the summary are the one-process run's."""
    profile = _thresholds_profile(tmp_path)
    verdicts = []
    for name, extra in (("one", ()), ("two", ("--workers", "2"))):
        code, output = _cli(
            "run", str(profile), "-q", "--no-control", "--out", str(tmp_path / name), *extra
        )
        assert code == EXIT_THRESHOLDS_FAILED, output
        assert "FAIL" in output and "exit code 3" in output
        verdicts.append(json.loads((tmp_path / name / "summary.json").read_text())["thresholds"])
    one, two = verdicts
    assert one == two and not two["passed"]
    assert [r["passed"] for r in two["results"]] == [True, False, True]


@pytest.mark.slow
def test_the_dashboard_draws_a_run_on_workers(ray_runtime: None, tmp_path: Path) -> None:
    """--dashboard on `--workers 2`: the live view starts and stops cleanly, its last frame
    counts what the log holds, and the log is the one-process run's."""
    args = ("run", PROFILE, "--duration", "2h", "--users", "200", "--no-control")
    code, output = _cli(*args, "-q", "--out", str(tmp_path / "one"))
    assert code == 0, output
    code, output = _cli(
        *args, "--dashboard", "--workers", "2", "--out", str(tmp_path / "two"),
        env={"COLUMNS": "160", "LINES": "50"},
    )  # fmt: skip
    assert code == 0, output
    log = (tmp_path / "two" / "actions.jsonl").read_bytes()
    assert log == (tmp_path / "one" / "actions.jsonl").read_bytes()
    assert "╭" in output and "run summary" in output
    assert f"{len(log.splitlines()):,}" in output  # the action count, in the frame or the summary


def _final_state(tmp_path: Path, *extra: str) -> tuple[dict[str, Any], str, Path]:
    """A --web run to its end: its last /state, its /metrics text and its run directory."""
    with web_run(tmp_path, "--duration", "3h", "--users", "300", *extra) as (base, _proc, out):
        state: dict[str, Any] = {}

        def ended() -> bool:
            state.update(get_state(base))
            return bool(state["status"] == "ended")

        wait_until("the run to end", ended, 120)
        return state, get(base + "metrics").decode(), out


@pytest.mark.slow
@pytest.mark.server
def test_the_web_view_follows_a_run_on_workers(ray_runtime: None, tmp_path: Path) -> None:
    """--web on `--workers 2`: the final /state (tick, actions, users by state, top posters
    and posts) is the one-process run's; /metrics, scraped at the end, counts the log by kind
    and status."""
    from prometheus_client.parser import text_string_to_metric_families

    one, _, _ = _final_state(tmp_path / "one")
    state, text, out = _final_state(tmp_path / "two", "--workers", "2", "--ray-address", _address())
    rows = read_rows(out / "actions.jsonl")
    assert state["tick"] == 180 and state["actions"] == len(rows) > 0
    for key in ("tick", "actions", "states", "top_posters", "top_posts", "kinds"):
        assert state[key] == one[key], key
    families = {f.name: f for f in text_string_to_metric_families(text)}
    scraped = Counter(
        {
            (s.labels["kind"], s.labels["status"]): int(s.value)
            for s in families["simcore_actions"].samples
            if s.name == "simcore_actions_total"
        }
    )
    assert scraped == Counter((r["action"], str(r["status"])) for r in rows)
    assert json.loads((out / "summary.json").read_text())["workers"] == 2
