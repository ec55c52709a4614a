"""Hypothesis strategies for schedules, routines and configs."""

from __future__ import annotations

from hypothesis import strategies as st

from simcore.scenario.schedule import MINUTES_PER_DAY
from simcore.scenario.schema import Block, Routine, StateSpec

STATE_NAMES = ("sleeping", "working", "relaxing", "commuting", "gaming")


def clock(minute: int) -> str:
    """``HH:MM`` for a minute of the day (1440 is written 24:00)."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


@st.composite
def schedules(draw: st.DrawFn, states: tuple[str, ...] = STATE_NAMES[:3]) -> tuple[Block, ...]:
    """A valid schedule: cut points around the day, rotated so blocks may wrap midnight."""
    cuts = sorted(draw(st.sets(st.integers(0, MINUTES_PER_DAY - 1), min_size=1, max_size=8)))
    blocks = []
    for i, start in enumerate(cuts):
        end = cuts[(i + 1) % len(cuts)]
        if len(cuts) == 1:
            end = start
        blocks.append(Block(clock(start), clock(end), draw(st.sampled_from(states))))
    return tuple(draw(st.permutations(blocks)))


@st.composite
def routines(draw: st.DrawFn) -> Routine:
    """A routine with 1-5 states (some with activity 0) and valid schedules."""
    n = draw(st.integers(1, len(STATE_NAMES)))
    names = STATE_NAMES[:n]
    activity = {name: StateSpec(draw(st.sampled_from([0.0, 0.25, 1.0, 2.0]))) for name in names}
    return Routine(states=activity, weekday=draw(schedules(names)), weekend=draw(schedules(names)))
