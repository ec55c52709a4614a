"""Run a config through a backend in process and collect its log records, for tests."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from simcore.core.actions import ActionBatch
from simcore.core.simulation import Simulation
from simcore.logs.fields import LogHeader
from simcore.logs.jsonl import OUTCOME_FIELDS, format_lines
from simcore.run.builder import build_run
from simcore.scenario.parse import with_overrides
from simcore.scenario.schema import Config
from simcore.seam.contract import Backend, Outcomes


class Collect:
    """A sink keeping every log record (as dicts) and every batch's outcomes."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.records: list[dict[str, Any]] = []
        self.outcomes: list[Outcomes] = []

    def write(self, batch: ActionBatch, outcomes: Outcomes) -> None:
        text = format_lines(batch, outcomes, LogHeader.of(self.sim))
        self.records.extend(json.loads(line) for line in text.splitlines())
        self.outcomes.append(outcomes)

    def close(self) -> None:
        pass


class AtTick:
    """A sink that calls ``then`` once, after tick ``tick`` was written (to stop a run there,
    press a key, kill a worker...)."""

    def __init__(self, tick: int, then: Callable[[], object]) -> None:
        self.tick, self.then, self.done = tick, then, False

    def write(self, batch: ActionBatch, outcomes: Outcomes) -> None:
        if batch.tick == self.tick and not self.done:
            self.done = True
            self.then()

    def close(self) -> None:
        pass


def small(config: Config, users: int = 200, duration: str = "90m", **changes: Any) -> Config:
    """A scenario small enough for a server test: ``users`` people, an evening ``duration``."""
    return with_overrides(
        config,
        population__initial_users=users,
        duration=duration,
        start=dt.datetime(2026, 1, 5, 18, 0),
        **changes,
    )


def run(config: Config, backend: Backend) -> tuple[Simulation, list[dict[str, Any]]]:
    """Run ``config`` to its end through ``backend``, built as ``simcore run`` builds a run (in a
    temporary run directory, no log file); return the simulation and the log records."""
    with tempfile.TemporaryDirectory() as directory:
        built = build_run(
            config,
            run_dir=Path(directory) / "run",
            backend=backend,
            logs=["none"],
            control_socket=False,
            handle_signals=False,
        )
        sink = Collect(built.simulation)
        built.controller.sinks.append(sink)
        with built:
            built.execute()
    return built.simulation, sink.records


def without_outcomes(records: list[dict[str, Any]], keep: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Records with the outcome fields (status, latency, attempts, error) dropped, except ``keep``."""
    drop = set(OUTCOME_FIELDS) - set(keep)
    return [{k: v for k, v in r.items() if k not in drop} for r in records]


def app_posts(db_path: Path, post_map: np.ndarray[Any, Any]) -> dict[int, dict[str, Any]]:
    """The reference app's posts keyed by core post id: author (core user id), live, views, version, content."""
    with sqlite3.connect(db_path) as conn:
        users = dict(conn.execute("SELECT id, external_id FROM users").fetchall())
        rows = conn.execute(
            "SELECT id, author_id, deleted, views, version, content FROM posts"
        ).fetchall()
    server_to_core = {int(s): c for c, s in enumerate(post_map.tolist()) if s >= 0}
    out: dict[int, dict[str, Any]] = {}
    for sid, author, deleted, views, version, content in rows:
        core = server_to_core[sid]  # every post on the server is one the core created
        out[core] = {
            "author": users[author],
            "live": not deleted,
            "views": views,
            "version": version,
            "content": content,
        }
    return out
