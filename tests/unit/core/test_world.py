"""Invariant 6: targets are valid, ids unique, batches in canonical order (the mock backend's agreement
with the core: tests/backends/test_mock.py)."""

from __future__ import annotations

import numpy as np
from attrs import evolve

from simcore.core.actions import (
    CREATE_POST,
    DELETE_POST,
    QUOTE_POST,
    READ_POST,
    REPOST,
    SIGN_UP,
    UPDATE_POST,
)
from simcore.core.simulation import Simulation
from simcore.scenario.schema import Config
from tests.support.helpers import busy_config


def test_targets_are_own_live_posts_and_ids_unique(small_config: Config) -> None:
    """Edits/deletes hit the actor's own live posts; reads hit existing live posts; ids are unique."""
    sim = Simulation(busy_config(small_config))
    seen_ids: set[int] = set()
    checked = {"update": 0, "delete": 0, "read": 0}
    for _ in range(sim.config.duration_ticks):
        n_before = sim.world.n
        deleted_before = sim.world.deleted_tick[:n_before].copy()
        author = sim.world.author[:n_before].copy()
        batch = sim.step()
        kind, post, user = batch.kind, batch.post.astype(np.int64), batch.user
        for code, name in ((UPDATE_POST, "update"), (DELETE_POST, "delete")):
            mine = kind == code
            assert np.all(post[mine] < n_before)
            assert np.all(author[post[mine]] == user[mine])
            assert np.all(deleted_before[post[mine]] < 0)
            checked[name] += int(mine.sum())
        reads = kind == READ_POST
        assert np.all((post[reads] >= 0) & (post[reads] < n_before))
        assert np.all(deleted_before[post[reads]] < 0)
        checked["read"] += int(reads.sum())
        creating = (kind == CREATE_POST) | (((kind == REPOST) | (kind == QUOTE_POST)) & (post >= 0))
        new = post[creating].tolist()
        assert new == list(range(n_before, n_before + len(new)))
        assert not seen_ids & set(new)
        seen_ids.update(new)
        assert np.all(post[kind == SIGN_UP] == -1)
        assert len(set(user.tolist())) == len(user), "a user acts at most once a tick"
    assert min(checked.values()) > 20, checked


def test_batches_are_in_canonical_order(small_config: Config) -> None:
    """Each batch is sorted by (offset, user) and its seq numbers continue the run's."""
    sim = Simulation(small_config)
    expected_seq = 0
    for _ in range(small_config.duration_ticks):
        batch = sim.step()
        key = batch.offset_ms.astype(np.int64) * 2**32 + batch.user
        assert np.all(np.diff(key) > 0)
        assert batch.seq0 == expected_seq
        expected_seq += len(batch)


def test_sim_user_view_is_derived_from_seed_and_id(small_config: Config) -> None:
    """Names, avatars and factions are pure functions of (seed, id); counters match the arrays."""
    import pytest

    a, b, other = (
        Simulation(small_config),
        Simulation(small_config),
        Simulation(evolve(small_config, seed=99)),
    )
    for sim in (a, b, other):
        for _ in range(120):
            sim.step()
    ua, ub, uo = a.user(5), b.user(5), other.user(5)
    assert ua == ub
    assert (ua.name, ua.avatar) != (uo.name, uo.avatar)
    assert ua.faction in small_config.population.factions
    assert ua.profile in small_config.profiles and ua.state in small_config.routine.states
    assert ua.actions == int(a.population.n_actions[5]) and ua.posts == int(a.population.n_posts[5])
    assert len({a.user(i).name for i in range(200)}) > 190
    with pytest.raises(IndexError, match="does not exist"):
        a.user(10**6)


def test_canonical_order_fast_path_equals_the_general_sort() -> None:
    """The radix fast path and the composite-key sort give the same permutation."""
    from simcore.core.actions import ActionBatch

    r = np.random.default_rng(3)
    for n, high in ((0, 60_000), (1, 60_000), (5_000, 60_000), (5_000, 3_600_000)):
        users = np.sort(r.choice(10**6, n, replace=False)).astype(np.int32)
        offsets = r.integers(0, high, n).astype(np.int32)
        batch = ActionBatch(
            tick=0,
            user=users,
            offset_ms=offsets,
            kind=np.zeros(n, np.uint8),
            post=np.zeros(n, np.int32),
            state=np.zeros(n, np.uint8),
            profile=np.zeros(n, np.uint8),
        )
        expected = np.lexsort((users, offsets))
        assert np.array_equal(batch.canonical_order(), expected)
        shuffled = batch.take(r.permutation(n))
        assert np.array_equal(shuffled.take(shuffled.canonical_order()).user, users[expected])
