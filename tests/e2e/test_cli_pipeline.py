"""`simcore run --backend http` pipelines ticks at --speed max and goes tick by tick when paced.

Both against the reference app served by uvicorn on a free loopback port, through the CLI:
the summary's ``max_ticks_in_flight`` says how many ticks overlapped, and the action stream
is the same either way.
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


def test_speed_max_pipelines_and_paced_runs_do_not(tmp_path: Path) -> None:
    """At max speed ticks overlap (bounded by backend.pipeline); paced, none do; same stream."""
    from simcore_backends.refapp import create_app

    with uvicorn_server(create_app(tmp_path / "a.db")) as url:
        fast, fast_rows = _run(tmp_path, url, "fast", "--speed", "max")
    with uvicorn_server(create_app(tmp_path / "b.db")) as url:
        paced, paced_rows = _run(tmp_path, url, "paced", "--speed", "3000")
    assert 1 < int(fast["max_ticks_in_flight"]) <= 4  # type: ignore[call-overload]
    assert paced["max_ticks_in_flight"] == 0
    assert fast_rows == paced_rows and len(fast_rows) > 100
