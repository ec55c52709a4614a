"""Invariant 5 (docs/architecture.md): one state a minute, shifts modulo a day, sleepers idle."""

from __future__ import annotations

import datetime as dt

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simcore.core.routine import MINUTES_PER_WEEK, CompiledRoutine, day_states, state_at
from simcore.core.simulation import Simulation
from simcore.scenario.schedule import MINUTES_PER_DAY, coverage, parse_clock
from simcore.scenario.schema import Block, Config, Profile, Routine, StateSpec
from tests.support.strategies import routines, schedules


@given(schedules())
def test_every_minute_maps_to_exactly_one_state(blocks: tuple[Block, ...]) -> None:
    """A valid schedule covers each minute of the day exactly once."""
    assert np.all(coverage(blocks) == 1)
    index = {"sleeping": 0, "working": 1, "relaxing": 2}
    states = day_states(blocks, index)
    for block in blocks:
        start, end = parse_clock(block.start), parse_clock(block.end) % MINUTES_PER_DAY
        assert states[start] == index[block.state]
        last = (end - 1) % MINUTES_PER_DAY
        assert states[last] == index[block.state]


@given(schedules(), st.integers(-5 * MINUTES_PER_DAY, 5 * MINUTES_PER_DAY))
def test_a_day_shift_is_the_same_schedule(blocks: tuple[Block, ...], minute: int) -> None:
    """state_at(m) == state_at(m + 24 h) for every minute."""
    index = {"sleeping": 0, "working": 1, "relaxing": 2}
    assert state_at(blocks, index, minute) == state_at(blocks, index, minute + MINUTES_PER_DAY)


def test_overlap_and_gap_are_rejected() -> None:
    """day_states refuses schedules that miss or double-cover a minute."""
    index = {"a": 0}
    with pytest.raises(ValueError, match="covered 0 times"):
        day_states((Block("00:00", "12:00", "a"),), index)
    with pytest.raises(ValueError, match="covered 2 times"):
        day_states((Block("00:00", "13:00", "a"), Block("12:00", "00:00", "a")), index)


@given(routines(), st.integers(0, 6), st.integers(0, 1439))
def test_compiled_week_matches_the_schedules(routine: Routine, weekday: int, minute: int) -> None:
    """The week lookup is the weekday schedule Mon–Fri and the weekend one Sat–Sun."""
    start = dt.datetime(2026, 1, 5) + dt.timedelta(days=weekday, minutes=minute)
    compiled = CompiledRoutine.build(routine, start)
    index = {name: i for i, name in enumerate(routine.states)}
    week_minute = np.arange(MINUTES_PER_WEEK)
    day = week_minute // MINUTES_PER_DAY
    expected = np.where(
        day < 5,
        day_states(routine.weekday, index)[week_minute % MINUTES_PER_DAY],
        day_states(routine.weekend, index)[week_minute % MINUTES_PER_DAY],
    )
    assert np.array_equal(compiled.week_state, expected)
    # the next edge is the first later minute whose state differs, and nothing changes before it
    probe = np.arange(0, MINUTES_PER_WEEK, 97, dtype=np.int64)
    nxt = compiled.next_edge(probe)
    for m, e in zip(probe.tolist(), nxt.tolist()):
        if e >= 2**31 - 1:
            assert len(set(compiled.week_state.tolist())) == 1
            continue
        span = compiled.state_of(np.arange(m, e + 1, dtype=np.int64))
        assert np.all(span[:-1] == span[0]) and span[-1] != span[0]


#: Noon on a Friday and on a Sunday: a day from either start crosses one edge between the
#: weekday and the weekend schedules (Fri→Sat, Sun→Mon, the latter also where the week's lookup
#: wraps) for every user whatever its shift (±10 h), and spends half a day on each side of it.
#: The two runs together cover each half of both schedules; a per-tick rule that holds over
#: both holds on every day of the week, since every other day repeats one of these halves.
EDGE_DAYS = {
    "fri-sat": dt.datetime(2026, 1, 9, 12, 0),
    "sun-mon": dt.datetime(2026, 1, 11, 12, 0),
}


def _config(
    routine: Routine,
    jitter: float,
    shift: float,
    start: dt.datetime,
    users: int = 60,
    tick_seconds: int = 300,
) -> Config:
    weights = {
        name: {"browse_feed": 1.0, "read_post": 1.0, "create_post": 1.0}
        for name, spec in routine.states.items()
        if spec.activity > 0
    }
    profile = Profile(
        shift_minutes=shift,
        shift_spread_minutes=45.0,
        jitter_minutes=jitter,
        activity=3.0,
        weights=weights,
        think_seconds=30.0,
    )
    return Config(
        start=start,
        duration="1d",
        routine=routine,
        tick_seconds=tick_seconds,
        profiles={"p": profile},
        population=attrs.evolve(Config().population, initial_users=users, mix={"p": 1.0}),
    )


TICKS = st.sampled_from([60, 300, 420, 900])


@pytest.mark.slow  # a day tick by tick, five routines: 2-3 s
@pytest.mark.parametrize("start", EDGE_DAYS.values(), ids=EDGE_DAYS.keys())
@settings(max_examples=5)
@given(routines(), st.floats(-600, 600), TICKS)
def test_without_jitter_state_follows_the_lookup(
    start: dt.datetime, routine: Routine, shift: float, tick_seconds: int
) -> None:
    """With no jitter every user's state at every tick is the lookup at its local minute.

    A day from Friday noon and one from Sunday noon (EDGE_DAYS) cross both edges between the
    schedules and the week's wrap: a lookup that used the wrong schedule, or wrapped wrongly,
    on either side of an edge gives a state that differs from the stored one there, and fails.
    """
    config = _config(routine, jitter=0.0, shift=shift, start=start, users=40, tick_seconds=tick_seconds)
    sim = Simulation(config)
    for tick in range(sim.config.duration_ticks):
        batch = sim.step()
        pop = sim.population
        if tick % 37 == 0 or len(batch):
            # state as of this tick: the edges due at `tick` were crossed for the users that woke;
            # every user's stored edge is in the future, so its stored state holds now
            local = sim.routine.local_minute(
                np.full(pop.n, sim.sim_minute(tick), np.int64), pop.shift[: pop.n]
            )
            assert np.all(pop.next_edge[: pop.n] > tick)
            assert np.array_equal(pop.state[: pop.n], sim.routine.state_of(local))


@pytest.mark.slow  # a day tick by tick, five routines: 2-3 s
@pytest.mark.parametrize("start", EDGE_DAYS.values(), ids=EDGE_DAYS.keys())
@settings(max_examples=5)
@given(routines(), st.floats(0, 60), st.floats(-600, 600), TICKS)
def test_idle_states_never_act_and_nobody_acts_before_existing(
    start: dt.datetime, routine: Routine, jitter: float, shift: float, tick_seconds: int
) -> None:
    """Users in a state of activity 0 never act; no user acts before its sign-up tick.

    One day from Friday noon and one from Sunday noon (EDGE_DAYS): weekday and weekend
    schedules, both edges between them. The routines drawn have idle states and schedules that
    differ between weekday and weekend, so a core that kept acting on through an edge into an
    idle state, or read the other day's schedule, logs an action in an idle state and fails here;
    about 30 arrivals an hour mean a user acting before its sign-up tick fails the second check.
    """
    config = _config(routine, jitter=jitter, shift=shift, start=start, tick_seconds=tick_seconds)
    config = attrs.evolve(
        config,
        population=attrs.evolve(
            config.population, arrivals=attrs.evolve(config.population.arrivals, rate_per_hour=30.0)
        ),
    )
    sim = Simulation(config)
    idle = {i for i, s in enumerate(sim.routine.state_names) if routine.states[s].activity == 0}
    for _ in range(config.duration_ticks):
        batch = sim.step()
        acting = batch.kind != 0
        assert not set(batch.state[acting].tolist()) & idle
        created = sim.population.created_tick[batch.user]
        assert np.all(created[acting] < batch.tick)
        assert np.all(created[~acting] == batch.tick)


@pytest.mark.parametrize("start", EDGE_DAYS.values(), ids=EDGE_DAYS.keys())
def test_zero_activity_named_sleeping_in_default(default_config: Config, start: dt.datetime) -> None:
    """With the default profile's sleeping state set to activity 0, nobody acts while
    sleeping, on any day of the week.

    A day from Friday noon and one from Sunday noon (EDGE_DAYS) hold every night the week has:
    a weekday evening falling asleep into a weekend morning, and a weekend evening into a
    weekday morning, with the schedule changing at midnight while people sleep. 300 users with
    the default profiles' shifts and jitter act thousands of times a day, so a sleeping user who
    acted (a wrong schedule after an edge, a stale state) shows up in the log and fails here.
    """
    import simcore.scenario.parse as c

    cfg = c.with_overrides(
        default_config, start=start, duration="1d", population__initial_users=300, tick_seconds=120
    )
    states = {**cfg.routine.states, "sleeping": StateSpec(0.0)}
    cfg = attrs.evolve(cfg, routine=attrs.evolve(cfg.routine, states=states))
    sim = Simulation(cfg)
    sleeping = sim.routine.state_names.index("sleeping")
    for _ in range(cfg.duration_ticks):
        batch = sim.step()
        assert not np.any((batch.state == sleeping) & (batch.kind != 0))


def test_the_default_crowd_is_a_little_awake_at_night(default_config: Config) -> None:
    """The default's sleepers act at 4% of the relaxing rate: some actions while sleeping,
    far fewer than while relaxing (a night that is quiet, not dead)."""
    import simcore.scenario.parse as c

    cfg = c.with_overrides(
        default_config, duration="1d", population__initial_users=500, tick_seconds=120
    )
    sim = Simulation(cfg)
    sleeping = sim.routine.state_names.index("sleeping")
    relaxing = sim.routine.state_names.index("relaxing")
    counts = np.zeros(len(sim.routine.state_names), np.int64)
    for _ in range(cfg.duration_ticks):
        batch = sim.step()
        acting = batch.kind != 0
        counts += np.bincount(batch.state[acting], minlength=len(counts))
    assert 0 < counts[sleeping] < 0.2 * counts[relaxing], counts


def test_state_spec_default() -> None:
    """States act at full rate unless told otherwise."""
    assert StateSpec().activity == 1.0


def test_a_profile_without_weights_for_a_state_does_not_act_in_it(default_config: Config) -> None:
    """Sleepers are awake a little by default, but a profile that gives no weights for
    sleeping (a config written before) never acts while sleeping."""
    import simcore.scenario.parse as c

    cfg = c.with_overrides(
        default_config, duration="1d", population__initial_users=300, tick_seconds=120
    )
    profiles = {
        name: attrs.evolve(p, weights={s: w for s, w in p.weights.items() if s != "sleeping"})
        for name, p in cfg.profiles.items()
    }
    sim = Simulation(attrs.evolve(cfg, profiles=profiles))
    sleeping = sim.routine.state_names.index("sleeping")
    acted = 0
    for _ in range(cfg.duration_ticks):
        batch = sim.step()
        assert not np.any((batch.state == sleeping) & (batch.kind != 0))
        acted += int((batch.kind != 0).sum())
    assert acted > 1000
