"""The crowd's shape, against numbers worked out by hand on a small scripted log."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from simcore.analysis.crowd import (
    REFERENCES,
    LogColumns,
    burstiness,
    crowd_shape,
    followed_share,
    night_trough,
    retention,
    sessions,
)
from simcore.scenario.kinds import ActionKind

K = ActionKind
MON = int(dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc).timestamp() * 1000)  # a Monday, 00:00
SAT = MON + 5 * 86_400_000
H = 3_600_000


def _log(rows: list[tuple[int, int, int, int]]) -> LogColumns:
    """rows: (time_ms, user, kind, post)."""
    t, u, k, p = (np.array(c, dtype=np.int64) for c in zip(*rows))
    return LogColumns(t, u, k, p)


def scripted() -> LogColumns:
    rows = [(MON, u, K.SIGN_UP, -1) for u in range(5)]
    # user 0 writes posts 0, 1, 2 at 09:00, 09:30, 10:00; user 1 writes post 3 on Saturday 20:00
    rows += [(MON + 9 * H, 0, K.CREATE_POST, 0), (MON + 9 * H + H // 2, 0, K.CREATE_POST, 1)]
    rows += [(MON + 10 * H, 0, K.CREATE_POST, 2), (SAT + 20 * H, 1, K.CREATE_POST, 3)]
    # post 0 read five times (user 2, every 10 s from 12:00), post 1 once (user 3 at 12:00)
    rows += [(MON + 12 * H + i * 10_000, 2, K.READ_POST, 0) for i in range(4)]
    rows += [(MON + 12 * H, 3, K.READ_POST, 1), (SAT + 20 * H, 4, K.READ_POST, 0)]
    # user 3 browses at 12:00:01, 12:00:02 and 12:01:40 (gaps 1 s, 1 s, 98 s with the read)
    rows += [(MON + 12 * H + 1000, 3, K.BROWSE_FEED, -1), (MON + 12 * H + 2000, 3, K.BROWSE_FEED, -1)]
    rows += [(MON + 12 * H + 100_000, 3, K.BROWSE_FEED, -1)]
    return _log(rows)


def test_participation_and_concentration() -> None:
    """2 of 5 users posted; the top poster (1% and 10% of 2 posters round up to 1) wrote 3 of 4 posts;
    the top post (1% of 4 posts is 1) took 5 of 6 views."""
    shape = crowd_shape(scripted())
    assert (shape["users"], shape["posters"], shape["posts"], shape["views"]) == (5, 2, 4, 6)
    assert shape["share_users_posted"] == 0.4
    assert shape["top1_posters_share"] == 0.75
    assert shape["top10_posters_share"] == 0.75
    assert shape["top1_posts_view_share"] == pytest.approx(5 / 6, abs=1e-6)


def test_activity_by_hour_of_day() -> None:
    """Weekday: 3 posts 9:00–10:00 → 2 at 9h, 1 at 10h, 8 actions at 12h; Saturday: 2 at 20h."""
    act = crowd_shape(scripted())["activity_by_hour"]
    weekday = np.array(act["weekday"])
    assert weekday[9] == pytest.approx(2 / 11, abs=1e-6)
    assert weekday[10] == pytest.approx(1 / 11, abs=1e-6)
    assert weekday[12] == pytest.approx(8 / 11, abs=1e-6)
    assert weekday.sum() == pytest.approx(1.0)
    assert act["weekend"][20] == 1.0


def test_burstiness_by_hand() -> None:
    """User 0: gaps 30 min, 30 min → σ=0, B=-1. User 2: three 10 s gaps → B=-1.
    User 3: gaps 1 s, 1 s, 98 s → μ=100/3 s, σ=sqrt(((1-μ)²·2 + (98-μ)²)/3)."""
    b = burstiness(scripted())
    mu = 100 / 3
    sigma = math.sqrt(((1 - mu) ** 2 * 2 + (98 - mu) ** 2) / 3)
    want = sorted([-1.0, -1.0, (sigma - mu) / (sigma + mu)])
    np.testing.assert_allclose(sorted(b.tolist()), want)
    shape = crowd_shape(scripted())["burstiness"]
    assert shape["users"] == 3
    assert shape["median"] == -1.0


def test_poisson_activity_is_near_zero_burstiness() -> None:
    """Exponential gaps give B ≈ 0; a regular clock gives -1."""
    rng = np.random.default_rng(3)
    gaps = rng.exponential(60_000, size=(200, 400)).astype(np.int64) + 1
    times = np.cumsum(gaps, axis=1).ravel()
    users = np.repeat(np.arange(200), 400)
    cols = LogColumns(
        times, users, np.full(len(users), int(K.READ_POST)), np.zeros(len(users), np.int64)
    )
    assert abs(float(np.median(burstiness(cols)))) < 0.05


def test_empty_log() -> None:
    """No actions: counts are zero and the shares undefined (None)."""
    empty = np.zeros(0, np.int64)
    shape = crowd_shape(LogColumns(empty, empty, empty, empty))
    assert shape["users"] == 0 and shape["share_users_posted"] is None
    assert shape["top1_posters_share"] is None and shape["burstiness"]["median"] is None


def test_a_quote_is_a_post_and_a_repost_is_not() -> None:
    """Posts are create_post and quote_post actions; reposts write nothing new."""
    rows = [(MON, 0, K.SIGN_UP, -1), (MON, 1, K.SIGN_UP, -1)]
    rows += [(MON + H, 0, K.QUOTE_POST, 0), (MON + H, 1, K.REPOST, 1)]
    shape = crowd_shape(_log(rows))
    assert (shape["posts"], shape["posters"]) == (1, 1)


def test_night_trough_and_its_hour() -> None:
    """A flat day with a quiet 03:00-05:00 (04:00 quietest, 1 action against 10) and a busier
    21:00 (20); at weekends the quiet hours are 06:00-08:00."""
    weekday = [10.0] * 24
    weekday[3], weekday[4], weekday[5], weekday[21] = 5.0, 1.0, 5.0, 20.0
    weekend = [10.0] * 24
    weekend[6], weekend[7], weekend[8], weekend[22] = 5.0, 2.0, 5.0, 20.0
    night = night_trough({"weekday": weekday, "weekend": weekend})
    assert night["weekday"] == {"trough_ratio": 0.05, "trough_hour": 4, "peak_hour": 21}
    assert night["weekend"]["trough_ratio"] == 0.1 and night["weekend"]["trough_hour"] == 7
    assert night["weekend_later_hours"] == 3


def test_sessions_split_at_half_an_hour() -> None:
    """User 0: three actions a minute apart, then one 2 h later: sessions of 3 and 1."""
    rows = [(MON + i * 60_000, 0, K.READ_POST, 0) for i in range(3)]
    rows += [(MON + 2 * H, 0, K.BROWSE_FEED, -1)]
    got = sessions(_log(rows))
    assert got["sessions"] == 2 and got["median_actions"] == 2.0
    assert got["histogram"]["1"] == 1 and got["histogram"]["3"] == 1
    assert got["median_minutes"] == 1.0  # (2 + 0) / 2


def test_retention_counts_newcomers_active_on_their_day() -> None:
    """Users 1 and 2 sign up on day 0 after the start; user 1 acts 30 h later (day 1), user 2
    does not; user 0 was there at the start (not a newcomer). Day 1: 1 of 2; no day-7 cohort."""
    rows = [(MON, 0, K.SIGN_UP, -1), (MON + H, 1, K.SIGN_UP, -1), (MON + H, 2, K.SIGN_UP, -1)]
    rows += [(MON + 31 * H, 1, K.BROWSE_FEED, -1), (MON + 2 * H, 2, K.BROWSE_FEED, -1)]
    rows += [(MON + 60 * H, 0, K.BROWSE_FEED, -1)]  # the log ends 60 h in
    kept = retention(_log(rows))
    assert kept == {"day1": 0.5, "day1_cohort": 2, "day7": None, "day7_cohort": 0}


def test_top_followed_share_counts_net_edges() -> None:
    """User 5 gains three follows and loses one, user 6 gains one: of 3 edges the top 1% (one
    user) holds 2."""
    rows = [(MON, u, K.SIGN_UP, -1) for u in range(7)]
    follows = [(0, 5), (1, 5), (2, 5), (3, 6)]
    rows += [(MON + H, a, K.FOLLOW_USER, -1) for a, _ in follows]
    cols = _log([*rows, (MON + 2 * H, 0, K.UNFOLLOW_USER, -1)])
    cols.ref = np.array([-1] * 7 + [b for _, b in follows] + [5], np.int64)
    assert followed_share(cols, 7) == pytest.approx(2 / 3)


def test_every_reference_is_checked() -> None:
    """Each reference measure has an entry: within, outside, or no value."""
    shape = crowd_shape(scripted())
    names = [c["measure"] for c in shape["references"]]
    assert names == list(REFERENCES)
    by = {c["measure"]: c for c in shape["references"]}
    assert by["share_users_posted"]["ok"] is False  # 40% posted: more than real platforms
    assert by["retention.day7"]["value"] is None and by["retention.day7"]["ok"] is None
