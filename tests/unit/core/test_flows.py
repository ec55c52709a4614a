"""Sessions that flow: the next-action chain settles to the weights, and changes only the order."""

from __future__ import annotations

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simcore.core.actions import KindTables
from simcore.core.choice import S_KIND
from simcore.core.flows import affinity_matrix, stationary, transitions
from simcore.core.simulation import Simulation
from simcore.errors import ConfigError
from simcore.scenario.parse import loads_config, with_overrides
from simcore.scenario.schema import Config, Profile
from tests.support import kinds_api

weights = st.lists(st.floats(0.0, 10.0), min_size=2, max_size=8).filter(lambda w: sum(w) > 0.01)


@given(weights, st.data())
def test_the_chain_settles_to_the_weights(w: list[float], data: st.DataObject) -> None:
    """For any weights and affinities: rows sum to 1, and pi P = pi (the chain's stationary mix
    is the weights); kinds without weight are never drawn."""
    pi = np.asarray(w) / sum(w)
    n = len(pi)
    a = data.draw(st.lists(st.floats(0.0, 20.0), min_size=n * n, max_size=n * n))
    p = transitions(pi, 1.0 + np.asarray(a).reshape(n, n))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_allclose(pi @ p, pi, atol=1e-9)
    assert np.all(p[:, pi == 0] == 0)


def test_no_affinities_is_independent_draws() -> None:
    """Without a next table every row is the weights: each draw independent of the last."""
    pi = np.array([0.5, 0.3, 0.2])
    np.testing.assert_allclose(transitions(pi, np.ones((3, 3))), np.tile(pi, (3, 1)))


def test_affinity_makes_the_next_kind_likelier() -> None:
    """read -> like with affinity 4: a like is likelier after a read than on average."""
    names = ("browse_feed", "read_post", "like_post")
    pi = np.array([0.4, 0.4, 0.2])
    p = transitions(pi, affinity_matrix({"read_post": {"like_post": 4.0}}, names))
    assert p[1, 2] > 0.2 > p[0, 2]
    np.testing.assert_allclose(stationary(p), pi, atol=1e-9)


def _config(next_table: dict[str, dict[str, float]]) -> Config:
    weights = {"browse_feed": 3.0, "read_post": 5.0, "like_post": 2.0, "create_post": 1.0}
    profile = Profile(
        activity=2.0, session_actions=8.0, opens_with="none", next=next_table,
        weights={s: weights for s in ("sleeping", "working", "relaxing")},
    )  # fmt: skip
    config = with_overrides(Config(), population__initial_users=300, duration="1d", tick_seconds=120)
    return attrs.evolve(
        config,
        profiles={"p": profile},
        population=attrs.evolve(config.population, mix={"p": 1.0}),
    )


@pytest.mark.slow  # a simulated day of 300 busy users, twice
def test_a_flowing_crowd_keeps_its_mix_and_changes_its_order() -> None:
    """With opens_with = "none" sessions start from the weights, so the realised mix is the
    weights with or without flows; with read -> like flowing, likes follow reads more often."""
    flow = {"read_post": {"like_post": 6.0}}
    mixes, after_read = [], []
    for table in ({}, flow):
        sim = Simulation(_config(table))
        counts = np.zeros(256, np.int64)
        pairs = np.zeros(2, np.int64)  # [reads followed by anything, ... by a like]
        last: dict[int, int] = {}
        for _ in range(sim.config.duration_ticks):
            b = sim.step()
            acting = b.kind != 0
            counts += np.bincount(b.kind[acting], minlength=256)
            for user, kind in zip(b.user[acting].tolist(), b.kind[acting].tolist()):
                if last.get(user) == 2:
                    pairs += [1, int(kind == 6)]
                last[user] = kind
        mixes.append(counts[[1, 2, 3, 6]] / counts.sum())
        after_read.append(pairs[1] / pairs[0])
    want = np.array([3.0, 5.0, 1.0, 2.0]) / 11.0  # browse, read, create, like (code order)
    for mix in mixes:
        np.testing.assert_allclose(mix, want, atol=0.015)
    assert after_read[1] > after_read[0] + 0.1, after_read


def test_a_profile_without_next_draws_as_before() -> None:
    """No next table: the tables draw from the weights alone, whatever the previous kind."""
    config = _config({})
    tables = KindTables(config, tuple(config.routine.states))
    assert not tables.flows
    users = np.arange(1000, dtype=np.int64)
    zeros = np.zeros(1000, np.uint8)
    plain = tables.sample(1, S_KIND, 3, users, zeros, zeros)
    for prev in (0, 1, 5):
        again = tables.sample(1, S_KIND, 3, users, zeros, zeros, np.full(1000, prev, np.uint8))
        assert np.array_equal(plain, again)


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("[profiles.lurker.next]\nread_pots = { like_post = 1.0 }", "profiles.lurker.next.read_pots"),
        (
            "[profiles.lurker.next]\nread_post = { lik_post = 1.0 }",
            "profiles.lurker.next.read_post.lik_post",
        ),
        (
            "[profiles.lurker.next]\nread_post = { like_post = -1.0 }",
            "profiles.lurker.next.read_post.like_post",
        ),
    ],
)
def test_a_bad_next_table_names_its_key_path(text: str, path: str) -> None:
    """Unknown kinds and negative affinities are reported at their TOML key path."""
    with pytest.raises(ConfigError) as info:
        loads_config(text)
    assert f"  {path}: " in str(info.value)


def test_custom_kinds_flow_too() -> None:
    """A kind of the config's own takes part in the chain like a built-in one."""
    config = loads_config(
        kinds_api.ROUTES + "[profiles.lurker.weights.relaxing]\ncomment = 2.0\n"
        "[profiles.lurker.next]\nread_post = { comment = 5.0 }\n"
    )
    tables = KindTables(config, tuple(config.routine.states))
    assert tables.flows and "comment" in config.kind_set.choice_names
