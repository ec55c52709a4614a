"""The routine: which state a user is in at each minute of the week.

A schedule is a list of time blocks covering every minute of a day exactly
once. :class:`CompiledRoutine` turns the weekday and weekend schedules into two
lookups over the minutes of a week, ``state`` and ``to_next_edge`` (minutes until
the state next changes), so that a user's state and its next block edge are a
single gather — work happens only at edges, not every tick (docs/architecture.md,
"A tick's journey").

A user's *local* minute is the simulated minute minus its personal shift;
shifts are kept modulo a day, so a schedule shifted by 24 h is the same schedule.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from attrs import frozen
from numpy.typing import NDArray

from simcore.scenario.schedule import MINUTES_PER_DAY, block_minutes, coverage
from simcore.scenario.schema import Block, Routine

MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
NEVER = np.iinfo(np.int32).max


def day_states(
    blocks: tuple[Block, ...] | list[Block], state_index: dict[str, int]
) -> NDArray[np.uint8]:
    """The state index of each minute of the day; the schedule must cover each minute once."""
    counts = coverage(blocks)
    if not np.all(counts == 1):
        bad = int(np.flatnonzero(counts != 1)[0])
        raise ValueError(f"minute {bad // 60:02d}:{bad % 60:02d} is covered {counts[bad]} times")
    out = np.zeros(MINUTES_PER_DAY, dtype=np.uint8)
    for block in blocks:
        out[block_minutes(block)] = state_index[block.state]
    return out


def state_at(blocks: tuple[Block, ...] | list[Block], state_index: dict[str, int], minute: int) -> int:
    """The state at a minute of the day (taken modulo a day)."""
    return int(day_states(blocks, state_index)[minute % MINUTES_PER_DAY])


def _to_next_change(states: NDArray[np.uint8]) -> NDArray[np.int64]:
    """Minutes from each index until the value changes, treating ``states`` as cyclic."""
    n = len(states)
    doubled = np.concatenate([states, states])
    change = np.flatnonzero(doubled[1:] != doubled[:-1]) + 1
    if len(change) == 0:
        return np.full(n, NEVER, dtype=np.int64)
    nxt = change[np.searchsorted(change, np.arange(n), side="right")]
    return nxt - np.arange(n)


@frozen
class CompiledRoutine:
    """Week-long lookups built from a :class:`Routine` and the simulated start time.

    Index ``i`` of the lookups is the local minute ``i`` of a week that starts on
    the Monday before the simulation starts.
    """

    state_names: tuple[str, ...]
    activity: NDArray[np.float64]
    week_state: NDArray[np.uint8]
    to_next_edge: NDArray[np.int64]
    start_minute: int
    """Minute of the week (from Monday 00:00) at which tick 0 begins."""

    @classmethod
    def build(cls, routine: Routine, start: dt.datetime) -> CompiledRoutine:
        """Compile ``routine`` for a run beginning at ``start``."""
        names = tuple(routine.states)
        index = {name: i for i, name in enumerate(names)}
        weekday = day_states(routine.weekday, index)
        weekend = day_states(routine.weekend, index)
        week = np.concatenate([weekday] * 5 + [weekend] * 2)
        activity = np.array([routine.states[n].activity for n in names], dtype=np.float64)
        start_minute = start.weekday() * MINUTES_PER_DAY + start.hour * 60 + start.minute
        return cls(names, activity, week, _to_next_change(week), start_minute)

    def local_minute(self, sim_minute: NDArray[np.int64], shift: NDArray[np.int16]) -> NDArray[np.int64]:
        """Local minute of the week-lookup (unbounded) for simulated minutes since tick 0."""
        return sim_minute + self.start_minute - shift.astype(np.int64)

    def state_of(self, local_minute: NDArray[np.int64]) -> NDArray[np.uint8]:
        """State index at each local minute."""
        return self.week_state[local_minute % MINUTES_PER_WEEK]

    def next_edge(self, local_minute: NDArray[np.int64]) -> NDArray[np.int64]:
        """The local minute of the next state change strictly after each local minute."""
        delta = self.to_next_edge[local_minute % MINUTES_PER_WEEK]
        return np.where(delta >= NEVER, NEVER, local_minute + delta)
