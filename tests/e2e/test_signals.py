"""Signals at random moments to a real `simcore run`, for each log format (issue 13): SIGINT,
a double SIGINT, SIGTERM and kill -9. Nothing written is lost up to the last complete tick,
a stopped run still writes its summary and report, and resuming gives the uninterrupted run."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from simcore.logs.formats import FILE_NAMES
from simcore.logs.parquet import parts_of, read_table
from simcore.logs.read import read_rows
from simcore.run import snapshot
from tests.support.paths import DEFAULT_PROFILE

BASE = ("run", str(DEFAULT_PROFILE), "--duration", "3h", "--users", "300", "--no-control")
FORMATS = ("jsonl", "sqlite", "parquet")
STOP_CODES = {"SIGINT": 130, "SIGTERM": 143}

pytestmark = pytest.mark.slow


def _simcore(*args: str) -> list[str]:
    return [sys.executable, "-m", "simcore.ui.cli", *args]


@pytest.fixture(scope="module")
def straight(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """The uninterrupted run's rows, in each format."""
    out = tmp_path_factory.mktemp("straight") / "run"
    done = subprocess.run(
        _simcore(*BASE, "-q", "--out", str(out), "--log", ",".join(FORMATS)),
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return {fmt: read_rows(out / FILE_NAMES[fmt]) for fmt in FORMATS}


def _start(run_dir: Path, fmt: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        _simcore(
            *BASE, "--out", str(run_dir), "--log", fmt, "--speed", "5400", "--snapshot-every", "30m"
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    end = time.monotonic() + 20
    while not snapshot.all_snapshots(run_dir):  # running, with a first snapshot to fall back on
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < end, "no snapshot was written"
        time.sleep(0.02)
    return proc


def _rows_on_disk(path: Path, fmt: str) -> list[dict[str, Any]]:
    """What a killed run left readable: complete JSONL lines, committed SQLite rows, Parquet parts."""
    if fmt == "jsonl":
        data = path.read_bytes()
        return [json.loads(line) for line in data[: data.rfind(b"\n") + 1].splitlines()]
    if fmt == "parquet" and not path.exists():
        rows = read_table(path).to_pylist()
        for row in rows:
            row["time"] = row["time"].isoformat(timespec="milliseconds")
            for key in ("sent_at", "bytes"):
                if row.get(key, 0) is None:
                    del row[key]
        return rows
    return read_rows(path)


def _resume_equals_straight(run_dir: Path, fmt: str, straight: list[dict[str, Any]]) -> None:
    snap = snapshot.load(run_dir)
    resumed = subprocess.run(
        _simcore("run", "--resume", str(snap.path), "-q", "--no-control"),
        capture_output=True,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert read_rows(run_dir / FILE_NAMES[fmt]) == straight
    assert not parts_of(run_dir / FILE_NAMES[fmt]).exists()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "double SIGINT"])
def test_a_stopped_run_keeps_its_log_summary_and_report_and_resumes_exactly(
    tmp_path: Path, fmt: str, how: str, straight: dict[str, list[dict[str, Any]]]
) -> None:
    run_dir = tmp_path / "run"
    proc = _start(run_dir, fmt)
    time.sleep(random.uniform(0.0, 0.6))
    sig = signal.SIGTERM if how == "SIGTERM" else signal.SIGINT
    proc.send_signal(sig)
    if how == "double SIGINT":  # the second one lands while the run stops or its files are written
        time.sleep(random.uniform(0.0, 0.15))
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    # a second signal landing after everything is written and printed ends the process by the
    # signal itself (-2), which a shell reports as 130 too
    assert proc.returncode in (STOP_CODES[sig.name], -sig.value), out
    assert "Traceback" not in out and "Aborted" not in out, out
    for name in ("summary.json", "report.html"):
        assert (run_dir / name).is_file(), f"{name} missing after {how}:\n{out}"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["stopped_by"] == sig.name
    rows = read_rows(run_dir / FILE_NAMES[fmt])
    assert rows == straight[fmt][: len(rows)], "the log is not a prefix of the uninterrupted run's"
    _resume_equals_straight(run_dir, fmt, straight[fmt])


@pytest.mark.parametrize("fmt", FORMATS)
def test_kill_9_keeps_every_complete_tick_and_resumes_exactly(
    tmp_path: Path, fmt: str, straight: dict[str, list[dict[str, Any]]]
) -> None:
    run_dir = tmp_path / "run"
    proc = _start(run_dir, fmt)
    time.sleep(random.uniform(0.1, 0.9))
    proc.kill()
    proc.communicate(timeout=30)
    log = run_dir / FILE_NAMES[fmt]
    rows = _rows_on_disk(log, fmt)
    full = straight[fmt]
    assert rows == full[: len(rows)], "what was written is not a prefix of the uninterrupted run"
    snap = snapshot.load(run_dir)
    assert len(rows) >= snap.seq, "rows before the last snapshot were lost"
    if fmt == "parquet" and rows:  # parts hold whole ticks
        last = rows[-1]["tick"]
        assert len(rows) == sum(r["tick"] <= last for r in full)
    _resume_equals_straight(run_dir, fmt, full)
