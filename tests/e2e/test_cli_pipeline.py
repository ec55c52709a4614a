"""`simcore run --backend http` pipelines ticks at --speed max, and paced (--speed N, --rate N)
too: there each slice is sent at its due time without waiting for the earlier ones' answers.

Against the reference app served by uvicorn on a free loopback port, through the CLI: the
summary's ``max_ticks_in_flight`` says how many ticks overlapped (never more than
``backend.pipeline``), and the action stream is the same every way.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from simcore.logs.jsonl import OUTCOME_FIELDS
from simcore.logs.read import read_rows
from simcore.ui.cli import main
from tests.support.liveserver import uvicorn_server

pytestmark = pytest.mark.server

PROFILE = """
seed = 11
duration = "40m"
start = 2026-01-05T19:00:00
[population]
initial_users = 80
[backend]
pipeline = 4
"""


def _run(
    tmp_path: Path, url: str, name: str, *extra: str
) -> tuple[dict[str, object], list[dict[str, object]]]:
    profile = tmp_path / "p.toml"
    profile.write_text(PROFILE)
    out = tmp_path / name
    args = ["run", str(profile), "--backend", "http", "--target", url, "--out", str(out), "--quiet"]
    result = CliRunner().invoke(main, [*args, "--no-control", *extra])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    rows = [
        {k: v for k, v in r.items() if k not in OUTCOME_FIELDS} for r in read_rows(out / "actions.jsonl")
    ]
    return summary, rows


def test_pipelined_at_max_speed_and_paced_alike(tmp_path: Path) -> None:
    """Ticks overlap (bounded by backend.pipeline) at max speed, at a speed and at a rate;
    the action stream is the same."""
    from simcore_backends.refapp import create_app

    runs = {}
    for name, extra in (
        ("fast", ("--speed", "max")),
        ("paced", ("--speed", "3000")),
        ("rate", ("--rate", "2000")),
    ):
        with uvicorn_server(create_app(tmp_path / f"{name}.db")) as url:
            runs[name] = _run(tmp_path, url, name, *extra)
    fast, fast_rows = runs["fast"]
    assert 1 < int(fast["max_ticks_in_flight"]) <= 4  # type: ignore[call-overload]
    for name in ("paced", "rate"):
        summary, rows = runs[name]
        assert 1 <= int(summary["max_ticks_in_flight"]) <= 4  # type: ignore[call-overload]
        assert rows == fast_rows and len(rows) > 100
    pacing = runs["rate"][0]["pacing"]
    assert isinstance(pacing, dict) and pacing["rate"] == 2000.0 and pacing["actions_per_second"] > 0
