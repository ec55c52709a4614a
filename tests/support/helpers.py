"""Small helpers shared by tests: run a config to a log in memory, a config busy with edits,
wait for a condition."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
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


def scripted_batch(
    kind: Sequence[int],
    user: Sequence[int],
    post: Sequence[int],
    ref: Sequence[int] | None = None,
    *,
    tick: int = 0,
    seq0: int = 0,
) -> ActionBatch:
    """A hand-written batch, one action per position: offsets 0, 1, 2 … ms, state and profile 0,
    ``ref`` -1 unless given."""
    n = len(kind)
    return ActionBatch(
        tick=tick,
        user=np.array(user, np.int32),
        kind=np.array(kind, np.uint8),
        post=np.array(post, np.int32),
        offset_ms=np.arange(n, dtype=np.int32),
        state=np.zeros(n, np.uint8),
        profile=np.zeros(n, np.uint8),
        ref=np.full(n, -1, np.int32) if ref is None else np.array(ref, np.int32),
        seq0=seq0,
    )


def wait_until(what: str, check: Callable[[], Any], timeout: float = 20.0, every: float = 0.05) -> Any:
    """Poll ``check`` until it returns something true and return that; fail naming ``what``
    after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")
