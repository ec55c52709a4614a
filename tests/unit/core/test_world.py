"""Invariant 6 and the mock backend: targets are valid, ids unique, the mock agrees with the core."""

from __future__ import annotations

import numpy as np
from attrs import evolve

from simcore.core.actions import (
    CREATE_POST,
    DELETE_POST,
    FOLLOW_USER,
    LIKE_POST,
    QUOTE_POST,
    READ_POST,
    REPOST,
    SIGN_UP,
    UNFOLLOW_USER,
    UPDATE_POST,
)
from simcore.core.simulation import Simulation
from simcore.scenario.parse import with_overrides
from simcore.scenario.schema import Config
from simcore_backends.mock import MockBackend


def _busy(config: Config) -> Config:
    """Lots of edits and deletes so ownership rules get exercised."""
    return with_overrides(
        config,
        population__initial_users=300,
        population__mix={"chatterbox": 0.5, "content_curator": 0.5},
        duration="12h",
    )


def test_targets_are_own_live_posts_and_ids_unique(small_config: Config) -> None:
    """Edits/deletes hit the actor's own live posts; reads hit existing live posts; ids are unique."""
    sim = Simulation(_busy(small_config))
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


def test_mock_answers_like_the_api_and_ends_with_the_core_world(small_config: Config) -> None:
    """Every action succeeds except reads of posts deleted earlier in the same tick; the mock's
    posts, authors, deletions and views end equal to the core's world."""
    sim = Simulation(_busy(small_config))
    mock = MockBackend()
    expected = {
        SIGN_UP: 201,
        CREATE_POST: 201,
        DELETE_POST: 204,
        LIKE_POST: 201,
        REPOST: 201,
        QUOTE_POST: 201,
        FOLLOW_USER: 201,
        UNFOLLOW_USER: 204,
    }
    for _ in range(sim.config.duration_ticks):
        batch = sim.step()
        out = mock.execute(batch)
        want = np.array([expected.get(k, 200) for k in batch.kind.tolist()])
        bad = out.status != want
        late = np.isin(batch.kind[bad], [READ_POST, LIKE_POST, REPOST, QUOTE_POST])
        assert np.all(late) and np.all(out.status[bad] == 404)
    n = sim.world.n
    assert mock.n_posts == n
    assert np.array_equal(mock.author[:n], sim.world.author[:n])
    assert np.array_equal(mock.deleted_tick[:n] >= 0, sim.world.deleted_tick[:n] >= 0)
    assert np.array_equal(mock.views[:n], sim.world.views[:n])


def test_mock_refuses_strangers_and_other_authors() -> None:
    """Actions of users not signed up, or on posts never created, are skipped (not sent);
    403 on another's post; 404 on a post deleted earlier."""
    from simcore.core.actions import ActionBatch
    from simcore.seam.contract import ErrorKind

    mock = MockBackend()

    def run(tick: int, rows: list[tuple[int, int, int]]) -> list[tuple[int, int]]:
        users, kinds, posts = (np.array(c) for c in zip(*rows))
        batch = ActionBatch(
            tick=tick,
            user=users.astype(np.int32),
            kind=kinds.astype(np.uint8),
            post=posts.astype(np.int32),
            offset_ms=np.arange(len(rows), dtype=np.int32),
            state=np.zeros(len(rows), np.uint8),
            profile=np.zeros(len(rows), np.uint8),
        )
        out = mock.execute(batch)
        return list(zip(out.status.tolist(), out.error.tolist()))

    skipped = (0, int(ErrorKind.SKIPPED))
    assert run(0, [(0, READ_POST, 0), (0, SIGN_UP, -1), (0, CREATE_POST, 0), (1, SIGN_UP, -1)]) == [
        skipped,
        (201, 0),
        (201, 0),
        (201, 0),
    ]
    assert run(
        1, [(1, UPDATE_POST, 0), (1, DELETE_POST, 0), (0, READ_POST, 5), (0, UPDATE_POST, 0)]
    ) == [(403, 0), (403, 0), skipped, (200, 0)]
    assert run(2, [(0, DELETE_POST, 0), (1, READ_POST, 0), (0, DELETE_POST, 0)]) == [
        (204, 0),
        (404, 0),
        (404, 0),
    ]
    # a paced tick comes in slices: a delete in an earlier slice of the same tick
    assert run(3, [(1, CREATE_POST, 1), (0, CREATE_POST, 2)]) == [(201, 0), (201, 0)]
    assert run(4, [(0, DELETE_POST, 2)]) == [(204, 0)]
    assert run(4, [(1, DELETE_POST, 1), (1, READ_POST, 2), (0, READ_POST, 1)]) == [
        (204, 0),
        (404, 0),
        (404, 0),
    ]


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
