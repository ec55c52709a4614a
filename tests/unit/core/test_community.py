"""The interaction web: likes, reposts, quotes, follows and trends keep their invariants,
and runs with every behaviour on stay deterministic, shardable and resumable."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import attrs
import numpy as np
import pytest
from attrs import evolve
from hypothesis import given, settings
from hypothesis import strategies as st

from simcore.core.actions import (
    BROWSE_FEED,
    FOLLOW_USER,
    LIKE_POST,
    QUOTE_POST,
    REPOST,
    SIGN_UP,
    UNFOLLOW_USER,
)
from simcore.core.edges import EdgeSet, edge_keys
from simcore.core.simulation import Simulation
from simcore.errors import ConfigError
from simcore.scenario.parse import loads_config, with_overrides
from simcore.scenario.schema import Config
from simcore_backends.mock import MockBackend
from tests.support.helpers import batches, log_text, scripted_batch
from tests.support.resume import assert_same_run, run_split, run_straight

SOCIAL = {
    "like_post": 3.0,
    "repost": 0.6,
    "quote_post": 0.6,
    "follow_user": 2.0,
    "unfollow_user": 0.8,
    "browse_following": 1.0,
}


def all_on(config: Config) -> Config:
    """``config`` with every action kind weighted and every read source in use."""
    profiles = {
        name: attrs.evolve(p, weights={s: {**row, **SOCIAL} for s, row in p.weights.items()})
        for name, p in config.profiles.items()
    }
    targets = attrs.evolve(config.targets, popular_share=0.3, trending_share=0.3, following_share=0.3)
    return attrs.evolve(config, profiles=profiles, targets=targets)


@pytest.fixture(scope="module")
def social_config(small_config: Config) -> Config:
    """The small config with every behaviour on."""
    return all_on(small_config)


def _check_world(sim: Simulation) -> None:
    pop, world, community = sim.population, sim.world, sim.community
    follower, followee = community.follows.pairs()
    assert not np.any(follower == followee), "someone follows themselves"
    assert np.all(np.diff(community.follows.keys()) > 0), "a follow edge is stored twice"
    assert np.array_equal(np.bincount(follower, minlength=pop.n)[: pop.n], pop.following[: pop.n])
    assert np.array_equal(np.bincount(followee, minlength=pop.n)[: pop.n], pop.followers[: pop.n])
    likes = community.likes.keys()
    assert np.all(np.diff(likes) > 0), "a like is stored twice"
    liked = likes & 0xFFFFFFFF
    assert np.array_equal(np.bincount(liked, minlength=world.n)[: world.n], world.likes[: world.n])
    ids = np.arange(world.n)
    shares = world.ref[: world.n] >= 0
    refs = world.ref[: world.n][shares]
    assert np.all(refs < ids[shares]), "a repost or quote refers to a later post"
    assert np.all(world.created_tick[refs] < world.created_tick[: world.n][shares])
    counted = np.bincount(refs, minlength=world.n)[: world.n]
    assert np.array_equal(counted, world.reposts[: world.n] + world.quotes[: world.n])


@settings(max_examples=6)
@given(seed=st.integers(0, 2**31 - 1), users=st.integers(2, 120))
def test_social_invariants_hold_every_tick(small_config: Config, seed: int, users: int) -> None:
    """No double likes or self-follows; unfollows remove existing edges only; counts match."""
    config = with_overrides(
        all_on(small_config),
        population__initial_users=users,
        duration="2h",
        start=dt.datetime(2026, 1, 5, 19, 0),
    )
    sim = Simulation(evolve(config, seed=seed))
    seen_likes: set[tuple[int, int]] = set()
    for _ in range(config.duration_ticks):
        before = EdgeSet()
        before.load({"main": sim.community.follows.keys(), "buffer": np.zeros(0, np.int64)})
        posts_before = sim.world.n
        batch = sim.step()
        like = batch.kind == LIKE_POST
        for pair in zip(batch.user[like].tolist(), batch.post[like].tolist()):
            assert pair not in seen_likes, f"user {pair[0]} liked post {pair[1]} twice"
            seen_likes.add(pair)
        follow = batch.kind == FOLLOW_USER
        assert np.all(batch.ref[follow] != batch.user[follow])
        assert not before.contains(edge_keys(batch.user[follow], batch.ref[follow])).any()
        unfollow = batch.kind == UNFOLLOW_USER
        assert before.contains(edge_keys(batch.user[unfollow], batch.ref[unfollow])).all()
        assert not sim.community.follows.contains(
            edge_keys(batch.user[unfollow], batch.ref[unfollow])
        ).any()
        shared = (batch.kind == REPOST) | (batch.kind == QUOTE_POST)
        assert np.all((batch.ref[shared] >= 0) & (batch.ref[shared] < posts_before))
        _check_world(sim)
    # (that the kinds occur at all is test_every_new_kind_occurs_and_mock_agrees's job: a tiny
    # crowd of lurkers may write nothing to like in two hours)


def test_every_new_kind_occurs_and_mock_agrees(social_config: Config) -> None:
    """Over six hours each new kind happens; the mock accepts them (no 4xx but rare races)."""
    sim, mock = Simulation(social_config), MockBackend()
    statuses: dict[int, list[int]] = {}
    for _ in range(social_config.duration_ticks):
        batch = sim.step()
        out = mock.execute(batch)
        for k in np.unique(batch.kind).tolist():
            statuses.setdefault(k, []).extend(out.status[batch.kind == k].tolist())
    for kind in (LIKE_POST, REPOST, QUOTE_POST, FOLLOW_USER, UNFOLLOW_USER):
        codes = np.array(statuses[kind])
        assert len(codes) > 20
        assert np.mean(codes < 300) > 0.97, (kind, np.unique(codes, return_counts=True))
    assert set(statuses[FOLLOW_USER]) <= {201, 404}
    # the mock's own stores end up equal to the core's edge sets
    assert np.array_equal(mock.follows.keys(), sim.community.follows.keys())
    assert np.array_equal(mock.likes.keys(), sim.community.likes.keys())


def test_same_seed_same_log_with_every_behaviour(social_config: Config) -> None:
    """Determinism holds with every action kind on; another seed differs."""
    first = log_text(social_config, seed=3)
    assert first == log_text(social_config, seed=3)
    assert '"action":"quote_post"' in first and '"action":"unfollow_user"' in first
    assert first != log_text(social_config, seed=4)


@settings(max_examples=4)
@given(shards=st.integers(2, 5), seed=st.integers(0, 2**32))
def test_sharding_with_every_behaviour(social_config: Config, shards: int, seed: int) -> None:
    """Any sharding gives the single-process batches with every behaviour on."""
    config = with_overrides(social_config, population__initial_users=120, duration="2h")
    for whole, split in zip(batches(config, seed), batches(config, seed, shards)):
        assert whole.equals(split)


@settings(max_examples=5)
@given(n=st.integers(2, 60), k_share=st.floats(0.0, 1.0), seed=st.integers(0, 2**31 - 1))
def test_resume_equivalence_with_every_behaviour(
    social_config: Config, n: int, k_share: float, seed: int
) -> None:
    """N ticks == k ticks, snapshot, load, N-k ticks, with likes, follows and trends."""
    config = with_overrides(social_config, seed=seed, population__initial_users=150)
    k = round(k_share * n)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        assert_same_run(run_straight(config, n, folder), run_split(config, n, k, folder, overshoot=2))


def test_resume_across_edge_set_merges(social_config: Config, tmp_path: Path) -> None:
    """A long enough run that the edge sets merge their buffers, resumed in the middle."""
    config = with_overrides(
        social_config, population__initial_users=400, start=dt.datetime(2026, 1, 5, 17, 0)
    )
    assert_same_run(run_straight(config, 240, tmp_path), run_split(config, 240, 150, tmp_path))


# --- the edge set against a plain Python set -----------------------------------------

pairs = st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), max_size=60)


@settings(max_examples=40)
@given(st.lists(st.tuples(st.booleans(), pairs), max_size=12))
def test_edge_set_matches_a_python_set(operations: list[tuple[bool, list[tuple[int, int]]]]) -> None:
    """Adds and removes in any order leave exactly the model's pairs, sorted and unique."""
    edges, model = EdgeSet(), set()
    for adding, batch in operations:
        src = np.array([p[0] for p in batch], dtype=np.int64)
        dst = np.array([p[1] for p in batch], dtype=np.int64)
        if adding:
            added = edges.add(edge_keys(src, dst))
            assert len(added) == len(set(batch) - model)
            model |= set(batch)
        else:
            removed = edges.remove(edge_keys(src, dst))
            assert len(removed) == len(set(batch) & model)
            model -= set(batch)
        s, d = edges.pairs()
        assert sorted(model) == list(zip(s.tolist(), d.tolist()))
    users = np.arange(41, dtype=np.int64)
    picked = edges.nth_destination(users, np.full(41, 0.5))
    for user, dest in zip(users.tolist(), picked.tolist()):
        mine = sorted(d for s_, d in model if s_ == user)
        assert (dest == -1) if not mine else dest in mine


def test_edge_set_merges_its_buffer() -> None:
    """Past the buffer limit the keys move into the main array, still all found."""
    edges = EdgeSet()
    keys = np.arange(0, 30_000, 3, dtype=np.int64)
    for chunk in np.array_split(keys[::-1], 7):
        edges.add(chunk)
    assert len(edges.main) > 0 and len(edges) == len(keys)
    assert edges.contains(keys).all() and not edges.contains(keys + 1).any()


# --- the mock answers like the API ---------------------------------------------------


def test_mock_status_codes_for_social_actions() -> None:
    """201/409 likes, 422 self-follow, 409 double follow, 204/404 unfollow, 404 for a repost
    of a post deleted earlier in the batch."""
    mock = MockBackend()
    signup = scripted_batch([SIGN_UP] * 3, [0, 1, 2], [-1] * 3, [-1] * 3)
    mock.execute(signup)
    create = scripted_batch([3], [0], [0], [-1])
    assert mock.execute(create).status.tolist() == [201]
    out = mock.execute(
        scripted_batch(
            [LIKE_POST, LIKE_POST, LIKE_POST, FOLLOW_USER, FOLLOW_USER, FOLLOW_USER, FOLLOW_USER],
            [1, 1, 2, 1, 1, 2, 2],
            [0, 0, 9, -1, -1, -1, -1],
            [-1, -1, -1, 0, 1, 99, 0],
        )
    )
    # a post or user that never existed here is not sent at all (status 0, skipped)
    assert out.status.tolist() == [201, 409, 0, 201, 422, 0, 201]
    out = mock.execute(
        scripted_batch(
            [FOLLOW_USER, UNFOLLOW_USER, UNFOLLOW_USER, REPOST, QUOTE_POST, 5, REPOST, BROWSE_FEED],
            [1, 2, 2, 1, 2, 0, 1, 1],
            [-1, -1, -1, 1, 2, 0, -1, -1],
            [0, 0, 1, 0, 0, -1, 0, -1],
        )
    )
    # a follow again: 409; unfollow of an edge: 204, of none: 404; reposts then the delete
    # (by the author) and a repost of the deleted post: 404
    assert out.status.tolist() == [409, 204, 404, 201, 201, 204, 404, 200]
    assert out.server_id[3:5].tolist() == [1, 2]


# --- config ----------------------------------------------------------------------------


def test_community_config_problems_are_named() -> None:
    """Bad trends, follows and tags values are reported with their key paths."""
    with pytest.raises(ConfigError) as info:
        loads_config(
            '[trends]\nhalf_life = "soon"\npool = 0\n[follows]\nreciprocity = 1.5\n'
            "[tags]\nnames = []\n[targets]\npopular_share = 0.6\ntrending_share = 0.6\n"
        )
    paths = {p for p, _ in info.value.problems}
    assert {"trends.half_life", "trends.pool", "follows.reciprocity", "tags.names", "targets"} <= paths


def test_weights_may_leave_new_kinds_out() -> None:
    """A profile without the new kinds never takes them."""
    config = with_overrides(
        loads_config(
            "[profiles.plain.weights.working]\nread_post = 1\n"
            "[profiles.plain.weights.relaxing]\nread_post = 1\n[population.mix]\nplain = 1\n"
            + "".join(f"[profiles.{name}]\nremoved = true\n" for name in Config().profiles)
        ),
        population__initial_users=100,
        duration="3h",
    )
    kinds = np.concatenate([b.kind for b in batches(config)])
    assert set(np.unique(kinds).tolist()) <= {SIGN_UP, BROWSE_FEED, 2}


def test_edge_set_lookups_in_a_large_set() -> None:
    """Large sets and many queries (the sorted-query path) find exactly the members."""
    keys = np.arange(0, 600_000, 7, dtype=np.int64) * 3
    edges = EdgeSet(keys)
    queries = np.random.default_rng(0).integers(0, 1_300_000, 5000).astype(np.int64)
    assert np.array_equal(edges.contains(queries), np.isin(queries, keys))
    gone = edges.remove(queries)
    assert np.array_equal(gone, np.unique(queries[np.isin(queries, keys)]))
    assert not edges.contains(queries).any() and len(edges) == len(keys) - len(gone)


@settings(max_examples=10)
@given(seed=st.integers(0, 2**32 - 1), heavy=st.integers(0, 40))
def test_indexed_edge_set_agrees_with_a_plain_one(seed: int, heavy: int) -> None:
    """The per-source index finds exactly what a binary search finds, for sources with few
    keys and for heavy ones (more than fit one comparison block), after adds and merges."""
    gen = np.random.default_rng(seed)
    src = np.concatenate([gen.integers(0, 30_000, 80_000), np.full(heavy * 10, 7)])
    dst = gen.integers(0, 50, len(src))
    keys = edge_keys(src, dst)
    indexed, plain = EdgeSet(keys, indexed=True), EdgeSet(keys)
    more = edge_keys(gen.integers(0, 40_000, 3000), gen.integers(0, 50, 3000))
    indexed.add(more)
    plain.add(more)
    queries = np.concatenate(
        [keys[:2000], more[:500], edge_keys(gen.integers(0, 41_000, 3000), gen.integers(0, 60, 3000))]
    )
    assert len(indexed.main) >= 65_536
    assert np.array_equal(indexed.contains(queries), plain.contains(queries))
    assert np.array_equal(indexed.contains(queries), np.isin(queries, plain.keys()))
