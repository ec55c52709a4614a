"""Which post an action acts on, chosen from the world as it stood at the start of the tick.

Reads mix two choices: with probability ``popular_share`` they copy the target
of a random recent read (so popular posts get more popular: preferential
attachment), otherwise they pick a post created an exponentially distributed
time ago (recency). Updates and deletes only ever target the actor's own live
posts: the newest one with probability ``newest_own_post``, else one further back.
Every function returns -1 where no valid target exists.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from simcore.core import rng
from simcore.core.users import Population
from simcore.core.world import World

S_READ_MODE = rng.stream_id("target.read.mode")
S_READ_RING = rng.stream_id("target.read.ring")
S_READ_AGE = rng.stream_id("target.read.age")
S_READ_PICK = rng.stream_id("target.read.pick")
READ_ROUNDS = 4


def read_targets(
    seed: int,
    tick: int,
    users: NDArray[np.int64],
    world: World,
    popular_share: float,
    half_life_ticks: float,
    trending: tuple[float, Callable[[NDArray[np.int64], int], NDArray[np.int64]]],
    following: tuple[float, Callable[[NDArray[np.int64], int], NDArray[np.int64]]],
) -> NDArray[np.int64]:
    """A live post for each reader, or -1 when a few keyed tries find none.

    ``trending`` and ``following`` are (share, picker) pairs: a picker maps
    (users, attempt) to candidate posts (-1 for none). One keyed draw chooses the
    source: [0, popular) the recent-reads ring, then trending, then following,
    the rest by age.
    """
    target = np.full(len(users), -1, dtype=np.int64)
    n = world.n
    if n == 0 or len(users) == 0:
        return target
    remembered = world.remembered()
    mean_age = half_life_ticks / np.log(2.0)
    pending = np.arange(len(users))
    for attempt in range(READ_ROUNDS):
        who = users[pending]
        mode = rng.uniform(seed, S_READ_MODE, tick, who, attempt)
        candidate = np.full(len(who), -1, dtype=np.int64)
        # each source draws only for the readers that use it (keyed draws: the same values)
        source = np.zeros(len(who), dtype=np.int8)  # 0 age, 1 ring, 2 trending, 3 following
        if remembered > 0:
            source[mode < popular_share] = 1
        low = popular_share
        for code, extra in ((2, trending), (3, following)):
            if extra[0] > 0:
                source[(mode >= low) & (mode < low + extra[0])] = code
                low += extra[0]
        ring_rows = np.flatnonzero(source == 1)
        if len(ring_rows):
            ring = rng.integers(seed, S_READ_RING, tick, who[ring_rows], remembered, attempt)
            candidate[ring_rows] = world.recent_reads[ring]
        age_rows = np.flatnonzero(source == 0)
        if len(age_rows):
            aged = who[age_rows]
            age = np.floor(rng.exponential(seed, S_READ_AGE, tick, aged, attempt) * mean_age)
            lo, hi = world.posts_created_at((tick - 1 - age).astype(np.int64))
            pick = rng.uniform(seed, S_READ_PICK, tick, aged, attempt)
            candidate[age_rows] = np.where(hi > lo, lo + (pick * (hi - lo)).astype(np.int64), hi - 1)
        for code, extra in ((2, trending), (3, following)):
            rows = np.flatnonzero(source == code)
            if len(rows):
                candidate[rows] = extra[1](who[rows], attempt)
        valid = (candidate >= 0) & (candidate < n)
        valid[valid] &= world.deleted_tick[candidate[valid]] < 0
        target[pending[valid]] = candidate[valid]
        pending = pending[~valid]
        if len(pending) == 0:
            break
    return target


def first_live(posts: NDArray[np.int64], world: World) -> NDArray[np.int64]:
    """Walk each author chain back from ``posts`` to the first live post (or -1)."""
    p: NDArray[np.int64] = posts.copy()
    dead = p >= 0
    dead[dead] = world.deleted_tick[p[dead]] >= 0
    while dead.any():
        p[dead] = world.prev_by_author[p[dead]]
        dead &= p >= 0
        dead[dead] = world.deleted_tick[p[dead]] >= 0
    return p


def own_targets(
    seed: int,
    stream: int,
    tick: int,
    users: NDArray[np.int64],
    population: Population,
    world: World,
    newest_share: float,
) -> NDArray[np.int64]:
    """One of each user's own live posts, or -1 if it has none."""
    p = first_live(population.last_post[users].astype(np.int64), world)
    back = np.where(
        rng.uniform(seed, stream, tick, users, 0) < newest_share,
        0,
        rng.geometric(seed, stream, tick, users, 2.0, 1),
    )
    walking = (back > 0) & (p >= 0)
    while walking.any():
        prev = world.prev_by_author[p[walking]].astype(np.int64)
        older = first_live(prev, world)
        idx = np.flatnonzero(walking)
        found = older >= 0
        p[idx[found]] = older[found]
        back[idx] -= 1
        walking[idx[~found]] = False
        walking &= back > 0
    found_posts: NDArray[np.int64] = p
    return found_posts
