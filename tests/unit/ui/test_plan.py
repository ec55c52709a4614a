"""`simcore plan`: its figures are arithmetic consequences of the action log a mock run writes."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from simcore.logs.read import read_rows
from simcore.run.plan import LoadPlan, Stream
from simcore.run.rate import tick_real_seconds
from simcore.ui.cli import main

PROFILE = """
seed = 5
duration = "3h"
start = 2026-01-05T18:30:00
[population]
initial_users = 150
"""


@pytest.fixture(scope="module")
def mock_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """The profile above, and the records of its mock run (the plan must agree with them)."""
    directory = tmp_path_factory.mktemp("plan")
    profile = directory / "p.toml"
    profile.write_text(PROFILE)
    out = directory / "run"
    result = CliRunner().invoke(main, ["run", str(profile), "--out", str(out), "-q", "--no-control"])
    assert result.exit_code == 0, result.output
    return profile, read_rows(out / "actions.jsonl")


def _plan(profile: Path, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["plan", str(profile), "--json", *args])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


def _per_hour(rows: list[dict[str, Any]]) -> list[int]:
    """Actions per simulated hour of the run (hours counted from the start, 18:30)."""
    counts = Counter(r["tick"] * 60 // 3600 for r in rows)
    return [counts.get(h, 0) for h in range(max(counts) + 1)]


def test_plan_at_a_speed_matches_the_mock_log(mock_log: tuple[Path, list[dict[str, Any]]]) -> None:
    """Per hour: the log's actions; real seconds = 3600 / speed; actions/s × seconds = actions."""
    profile, rows = mock_log
    plan = _plan(profile, "--speed", "120")
    assert plan["actions"] == len(rows) > 500
    assert [h["actions"] for h in plan["hours"]] == _per_hour(rows)
    for hour in plan["hours"]:
        assert hour["real_seconds"] == pytest.approx(3600 / 120)
        assert hour["actions_per_second"] * hour["real_seconds"] == pytest.approx(hour["actions"])
        assert hour["speed"] == pytest.approx(120)
    assert plan["real_seconds"] == pytest.approx(3 * 3600 / 120)
    assert plan["actions_per_second"] * plan["real_seconds"] == pytest.approx(len(rows))


def test_plan_at_a_rate_matches_the_mock_log(mock_log: tuple[Path, list[dict[str, Any]]]) -> None:
    """At --rate N (speed bound S) each tick lasts max(its actions / N, 60 / S) real seconds."""
    profile, rows = mock_log
    rate, bound = 50.0, 3000.0
    plan = _plan(profile, "--rate", "50", "--speed", "3000")
    per_tick = Counter(r["tick"] for r in rows)
    seconds = [max(per_tick.get(t, 0) / rate, 60 / bound) for t in range(plan["ticks"])]
    assert plan["real_seconds"] == pytest.approx(sum(seconds))
    for h, hour in enumerate(plan["hours"]):
        assert hour["real_seconds"] == pytest.approx(sum(seconds[h * 60 : (h + 1) * 60]))
        assert hour["actions_per_second"] * hour["real_seconds"] == pytest.approx(hour["actions"])
        assert hour["actions_per_second"] <= rate + 1e-9
    assert plan["rate"] == rate and plan["speed"] == bound


def test_peak_rate_speed_puts_the_busiest_minute_at_r(
    mock_log: tuple[Path, list[dict[str, Any]]],
) -> None:
    """The suggested speed × the log's busiest minute / 60 = R; planned at it, that minute runs
    at R actions per real second."""
    profile, rows = mock_log
    per_minute = Counter(r["time"][:16] for r in rows)
    busiest = max(per_minute.values())
    plan = _plan(profile, "--peak-rate", "400")
    assert plan["busiest_minute"]["actions"] == busiest
    assert plan["speed_for_peak_rate"] * busiest / 60 == pytest.approx(400)
    assert plan["speed"] == pytest.approx(plan["speed_for_peak_rate"])
    assert plan["busiest_minute"]["actions_per_second"] == pytest.approx(400)
    # the first tick holds the 150 initial sign-ups; after it the busiest minute is the log's too
    later = max(n for minute, n in per_minute.items() if minute > "2026-01-05T18:30")
    assert plan["busiest_minute_after_first_tick"]["actions"] == later
    assert plan["speed_for_peak_rate_after_first_tick"] * later / 60 == pytest.approx(400)


def test_plan_prints_a_table(mock_log: tuple[Path, list[dict[str, Any]]]) -> None:
    """Without --json: an hourly table, the total real duration and the suggested speed."""
    profile, rows = mock_log
    result = CliRunner().invoke(main, ["plan", str(profile), "--rate", "25", "--peak-rate", "100"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "per simulated hour" in out and "Mon 18:30" in out and "Mon 20:30" in out
    assert f"{len(rows):,} actions in" in out
    assert "puts it at 100/s" in out


def test_plan_refuses_what_it_cannot_plan(mock_log: tuple[Path, list[dict[str, Any]]]) -> None:
    """--speed max depends on the backend; a bad rate names the option."""
    profile, _ = mock_log
    for args, expected in (
        (["--speed", "max"], "--speed"),
        (["--rate", "zero"], "--rate"),
        (["--peak-rate", "-1"], "--peak-rate"),
    ):
        result = CliRunner().invoke(main, ["plan", str(profile), *args])
        assert result.exit_code == 2 and expected in result.output


def test_busiest_minute_within_a_long_tick() -> None:
    """With 5-minute ticks a minute is a fifth of a tick's real time (a tick is paced evenly)."""
    stream = Stream(
        start=dt.datetime(2026, 1, 5),
        tick_seconds=300,
        per_tick=np.array([10, 100, 0], dtype=np.int64),
        per_minute=np.array([2, 2, 2, 2, 2, 40, 20, 20, 10, 10, 0, 0, 0, 0, 0], dtype=np.int64),
    )
    plan = LoadPlan(stream, None, 20.0)
    tick = tick_real_seconds(100, 20.0, 300)
    assert plan.busiest_minute_rate() == pytest.approx(40 / (tick / 5))
    assert stream.speed_for_peak(10.0) == pytest.approx(10.0 * 60 / 40)
    with pytest.raises(ValueError, match="speed or a rate"):
        LoadPlan(stream, None, None)
