"""The interaction web: likes, the follow graph, interests, and who engages with whom.

State (saved in snapshots under ``community.``): the set of (user, post) likes
and the set of (follower, followee) follows, each an :class:`~simcore.core.edges.EdgeSet`.
Per-user follower/following counts live in the population, per-post like,
repost and quote counts in the world; :meth:`Community.add_likes`,
:meth:`~Community.add_follows` and :meth:`~Community.remove_follows` keep them
equal to the edge sets. Interests are not stored: a user's favourite tag is a pure
function of (seed, id) (:func:`simcore.core.users.user_interests`).

Targets are chosen from the world as it stood at the start of the tick, keyed
by (seed, stream, tick, user), like everything else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from simcore.core import rng
from simcore.core.edges import EdgeSet, edge_keys
from simcore.core.targets import first_live
from simcore.core.trends import TrendModel
from simcore.core.users import Population, user_interests
from simcore.core.world import World
from simcore.scenario.schema import Config

S_TREND = rng.stream_id("target.trending")
S_TREND_TAG = rng.stream_id("target.trending.interest")
S_FOLLOWED = rng.stream_id("target.following")
S_FOLLOW_MODE = rng.stream_id("follow.mode")
S_FOLLOW_PICK = rng.stream_id("follow.pick")
S_UNFOLLOW = rng.stream_id("unfollow.pick")
S_POST_TAG = rng.stream_id("post.tag")
S_POST_TAG_ANY = rng.stream_id("post.tag.any")
FOLLOW_ROUNDS = 3

Picker = Callable[[NDArray[np.int64], int], NDArray[np.int64]]


def add_counts(
    counts: NDArray[np.int32], where: NDArray[np.integer[Any]], sign: int = 1
) -> NDArray[np.integer[Any]]:
    """``counts[i] += sign`` once per occurrence of ``i`` in ``where`` (cost: len(where));
    return the distinct ``i``, sorted."""
    if len(where) == 0:
        return where
    ordered = np.sort(where)
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    times = np.diff(np.append(starts, len(ordered)))
    distinct = ordered[starts]
    counts[distinct] += (sign * times).astype(np.int32)
    return distinct


class Community:
    """Likes and follows as edge sets, plus the trending model and interests."""

    def __init__(self, config: Config, seed: int, half_life_ticks: float) -> None:
        self.config = config
        self.seed = seed
        self.n_tags = len(config.tags.names)
        self.likes = EdgeSet(indexed=True)
        self.follows = EdgeSet()
        self.trends = TrendModel(config.trends, half_life_ticks, self.n_tags)

    def interests(self, users: NDArray[np.int64]) -> NDArray[np.int64]:
        """Each user's favourite tag."""
        tags = self.config.tags
        n_factions = len(self.config.population.factions)
        return user_interests(self.seed, users, self.n_tags, n_factions, tags.faction_bias)

    # --- picks ----------------------------------------------------------------------

    def trending_picker(self, tick: int, world: World, population: Population) -> Picker:
        """Pick trending posts: for a share of users only posts with their interest tag."""

        def pick(users: NDArray[np.int64], attempt: int) -> NDArray[np.int64]:
            u = rng.uniform(self.seed, S_TREND, tick, users, attempt)
            by_interest = rng.uniform(self.seed, S_TREND_TAG, tick, users, attempt)
            tag = np.where(by_interest < self.config.tags.interest_reads, self.interests(users), -1)
            return self.trends.pick(world, population, tick, u, tag)

        return pick

    def following_picker(self, tick: int, world: World, population: Population) -> Picker:
        """Pick the newest live post of a random followee."""

        def pick(users: NDArray[np.int64], attempt: int) -> NDArray[np.int64]:
            u = rng.uniform(self.seed, S_FOLLOWED, tick, users, attempt)
            followee = self.follows.nth_destination(users, u)
            posts = np.full(len(users), -1, dtype=np.int64)
            has = followee >= 0
            posts[has] = first_live(population.last_post[followee[has]].astype(np.int64), world)
            return posts

        return pick

    def follow_targets(
        self,
        tick: int,
        users: NDArray[np.int64],
        world: World,
        population: Population,
        seen: NDArray[np.int64],
    ) -> NDArray[np.int64]:
        """Whom each user follows: back to its newest follower (reciprocity), a user drawn in
        proportion to followers (preferential attachment), or the author of ``seen``, the post
        it would read (-1: none). Never itself nor someone it already follows; -1 when a few
        tries find none."""
        params = self.config.follows
        target = np.full(len(users), -1, dtype=np.int64)
        pending = np.arange(len(users))
        for attempt in range(FOLLOW_ROUNDS):
            who = users[pending]
            mode = rng.uniform(self.seed, S_FOLLOW_MODE, tick, who, attempt)
            back = population.last_follower[who].astype(np.int64)
            popular = self.follows.any_destination(
                rng.uniform(self.seed, S_FOLLOW_PICK, tick, who, attempt)
            )
            post = seen[pending]
            author = np.where(post >= 0, world.author[np.maximum(post, 0)], -1).astype(np.int64)
            r = params.reciprocity
            cand = np.where(
                (mode < r) & (back >= 0),
                back,
                np.where((mode < r + (1 - r) * params.popular) & (popular >= 0), popular, author),
            )
            ok = (cand >= 0) & (cand < population.n) & (cand != who)
            ok[ok] &= ~self.follows.contains(edge_keys(who[ok], cand[ok]))
            target[pending[ok]] = cand[ok]
            pending = pending[~ok]
            if len(pending) == 0:
                break
        return target

    def unfollow_targets(self, tick: int, users: NDArray[np.int64]) -> NDArray[np.int64]:
        """One of the users each one follows (-1 if none)."""
        return self.follows.nth_destination(users, rng.uniform(self.seed, S_UNFOLLOW, tick, users))

    def post_tags(self, tick: int, users: NDArray[np.int64]) -> NDArray[np.int64]:
        """The tag of each user's new post: its interest with probability ``tags.focus``."""
        focus = rng.uniform(self.seed, S_POST_TAG, tick, users) < self.config.tags.focus
        anything = rng.integers(self.seed, S_POST_TAG_ANY, tick, users, self.n_tags)
        return np.where(focus, self.interests(users), anything)

    def already_liked(self, users: NDArray[np.int64], posts: NDArray[np.int64]) -> NDArray[np.bool_]:
        """Whether each user has liked the post."""
        return self.likes.contains(edge_keys(users, posts))

    # --- effects --------------------------------------------------------------------

    def add_likes(
        self, users: NDArray[np.int64], posts: NDArray[np.int64], world: World, population: Population
    ) -> NDArray[np.int64]:
        """Record likes; return the liked posts. The likes are new and distinct: decide
        drops likes given before, and a user acts once a tick."""
        added = self.likes.add(edge_keys(users, posts), checked=True)
        liker, post = added >> 32, added & 0xFFFFFFFF
        add_counts(world.likes, post)
        add_counts(population.n_likes, liker)
        return post

    def add_follows(
        self, follower: NDArray[np.int64], followee: NDArray[np.int64], population: Population
    ) -> None:
        """Add follow edges. They are new, distinct and not to oneself: decide's
        :meth:`follow_targets` picks only such, and a user acts once a tick."""
        added = self.follows.add(edge_keys(follower, followee), checked=True)
        if len(added) == 0:
            return
        add_counts(population.following, added >> 32)
        add_counts(population.followers, added & 0xFFFFFFFF)
        # the newest follower of each followee: its last follow in batch order
        dest, first = np.unique(followee[::-1], return_index=True)  # small: follows of one tick
        population.last_follower[dest] = follower[::-1][first]

    def remove_follows(
        self, follower: NDArray[np.int64], followee: NDArray[np.int64], population: Population
    ) -> None:
        """Remove follow edges that exist (others are ignored)."""
        removed = self.follows.remove(edge_keys(follower, np.maximum(followee, 0)))
        if len(removed) == 0:
            return
        add_counts(population.following, removed >> 32, -1)
        add_counts(population.followers, removed & 0xFFFFFFFF, -1)
        dest = removed & 0xFFFFFFFF
        gone = population.last_follower[dest] == (removed >> 32)
        population.last_follower[dest[gone]] = -1

    # --- state ----------------------------------------------------------------------

    def arrays(self) -> dict[str, NDArray[Any]]:
        """The edge sets as arrays (for snapshots)."""
        return {
            **{f"likes.{k}": v for k, v in self.likes.arrays().items()},
            **{f"follows.{k}": v for k, v in self.follows.arrays().items()},
        }

    def load(self, arrays: dict[str, NDArray[Any]]) -> None:
        """Replace the edge sets with ``arrays`` (as returned by :meth:`arrays`)."""
        self.likes.load({"main": arrays["likes.main"], "buffer": arrays["likes.buffer"]})
        self.follows.load({"main": arrays["follows.main"], "buffer": arrays["follows.buffer"]})
