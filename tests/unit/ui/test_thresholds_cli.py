"""Thresholds through the CLI (exit code 3) and the run outputs (evaluation itself:
tests/unit/analysis/test_thresholds.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from simcore.analysis.thresholds import EXIT_THRESHOLDS_FAILED
from simcore.ui.cli import main

BASE = """
duration = "3h"
start = 2026-01-05T08:00:00
[population]
initial_users = 150
"""


def _config(tmp_path: Path, thresholds: str) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(BASE + "[thresholds]\n" + thresholds, encoding="utf-8")
    return path


def _run(tmp_path: Path, thresholds: str, *extra: str) -> tuple[int, str, dict]:
    out = tmp_path / "run"
    result = CliRunner().invoke(
        main, ["run", str(_config(tmp_path, thresholds)), "--out", str(out), "-q", *extra]
    )
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else {}
    return result.exit_code, result.output, summary


def test_passing_thresholds_exit_0_and_every_output_is_written(tmp_path: Path) -> None:
    """A run whose thresholds hold exits 0 and writes the report, CSVs and metric files."""
    code, output, summary = _run(
        tmp_path, 'error_rate = "< 0.5"\nactions_per_hour = "> 10"\n"crowd.share_users_posted" = "> 0"\n'
    )
    assert code == 0, output
    th = summary["thresholds"]
    assert th["passed"] and [r["metric"] for r in th["results"]] == [
        "error_rate",
        "actions_per_hour",
        "crowd.share_users_posted",
    ]
    assert all(r["value"] is not None for r in th["results"])
    run = tmp_path / "run"
    for name in (
        "report.html",
        "hourly.csv",
        "day_shape.csv",
        "endpoints.csv",
        "latest_actions.json",
        "metrics.npz",
    ):
        assert (run / name).is_file(), name
    # written atomically, with the permissions a plain open() gives (not mkstemp's 0600)
    import os

    umask = os.umask(0)
    os.umask(umask)
    for name in ("report.html", "summary.json", "config.toml", "latest_actions.json"):
        assert (run / name).stat().st_mode & 0o777 == 0o666 & ~umask, name
    assert len((run / "hourly.csv").read_text().splitlines()) == 1 + 3
    assert summary["metrics"]["actions"] == summary["actions"]
    assert summary["crowd"]["actions"] == summary["actions"]
    latest = json.loads((run / "latest_actions.json").read_text())
    assert len(latest) == 100 and latest[-1]["seq"] == summary["actions"] - 1


def test_failing_threshold_exits_3_and_is_listed(tmp_path: Path) -> None:
    """One failing threshold: exit code 3, FAIL in the output, the summary and the report."""
    code, output, summary = _run(tmp_path, 'actions_per_hour = "> 1e9"\np99_ms = "< 250"\n')
    assert code == EXIT_THRESHOLDS_FAILED, output
    assert "FAIL" in output and "exit code 3" in output
    results = {r["metric"]: r for r in summary["thresholds"]["results"]}
    assert not summary["thresholds"]["passed"]
    assert not results["actions_per_hour"]["passed"] and results["p99_ms"]["passed"]
    html = (tmp_path / "run" / "report.html").read_text()
    assert "thresholds failed" in html and "actions_per_hour" in html
    rebuilt = CliRunner().invoke(main, ["report", str(tmp_path / "run")])  # as `simcore run` does
    assert rebuilt.exit_code == EXIT_THRESHOLDS_FAILED, rebuilt.output
    assert "thresholds failed: exit code 3" in rebuilt.output
    assert "> 1,000,000,000" in rebuilt.output and "e+0" not in rebuilt.output


def test_crowd_threshold_without_a_log_fails(tmp_path: Path) -> None:
    """With --log none there are no crowd numbers, so a crowd threshold cannot pass."""
    code, _, summary = _run(tmp_path, '"crowd.burstiness" = "> -1"\n', "--log", "none")
    assert code == EXIT_THRESHOLDS_FAILED
    assert summary["crowd"] is None and summary["logs"] == []


def test_several_logs_and_report_rebuild(tmp_path: Path) -> None:
    """--log jsonl --log sqlite,parquet writes three logs; `simcore report` rebuilds report.html."""
    code, output, summary = _run(tmp_path, "", "--log", "jsonl", "--log", "sqlite,parquet")
    assert code == 0, output
    run = tmp_path / "run"
    assert summary["logs"] == ["actions.jsonl", "actions.sqlite", "actions.parquet"]  # run-dir relative
    assert summary["crowd"]["log"] == "actions.parquet"
    (run / "report.html").unlink()
    result = CliRunner().invoke(main, ["report", str(run)])
    assert result.exit_code == 0, result.output
    assert '<figure class="chart" id="sim-actions"' in (run / "report.html").read_text()
    again = json.loads((run / "summary.json").read_text())
    assert again["metrics"] == summary["metrics"] and again["crowd"] == summary["crowd"]


def test_report_on_a_directory_without_metrics(tmp_path: Path) -> None:
    """A clear error (exit 2) when RUN_DIR is not a run directory."""
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert "expected a run directory" in result.output


def test_unknown_log_choice_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["run", str(_config(tmp_path, "")), "--out", str(tmp_path / "r"), "--log", "csv"]
    )
    assert result.exit_code == 2 and "expected jsonl, sqlite, parquet, none" in result.output


def test_ctrl_c_leaves_readable_logs_and_every_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interrupted at tick 30: exit 130, each log readable with the same rows, outputs written."""
    from simcore.logs.read import read_rows
    from simcore.run import builder
    from simcore_backends.mock import MockBackend

    class Interrupting(MockBackend):
        def execute(self, batch):  # type: ignore[no-untyped-def]
            if batch.tick == 30:
                raise KeyboardInterrupt
            return super().execute(batch)

    monkeypatch.setattr(builder, "load_backend", lambda name, **_: Interrupting())
    code, output, summary = _run(tmp_path, "", "--log", "jsonl,sqlite,parquet")
    assert code == 130, output
    run = tmp_path / "run"
    rows = [read_rows(run / f"actions.{fmt}") for fmt in ("jsonl", "sqlite", "parquet")]
    assert rows[0] == rows[1] == rows[2] and rows[0][-1]["tick"] == 29
    assert summary["stopped_early"] and summary["metrics"]["actions"] == len(rows[0])
    assert (run / "report.html").is_file() and (run / "hourly.csv").is_file()
