"""Snapshots carry the metrics, and resumed SQLite/Parquet logs keep exactly the rows before the snapshot."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from simcore.logs.read import read_rows
from simcore.run import snapshot
from simcore.ui.cli import main

CONFIG = """
duration = "3h"
start = 2026-01-05T07:00:00
[population]
initial_users = 150
"""


def _run(*args: str) -> None:
    result = CliRunner().invoke(main, ["run", *args, "-q", "--no-control", "--no-dashboard"])
    assert result.exit_code == 0, result.output


def test_resume_continues_metrics_and_every_log(tmp_path: Path) -> None:
    """Straight run == run, resume from the first hourly snapshot: same rows in each log, same metrics."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    straight, split = tmp_path / "straight", tmp_path / "split"
    logs = ("--log", "jsonl,sqlite,parquet")
    _run(str(cfg), "--out", str(straight), *logs)
    _run(str(cfg), "--out", str(split), *logs, "--snapshot-every", "1h")
    first = snapshot.all_snapshots(split)[0]
    assert "sink.metrics.hour_kind" in snapshot.load(first).arrays
    _run("--resume", str(first), *logs)
    for name in ("actions.jsonl", "actions.sqlite", "actions.parquet"):
        assert read_rows(split / name) == read_rows(straight / name), name
    a = json.loads((straight / "summary.json").read_text())
    b = json.loads((split / "summary.json").read_text())
    assert a["metrics"] == b["metrics"]
    assert a["crowd"] == b["crowd"]
    assert (split / "hourly.csv").read_text() == (straight / "hourly.csv").read_text()


def test_report_falls_back_to_the_latest_snapshot(tmp_path: Path) -> None:
    """A run dir without metrics.npz (a killed run) is reported from its latest snapshot's metrics."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    run = tmp_path / "run"
    _run(str(cfg), "--out", str(run), "--snapshot-every", "1h")
    before = json.loads((run / "summary.json").read_text())["metrics"]
    for name in ("metrics.npz", "metrics.json", "report.html"):
        (run / name).unlink()
    result = CliRunner().invoke(main, ["report", str(run)])
    assert result.exit_code == 0, result.output
    assert json.loads((run / "summary.json").read_text())["metrics"] == before
    assert (run / "report.html").is_file()
