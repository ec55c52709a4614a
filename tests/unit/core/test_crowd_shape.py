"""The default crowd has the shape of a real one (README, "A crowd shaped like a real one").

A seeded 7-day run of 10,000 users of profiles/default.toml, measured with the
report's crowd-shape numbers (:mod:`simcore.analysis.crowd`). The columns the numbers need
are taken from the core's batches directly (every decided action counts, whatever
a backend would answer), which is what the report reads back from the log.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from simcore.analysis import crowd
from simcore.core.simulation import Simulation
from simcore.scenario.parse import with_overrides
from simcore.scenario.schema import Config


def crowd_of(config: Config) -> dict[str, Any]:
    """Run ``config`` and return its crowd-shape numbers."""
    sim = Simulation(config)
    base = int(np.datetime64(config.start, "ms").astype(np.int64))
    tick_ms = config.tick_seconds * 1000
    times, users, kinds, posts, refs = [], [], [], [], []
    for _ in range(config.duration_ticks):
        b = sim.step()
        times.append(base + b.tick * tick_ms + b.offset_ms.astype(np.int64))
        users.append(b.user)
        kinds.append(b.kind)
        posts.append(b.post)
        refs.append(b.ref)
    cols = crowd.LogColumns(
        time_ms=np.concatenate(times),
        user=np.concatenate(users).astype(np.int64),
        kind=np.concatenate(kinds).astype(np.int64),
        post=np.concatenate(posts).astype(np.int64),
        ref=np.concatenate(refs).astype(np.int64),
    )
    shape: dict[str, Any] = crowd.crowd_shape(cols)
    return shape


@pytest.mark.slow  # 10,000 users x 7 days: ~40 s of CPU
def test_default_crowd_is_shaped_like_a_real_one(default_config: Config) -> None:
    """Issue 16's targets (README, "A crowd shaped like a real one"): < 30% post; top 10% of
    posters write >= 75% of posts; top 1% of posts take >= 20% of views; burstiness >= 0.2;
    the night trough 3-25% of the evening peak on weekdays and weekends, an hour or more later
    at weekends; day-1 retention 30-50%; the top 1% of users hold >= 20% of follow edges."""
    config = with_overrides(default_config, population__initial_users=10_000, duration="7d", seed=42)
    shape = crowd_of(config)
    assert shape["users"] >= 10_000
    assert shape["share_users_posted"] < 0.30, shape  # van Mierlo 2014
    assert shape["top10_posters_share"] >= 0.75, shape  # Pew 2019
    assert shape["top1_posts_view_share"] >= 0.20, shape  # heavy-tailed attention
    assert shape["burstiness"]["median"] >= 0.2, shape["burstiness"]
    night = shape["night"]  # Leypunskiy et al. 2018
    for day in ("weekday", "weekend"):
        assert 0.03 <= night[day]["trough_ratio"] <= 0.25, night
    assert night["weekend_later_hours"] >= 1, night
    assert 0.30 <= shape["retention"]["day1"] <= 0.50, shape["retention"]  # Chen 2015
    assert shape["retention"]["day1_cohort"] > 1000, shape["retention"]
    assert shape["top1_followed_share"] >= 0.20, shape  # Kwak et al. 2010
    assert all(c["ok"] is not False for c in shape["references"]), shape["references"]
