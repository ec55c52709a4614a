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


def _trough_hour(shares: list[float]) -> int:
    """The hour at the centre of the quietest three consecutive hours (circular)."""
    h = np.asarray(shares)
    window = h + np.roll(h, 1) + np.roll(h, -1)
    return int(np.argmin(window))


def crowd_of(config: Config) -> dict[str, Any]:
    """Run ``config`` and return its crowd-shape numbers."""
    sim = Simulation(config)
    base = int(np.datetime64(config.start, "ms").astype(np.int64))
    tick_ms = config.tick_seconds * 1000
    times, users, kinds, posts = [], [], [], []
    for _ in range(config.duration_ticks):
        b = sim.step()
        times.append(base + b.tick * tick_ms + b.offset_ms.astype(np.int64))
        users.append(b.user)
        kinds.append(b.kind)
        posts.append(b.post)
    cols = crowd.LogColumns(
        time_ms=np.concatenate(times),
        user=np.concatenate(users).astype(np.int64),
        kind=np.concatenate(kinds).astype(np.int64),
        post=np.concatenate(posts).astype(np.int64),
    )
    shape: dict[str, Any] = crowd.crowd_shape(cols)
    return shape


@pytest.mark.slow
def test_default_crowd_is_shaped_like_a_real_one(default_config: Config) -> None:
    """< 30% post; top 10% of posters write >= 75%; top 1% of posts take >= 20% of views;
    burstiness >= 0.2; the night trough <= 25% of the evening peak and an hour later at weekends."""
    config = with_overrides(default_config, population__initial_users=10_000, duration="7d", seed=42)
    shape = crowd_of(config)
    assert shape["users"] >= 10_000
    assert shape["share_users_posted"] < 0.30, shape  # van Mierlo 2014
    assert shape["top10_posters_share"] >= 0.75, shape  # Pew 2019
    assert shape["top1_posts_view_share"] >= 0.20, shape  # heavy-tailed attention
    assert shape["burstiness"]["median"] >= 0.2, shape["burstiness"]
    weekday = shape["activity_by_hour"]["weekday"]
    weekend = shape["activity_by_hour"]["weekend"]
    trough = float(np.mean(weekday[3:5]))
    evening_peak = max(weekday[17:24])
    assert trough <= 0.25 * evening_peak, (trough, evening_peak)  # Leypunskiy et al. 2018
    assert _trough_hour(weekend) - _trough_hour(weekday) >= 1, (weekday, weekend)
