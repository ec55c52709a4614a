"""Trending posts: attention that grows with engagement and halves with a post's age.

A post's score at tick ``t`` is

    (1 + views·wv + likes·wl + reposts·wr + quotes·wq) · (1 + reputation·ln(1 + followers of author))
        · 2^(-(t - created) / half_life)

(the half-life after Wu & Huberman 2007: Digg stories lost half their novelty in
about 69 minutes). Every score decays by the same factor per tick, so two posts'
order only changes when one of them is engaged with: the top ``pool`` posts are
therefore kept exactly by re-ranking, at the end of each tick, the old pool and
the posts touched in that tick. Users pick from the pool in proportion to score,
or, for interest-driven reads, from the pool's posts with their interest tag.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from simcore.core import rng
from simcore.core.edges import sorted_unique
from simcore.core.users import Population
from simcore.core.world import World
from simcore.scenario.schema import Trends


class TrendModel:
    """Scores posts and keeps the trending pool in ``world.trend_pool``."""

    def __init__(self, params: Trends, half_life_ticks: float, n_tags: int) -> None:
        self.params = params
        self.decay = np.log(2.0) / max(half_life_ticks, 1e-9)
        self.n_tags = n_tags
        self._cache_tick = -1
        self._flat = np.zeros(0, np.float64)
        self._total = np.zeros(0, np.float64)
        self._tag_total = np.zeros(0, np.float64)

    def scores(
        self, world: World, population: Population, posts: NDArray[np.int64], tick: int
    ) -> NDArray[np.float64]:
        """Each post's score at the start of ``tick``."""
        p = self.params
        engagement = (
            1.0
            + p.view_weight * world.views[posts]
            + p.like_weight * world.likes[posts]
            + p.repost_weight * world.reposts[posts]
            + p.quote_weight * world.quotes[posts]
        )
        followers = population.followers[world.author[posts]].astype(np.float64)
        reputation = 1.0 + p.reputation * np.log1p(followers)
        age = tick - world.created_tick[posts].astype(np.float64)
        score: NDArray[np.float64] = engagement * reputation * np.exp(-self.decay * age)
        return score

    def update_pool(
        self, world: World, population: Population, touched: NDArray[np.int64], tick: int
    ) -> None:
        """Re-rank the pool with the posts touched in ``tick`` (call after its effects apply),
        and make the next tick's pick tables from the scores it ranked by."""
        cand = sorted_unique(np.concatenate([world.trend_pool.astype(np.int64), touched]))
        cand = cand[(cand >= 0) & (cand < world.n)]
        cand = cand[world.deleted_tick[cand] < 0]
        s = self.scores(world, population, cand, tick + 1)
        if len(cand) > self.params.pool:
            keep = np.sort(np.lexsort((cand, -s))[: self.params.pool])
            cand, s = cand[keep], s[keep]
        world.trend_pool = cand.astype(np.int32)
        self._build_tables(world, s, tick + 1)

    def _tables(self, world: World, population: Population, tick: int) -> None:
        """The pick tables for ``tick`` (after a resume, when update_pool has not made them)."""
        if self._cache_tick != tick:
            pool = world.trend_pool.astype(np.int64)
            self._build_tables(world, self.scores(world, population, pool, tick), tick)

    def _build_tables(self, world: World, s: NDArray[np.float64], tick: int) -> None:
        pool = world.trend_pool.astype(np.int64)
        self._total = np.cumsum(s)
        per_tag = np.zeros((self.n_tags, len(pool)))
        per_tag[world.tag[pool].astype(np.int64), np.arange(len(pool))] = s
        cum = np.cumsum(per_tag, axis=1)
        self._tag_total = cum[:, -1] if len(pool) else np.zeros(self.n_tags)
        safe = np.where(self._tag_total > 0, self._tag_total, 1.0)
        # each tag's row normalised to [0, 1] and shifted by the tag index: one sorted array
        self._flat = (cum / safe[:, None] + np.arange(self.n_tags)[:, None]).ravel()
        self._cache_tick = tick

    def pick(
        self,
        world: World,
        population: Population,
        tick: int,
        u: NDArray[np.float64],
        tag: NDArray[np.int64],
    ) -> NDArray[np.int64]:
        """A pool post per draw ``u``, in proportion to score; within ``tag`` where tag >= 0
        (-1 where nothing fits)."""
        self._tables(world, population, tick)
        pool = world.trend_pool.astype(np.int64)
        out = np.full(len(u), -1, dtype=np.int64)
        if len(pool) == 0 or len(self._total) == 0 or self._total[-1] <= 0:
            return out
        out[:] = pool[rng.categorical(u, self._total)]
        want = tag >= 0
        if want.any():
            t = tag[want]
            has = self._tag_total[t] > 0
            k = np.searchsorted(self._flat, t + np.minimum(u[want], 1 - 1e-12), side="right")
            k = np.minimum(k - t * len(pool), len(pool) - 1)
            picked = np.where(has, pool[np.clip(k, 0, len(pool) - 1)], out[want])
            out[want] = picked
        return out
