"""A live `simcore run` in a real process, steered from outside: SIGINT then `run --resume`,
and `simcore ctl` pausing, speeding up, resuming and stopping it."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from simcore.run import snapshot
from simcore.run.control import socket_path
from simcore.ui.cli import main
from tests.support.helpers import wait_until
from tests.support.paths import DEFAULT_PROFILE

PROFILE = str(DEFAULT_PROFILE)


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def _simcore(*args: str) -> list[str]:
    return [sys.executable, "-m", "simcore.ui.cli", *args]


@pytest.mark.slow
def test_sigint_to_a_real_process_then_resume(tmp_path: Path) -> None:
    """SIGINT at a random moment: complete log up to the last tick, a loadable snapshot, exact resume."""
    straight, run_dir = tmp_path / "straight", tmp_path / "run"
    base = ("run", PROFILE, "--duration", "3h", "--users", "300")
    done = subprocess.run(_simcore(*base, "-q", "--out", str(straight)), capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    full = (straight / "actions.jsonl").read_bytes()
    log = run_dir / "actions.jsonl"
    proc = subprocess.Popen(
        _simcore(*base, "--out", str(run_dir), "--speed", "7200"),  # 3 simulated hours in 1.5 s
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_until(
        "the first actions in the log", lambda: log.exists() and log.stat().st_size > 0, 15, every=0.02
    )
    time.sleep(random.uniform(0.0, 0.7))
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 130, out
    assert "stopped gracefully by SIGINT" in out and "simcore run --resume" in out
    data = log.read_bytes()
    assert full.startswith(data) and data.endswith(b"\n"), "the log is not a clean prefix"
    records = [json.loads(line) for line in data.splitlines()]
    last = records[-1]["tick"]
    snap = snapshot.load(run_dir)
    assert snap.manifest["log"]["bytes"] == len(data) and snap.manifest["stopped_by"] == "SIGINT"
    assert snap.tick >= last + 1  # every tick up to the snapshot is in the log (quiet ones log nothing)
    assert not any(json.loads(line)["tick"] < snap.tick for line in full[len(data) :].splitlines())
    resumed = subprocess.run(
        _simcore("run", "--resume", str(snap.path), "-q"), capture_output=True, timeout=60
    )
    assert resumed.returncode == 0, resumed.stderr
    assert log.read_bytes() == full


def test_ctl_pause_resume_speed_stop_a_live_run(tmp_path: Path) -> None:
    """`simcore ctl` against a live paced run: pause freezes it, resume continues, stop ends it."""
    run_dir = tmp_path / "run"
    log = run_dir / "actions.jsonl"
    proc = subprocess.Popen(
        _simcore("run", PROFILE, "--out", str(run_dir), "--speed", "1800", "--users", "300", "-q"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until(
            "the run's control socket", lambda: socket_path(run_dir).exists() and log.exists(), 15
        )
        code, out = _invoke("ctl", str(run_dir), "pause")
        assert code == 0 and "paused           True" in out
        time.sleep(0.3)  # let a tick that was in flight finish its current slice
        frozen = json.loads(_invoke("ctl", str(run_dir), "status", "--json")[1])
        size = log.stat().st_size
        time.sleep(0.6)  # 0.6 s at 1800x would be 18 simulated minutes
        still = json.loads(_invoke("ctl", str(run_dir), "status", "--json")[1])
        assert still["tick"] == frozen["tick"] and still["paused"] is True
        assert log.stat().st_size == size, "actions were logged while paused"
        assert _invoke("ctl", str(run_dir), "speed", "3600")[0] == 0
        assert _invoke("ctl", str(run_dir), "resume")[0] == 0
        wait_until(
            "ticks after the resume",
            lambda: (
                json.loads(_invoke("ctl", str(run_dir), "status", "--json")[1])["tick"]
                > still["tick"] + 5
            ),
            15,
        )
        status = json.loads(_invoke("ctl", str(run_dir), "status", "--json")[1])
        assert status["speed"] == "3600x" and status["paused"] is False
        assert _invoke("ctl", str(run_dir), "stop")[0] == 0
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["stopped_by"] == "ctl stop" and summary["pacing"]["paused_seconds"] >= 0.5
    assert summary["snapshot"] and snapshot.load(Path(summary["snapshot"])).tick == summary["ticks"]
    assert not socket_path(run_dir).exists()


@pytest.mark.slow
def test_ctl_rate_changes_a_live_runs_target(tmp_path: Path) -> None:
    """`simcore ctl rate N` retargets a live --rate run; the summary reports the last target and
    the real actions per second."""
    run_dir = tmp_path / "run"
    log = run_dir / "actions.jsonl"
    proc = subprocess.Popen(
        _simcore("run", PROFILE, "--out", str(run_dir), "--rate", "100", "--users", "300", "-q"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until(
            "the run's control socket", lambda: socket_path(run_dir).exists() and log.exists(), 15
        )
        status = json.loads(_invoke("ctl", str(run_dir), "status", "--json")[1])
        assert status["rate"] == 100.0
        code, out = _invoke("ctl", str(run_dir), "rate", "400")
        assert code == 0 and "rate             400.0" in out
        before = json.loads(_invoke("ctl", str(run_dir), "status", "--json")[1])["actions"]
        wait_until(
            "200 more actions at the new rate",
            lambda: (
                json.loads(_invoke("ctl", str(run_dir), "status", "--json")[1])["actions"] > before + 200
            ),
            15,
        )
        assert _invoke("ctl", str(run_dir), "stop")[0] == 0
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out
    pacing = json.loads((run_dir / "summary.json").read_text())["pacing"]
    assert pacing["rate"] == 400.0 and 0 < pacing["actions_per_second"] <= 400 * 1.1
