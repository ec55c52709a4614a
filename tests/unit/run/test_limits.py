"""Failure limits: a run failing past ``[limits]`` says so while it runs and exits 4."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from simcore.run.control import RunControl
from simcore.run.limits import EXIT_FAILURE_LIMIT, FailureLimit
from simcore.scenario.backend_schema import Limits
from simcore.seam.contract import ErrorKind, Outcomes
from simcore.ui.cli import main
from tests.support.helpers import scripted_batch


def _outcomes(status: list[int], error: list[int] | None = None) -> Outcomes:
    out = Outcomes.ok(len(status), np.array(status, np.int16))
    if error is not None:
        out.error[:] = error
    return out


def _batch(n: int) -> object:
    return scripted_batch([1] * n, list(range(n)), [-1] * n)


def test_failure_share_over_a_sliding_window() -> None:
    control = RunControl()
    limit = FailureLimit(Limits(failure_share=0.5, window=100), control)
    for _ in range(9):  # 90 actions, all failing: not enough seen yet
        limit.write(_batch(10), _outcomes([500] * 10))  # type: ignore[arg-type]
    assert not control.stopping
    limit.write(_batch(10), _outcomes([200] * 10))  # type: ignore[arg-type]
    assert control.stopping  # 90 of 100
    control = RunControl()
    limit = FailureLimit(Limits(failure_share=0.5, window=100), control)
    for _ in range(5):
        limit.write(_batch(10), _outcomes([500] * 10))  # type: ignore[arg-type]
    for _ in range(20):  # the window slides over successes
        limit.write(_batch(10), _outcomes([200] * 10))  # type: ignore[arg-type]
    assert not control.stopping
    for _ in range(5):  # 50 of the last 100 failed: not more than half
        limit.write(_batch(10), _outcomes([404] * 10))  # type: ignore[arg-type]
    assert not control.stopping
    limit.write(_batch(10), _outcomes([0] * 10, [ErrorKind.SKIPPED] * 10))  # type: ignore[arg-type]
    assert control.stopping
    assert control.stop_reason is not None
    assert control.stop_reason.startswith("failure limit: 60 of the last 100 actions failed")


def test_unreachable_for_long_enough() -> None:
    now = [0.0]
    control = RunControl()
    limit = FailureLimit(Limits(unreachable_seconds=60), control, clock=lambda: now[0])
    refused = _outcomes([0, 0, 0], [ErrorKind.CONNECTION, ErrorKind.CONNECTION, ErrorKind.SKIPPED])
    for t in (0.0, 30.0, 59.0):
        now[0] = t
        limit.write(_batch(3), refused)  # type: ignore[arg-type]
    assert not control.stopping
    now[0] = 61.0
    limit.write(_batch(1), _outcomes([503]))  # type: ignore[arg-type]  # it answered: reset
    now[0] = 100.0
    limit.write(_batch(3), refused)  # type: ignore[arg-type]
    assert not control.stopping
    now[0] = 160.0
    limit.write(_batch(3), refused)  # type: ignore[arg-type]
    assert control.stop_reason is not None and "refused every connection for 60 s" in control.stop_reason


def test_zero_and_one_turn_the_checks_off() -> None:
    control = RunControl()
    limit = FailureLimit(Limits(failure_share=1.0, window=1, unreachable_seconds=0), control)
    for _ in range(5):
        limit.write(_batch(2), _outcomes([0, 0], [ErrorKind.CONNECTION] * 2))  # type: ignore[arg-type]
    assert not control.stopping


SCENARIO = """
duration = "6h"
start = 2026-01-05T08:00:00
[population]
initial_users = 300
[backend]
retries = 0
[faults]
error_rate = 0.7
"""


def test_a_failing_run_stops_and_exits_4(tmp_path: Path) -> None:
    """70 % injected errors and no retries: the run stops early, says why, exits 4."""
    path = tmp_path / "failing.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(out), "--no-dashboard"])
    assert result.exit_code == EXIT_FAILURE_LIMIT, result.output
    assert "stopping (failure limit:" in result.output  # while it runs
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stopped_by"].startswith("failure limit: ")
    assert summary["ticks"] < 360 and (out / "actions.jsonl").is_file()


def test_limits_can_be_raised(tmp_path: Path) -> None:
    path = tmp_path / "failing.toml"
    path.write_text(SCENARIO.replace("6h", "2h") + "[limits]\nfailure_share = 0.97\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(tmp_path / "run"), "-q"])
    assert result.exit_code == 0, result.output
