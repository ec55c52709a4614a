"""Invariant 7: over a long run the realised action mix and rates match the config."""

from __future__ import annotations

import datetime as dt

import attrs
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from simcore.core.actions import (
    BROWSE_FEED,
    DELETE_POST,
    READ_POST,
    SIGN_UP,
    UPDATE_POST,
)
from simcore.core.choice import S_KIND
from simcore.core.simulation import Simulation
from simcore.scenario.kinds import CHOICE_KINDS, KIND_NAMES
from simcore.scenario.schema import Block, Config, Population, Profile, Routine, StateSpec

W_A = {
    "working": {
        "browse_feed": 5,
        "read_post": 3,
        "create_post": 1.5,
        "update_post": 0.4,
        "delete_post": 0.1,
    },
    "relaxing": {
        "browse_feed": 2,
        "read_post": 6,
        "create_post": 3,
        "update_post": 0.6,
        "delete_post": 0.4,
    },
}
W_B = {
    "working": {"browse_feed": 1, "read_post": 1, "create_post": 1, "update_post": 1, "delete_post": 0},
    "relaxing": {"browse_feed": 0, "read_post": 4, "create_post": 2, "update_post": 0, "delete_post": 1},
}


def _config() -> Config:
    routine = Routine(
        states={"sleeping": StateSpec(0.0), "working": StateSpec(0.5), "relaxing": StateSpec(1.0)},
        weekday=(
            Block("00:00", "07:00", "sleeping"),
            Block("07:00", "15:00", "working"),
            Block("15:00", "00:00", "relaxing"),
        ),
        weekend=(Block("00:00", "09:00", "sleeping"), Block("09:00", "00:00", "relaxing")),
    )
    profiles = {
        "a": Profile(
            activity=1.0,
            session_actions=3.0,
            think_seconds=60.0,
            opens_with="none",
            weights={s: {k: float(v) for k, v in row.items()} for s, row in W_A.items()},
        ),
        "b": Profile(
            activity=0.5,
            activity_spread=0.0,
            session_actions=2.0,
            opens_with="none",
            weights={s: {k: float(v) for k, v in row.items()} for s, row in W_B.items()},
        ),
    }
    return Config(
        start=dt.datetime(2026, 1, 5),
        duration="2d",
        routine=routine,
        profiles=profiles,
        population=Population(initial_users=1500, mix={"a": 0.5, "b": 0.5}),
    )


@pytest.mark.slow
def test_realised_mix_matches_weights_per_profile_and_state() -> None:
    """Per (profile, state) the drawn kinds match the weights within 4 standard errors, and an
    action differs from its draw only by falling back to browse_feed when it had no target."""
    config = _config()
    sim = Simulation(config)
    n_states = len(sim.routine.state_names)
    counts = np.zeros((2, n_states, len(KIND_NAMES)), dtype=np.int64)
    fallbacks = {READ_POST: 0, UPDATE_POST: 0, DELETE_POST: 0}
    for _ in range(config.duration_ticks):
        world, n = sim.world, sim.population.n
        live = world.deleted_tick[: world.n] < 0
        has_own = np.bincount(world.author[: world.n][live], minlength=n) > 0
        any_live = bool(live.any())
        tick = sim.tick
        batch = sim.step()
        acting = batch.kind != SIGN_UP
        users = batch.user[acting].astype(np.int64)
        drawn = sim.kinds.sample(
            sim.seed, S_KIND, tick, users, batch.profile[acting], batch.state[acting]
        )
        done = batch.kind[acting]
        np.add.at(counts, (batch.profile[acting], batch.state[acting], drawn), 1)
        differs = done != drawn
        assert np.all(done[differs] == BROWSE_FEED)
        for code in fallbacks:
            fell = differs & (drawn == code)
            if code == READ_POST:
                fallbacks[code] += int(fell.sum()) if any_live else 0
            else:
                assert not np.any(has_own[users[fell]]), "an edit fell back although a target existed"
    reads = int(counts[..., READ_POST].sum())
    assert fallbacks[READ_POST] <= 0.01 * reads, (fallbacks, reads)
    checked = 0
    for p, weights in enumerate((W_A, W_B)):
        for state, row in weights.items():
            s = sim.routine.state_names.index(state)
            total = counts[p, s].sum()
            assert total > 3000, (p, state, total)
            expected = np.array([row.get(k, 0.0) for k in CHOICE_KINDS], dtype=float)
            expected /= expected.sum()
            realised = counts[p, s, 1:] / total
            se = np.sqrt(expected * (1 - expected) / total)
            assert np.all(np.abs(realised - expected) <= 4 * se + 1e-9), (
                p,
                state,
                realised.round(4),
                expected.round(4),
            )
            checked += 1
    assert checked == 4


@pytest.mark.slow
def test_session_rate_matches_the_configured_activity() -> None:
    """Sessions per user-hour in each state match profile activity × state activity × E[level]."""
    config = _config()
    sim = Simulation(config)
    b = sim.profile_names.index("b")  # activity_spread 0: every level is exactly 1
    relaxing = sim.routine.state_names.index("relaxing")
    hours_in_state = 0.0
    actions = 0
    for _ in range(config.duration_ticks):
        pop = sim.population
        in_state = (pop.profile[: pop.n] == b) & (pop.state[: pop.n] == relaxing)
        in_state &= pop.created_tick[: pop.n] < sim.tick
        hours_in_state += in_state.sum() / 60.0
        batch = sim.step()
        actions += int(
            ((batch.profile == b) & (batch.state == relaxing) & (batch.kind != SIGN_UP)).sum()
        )
    # profile b: 0.5 sessions/h at activity 1, 2 actions per session on average
    expected = 0.5 * 1.0 * 2.0 * hours_in_state
    assert actions == pytest.approx(expected, rel=0.05)


def test_kind_sampling_equals_counting_cumulative_weights() -> None:
    """The bucket-table draw picks exactly the kind the plain cumulative count picks."""
    from simcore.core.actions import KindTables
    from simcore.scenario.parse import loads_config

    config = loads_config("")
    tables = KindTables(config, tuple(config.routine.states))
    users = np.arange(200_000)
    r = np.random.default_rng(0)
    profile = r.integers(0, len(config.profiles), len(users)).astype(np.uint8)
    state = r.integers(0, len(config.routine.states), len(users)).astype(np.uint8)
    drawn = tables.sample(1, 2, 3, users, profile, state)
    from simcore.core import rng

    u = rng.uniform(1, 2, 3, users)
    counted = (u[:, None] >= tables.cumulative[profile, state]).sum(axis=1)
    codes = tables.choice_codes
    assert np.array_equal(drawn, codes[np.minimum(counted, len(codes) - 1)])


@given(
    weights=st.lists(
        st.one_of(st.just(0.0), st.sampled_from([0.25, 0.5, 1.0, 1 / 1024]), st.floats(1e-9, 100.0)),
        min_size=2,
        max_size=8,
    )
)
def test_kind_table_is_exact_for_any_weights(weights: list[float]) -> None:
    """Weights that put cumulative edges on bucket edges, inside buckets or nowhere (zeros)
    draw exactly what counting the cumulative weights draws."""
    from simcore.core import rng
    from simcore.core.actions import KindTables
    from simcore.scenario.parse import loads_config

    assume(sum(weights) > 0)
    config = loads_config("")
    lurker = config.profiles["lurker"]
    row = dict(zip(CHOICE_KINDS, weights))
    lurker = attrs.evolve(lurker, weights={**lurker.weights, "relaxing": row})
    config = attrs.evolve(config, profiles={**config.profiles, "lurker": lurker})
    states = tuple(config.routine.states)
    tables = KindTables(config, states)
    users = np.arange(20_000)
    profile = np.full(len(users), list(config.profiles).index("lurker"), np.uint8)
    state = np.full(len(users), states.index("relaxing"), np.uint8)
    drawn = tables.sample(7, 8, 9, users, profile, state)
    u = rng.uniform(7, 8, 9, users)
    counted = (u[:, None] >= tables.cumulative[profile, state]).sum(axis=1)
    codes = tables.choice_codes
    assert np.array_equal(drawn, codes[np.minimum(counted, len(codes) - 1)])
