"""A tick as a plan: named phases run in order over one :class:`TickWork`.

The plan is data, a tuple of ``(name, phase)``, so it can be listed, and timed by
wrapping each phase (:func:`wrap_phases`) without any cost to an ordinary step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from attrs import define, field
from numpy.typing import NDArray

from simcore.core.actions import ActionBatch


def _empty(dtype: type[np.generic]) -> Any:
    return field(factory=lambda: np.zeros(0, dtype=dtype))


@define(eq=False)
class ShardWork:
    """One shard of users (ids ``shard`` modulo ``shards``) and what its actors decided."""

    due: NDArray[np.int64]  # users whose calendar entry is due
    users: NDArray[np.int64] = _empty(np.int64)  # of those, the ones acting (sorted)
    profile: NDArray[np.uint8] = _empty(np.uint8)
    state: NDArray[np.uint8] = _empty(np.uint8)
    kind: NDArray[np.uint8] = _empty(np.uint8)
    post: NDArray[np.int64] = _empty(np.int64)
    ref: NDArray[np.int64] = _empty(np.int64)


@define(eq=False)
class TickWork:
    """What the phases of one tick hand each other."""

    tick: int
    shards: int = 1
    parts: list[ShardWork] = field(factory=list)
    arrivals: NDArray[np.int64] = _empty(np.int64)
    batch: ActionBatch | None = None

    def ordered(self) -> ActionBatch:
        """The tick's batch, once the ``order`` phase has made it."""
        if self.batch is None:
            raise RuntimeError("no batch yet: the plan must run an 'order' phase first")
        return self.batch


#: A phase of a tick: it reads and fills the tick's work.
Phase = Callable[[TickWork], None]
#: The plan of a tick: its phases, named, in the order they run.
Plan = tuple[tuple[str, Phase], ...]


def run_plan(plan: Plan, work: TickWork) -> ActionBatch:
    """Run each phase of ``plan`` on ``work``; return the batch it ordered."""
    for _, phase in plan:
        phase(work)
    return work.ordered()


def wrap_phases(plan: Plan, wrap: Callable[[str, Phase], Phase]) -> Plan:
    """``plan`` with each phase replaced by ``wrap(name, phase)`` (to time or trace it)."""
    return tuple((name, wrap(name, phase)) for name, phase in plan)
