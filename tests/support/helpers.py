"""Small helpers shared by tests: run a config to a log in memory."""

from __future__ import annotations

from collections.abc import Iterator

from attrs import evolve

from simcore.core.actions import ActionBatch
from simcore.core.simulation import Simulation
from simcore.logs.jsonl import format_lines
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
        parts.append(
            format_lines(
                batch,
                outcomes,
                config.start,
                config.tick_seconds,
                sim.profile_names,
                sim.routine.state_names,
            )
        )
    return "".join(parts)
