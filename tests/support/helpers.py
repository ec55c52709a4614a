"""Small helpers shared by tests: run a config to a log in memory, a config busy with edits."""

from __future__ import annotations

from collections.abc import Iterator

from attrs import evolve

from simcore.core.actions import ActionBatch
from simcore.core.simulation import Simulation
from simcore.logs.fields import LogHeader
from simcore.logs.jsonl import format_lines
from simcore.scenario.parse import with_overrides
from simcore.scenario.schema import Config
from simcore.seam.contract import Outcomes
from simcore_backends.mock import MockBackend


def batches(config: Config, seed: int | None = None, shards: int = 1) -> Iterator[ActionBatch]:
    """Every batch of a run of ``config``."""
    sim = Simulation(config if seed is None else evolve(config, seed=seed))
    for _ in range(config.duration_ticks):
        yield sim.step(shards)


def log_text(config: Config, seed: int | None = None, shards: int = 1) -> str:
    """The JSONL log of a run through the mock backend, as one string."""
    sim = Simulation(config if seed is None else evolve(config, seed=seed))
    mock = MockBackend()
    parts = []
    for _ in range(config.duration_ticks):
        batch = sim.step(shards)
        outcomes: Outcomes = mock.execute(batch)
        parts.append(format_lines(batch, outcomes, LogHeader.of(sim)))
    return "".join(parts)


def busy_config(config: Config) -> Config:
    """``config`` with 300 users who post, edit and delete a lot (so ownership rules get exercised), 12 h."""
    return with_overrides(
        config,
        population__initial_users=300,
        population__mix={"chatterbox": 0.5, "content_curator": 0.5},
        duration="12h",
    )

