"""The shape of the crowd, computed from an action log with numpy.

These are the numbers real social platforms are known by (participation
inequality, attention concentration, daily rhythm, bursty activity). They
describe what the simulated crowd *decided*, so every action of the log counts
whatever the backend answered:

- ``share_users_posted``: users who wrote at least one post / users in the log;
- ``top1_posters_share`` / ``top10_posters_share``: share of all posts written by the
  top 1% / 10% of posters (users with at least one post; at least one poster);
- ``top1_posts_view_share``: share of all views (``read_post`` actions) taken by the
  top 1% of posts (posts created or read in the log; at least one post);
- ``activity_by_hour``: for weekdays and weekend days, the share of that day
  type's actions (sign-ups excluded) in each simulated hour of the day;
- ``burstiness``: B = (σ − μ)/(σ + μ) of each user's times between actions
  (sign-ups excluded; users with at least :data:`MIN_GAPS` gaps), summarised
  by its median and mean over users: -1 is clockwork, 0 is Poisson, toward 1 bursty;
- ``night``: for weekdays and weekend days, the quietest hour's actions over the
  evening peak's (the busiest hour from 17:00 to 24:00), and the trough hour (the
  centre of the quietest three consecutive hours);
- ``sessions``: each user's actions split where more than :data:`SESSION_GAP_MS`
  passes between two; actions per session (median, mean, p90, a histogram) and
  the median session's minutes;
- ``retention``: of the newcomers (users who signed up after the log's first
  minute), the share active on their day 1 and day 7 (an action 24–48 h, 168–192 h
  after signing up), among those who signed up early enough for that day to be in the log;
- ``top1_followed_share``: share of follow edges (follows minus unfollows, by
  followed user) held by the top 1% of users by followers.

A post is a ``create_post`` or ``quote_post`` (a repost writes nothing new); a view
is a ``read_post``. :data:`REFERENCES` are what real platforms measure, with sources.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from simcore.logs.read import LogColumns
from simcore.scenario.kinds import ActionKind

MS_PER_HOUR = 3_600_000
MS_PER_DAY = 24 * MS_PER_HOUR
#: Users need at least this many gaps between actions to get a burstiness value.
MIN_GAPS = 2
#: A pause longer than this ends a session (30 minutes: the web-analytics convention).
SESSION_GAP_MS = 30 * 60 * 1000
#: Histogram bins of actions per session: 1, 2, 3, 4, 5, 6-10, 11-20, 21 or more.
SESSION_BINS = (1, 2, 3, 4, 5, 6, 11, 21)

#: What real platforms measure, beside which the report shows a run's numbers:
#: measure -> (low, high, what, source). None: no bound on that side.
REFERENCES: dict[str, tuple[float | None, float | None, str, str]] = {
    "share_users_posted": (
        None, 0.30, "< 30% of users post",
        "van Mierlo 2014: < 25% of 64k users of online health forums ever posted",
    ),
    "top10_posters_share": (
        0.75, None, "top 10% of posters write >= 75% of posts",
        "Pew Research Center 2019: the top 10% of tweeters wrote 80% of U.S. adults' tweets",
    ),
    "top1_posts_view_share": (
        0.20, None, "top 1% of posts take >= 20% of views",
        "Wu & Huberman 2007: attention to Digg stories is lognormal, heavy-tailed",
    ),
    "burstiness": (
        0.2, None, "median B >= 0.2",
        "Goh & Barabási 2008: human activity is bursty, B ~ 0.2-0.5",
    ),
    "night.weekday.trough_ratio": (
        0.03, 0.25, "night trough 3-25% of the evening peak",
        "Leypunskiy et al. 2018 (Twitter by U.S. county): a deep trough, well above zero",
    ),
    "night.weekend.trough_ratio": (
        0.03, 0.25, "night trough 3-25% of the evening peak",
        "Leypunskiy et al. 2018: the weekend curve has the same trough, later",
    ),
    "night.weekend_later_hours": (
        1.0, None, "weekend trough >= 1 h later than weekday",
        "Leypunskiy et al. 2018: people sleep in at weekends",
    ),
    "retention.day1": (
        0.30, 0.50, "day-1 retention 30-50%",
        "the 40-20-10 rule of thumb for apps and games: ~40% of newcomers back on day 1",
    ),
    "retention.day7": (
        0.10, 0.30, "day-7 retention ~20%",
        "40-20-10 rule: ~20% on day 7; Chen 2015 (Quettra data): 90% of daily users gone in 30 days",
    ),
    "top1_followed_share": (
        0.20, None, "top 1% of users hold >= 20% of follow edges",
        "Kwak et al. 2010: Twitter's follower in-degree is power-law (heavy-tailed)",
    ),
    "sessions.median_actions": (
        2.0, 10.0, "a few actions a session",
        "Benevenuto et al. 2009 (OSN clickstreams): sessions are short bursts; 30-min split as in web analytics",
    ),
}  # fmt: skip


def _top_share(counts: NDArray[np.int64], fraction: float) -> float | None:
    """Share of ``counts.sum()`` held by the top ``ceil(fraction * len)`` entries."""
    total = int(counts.sum())
    if len(counts) == 0 or total == 0:
        return None
    k = max(1, math.ceil(fraction * len(counts)))
    top = np.sort(counts)[::-1][:k]
    return float(top.sum()) / total


def activity_by_hour(cols: LogColumns) -> dict[str, list[float]]:
    """Share of actions (sign-ups excluded) by hour of day, for weekdays and weekends."""
    acts = cols.kind != ActionKind.SIGN_UP
    t = cols.time_ms[acts]
    days = t // MS_PER_DAY
    hour = (t % MS_PER_DAY) // MS_PER_HOUR
    weekend = (days + 3) % 7 >= 5  # 1970-01-01 was a Thursday (weekday 3)
    out: dict[str, list[float]] = {}
    for name, mask in (("weekday", ~weekend), ("weekend", weekend)):
        counts = np.bincount(hour[mask], minlength=24).astype(np.float64)
        total = counts.sum()
        out[name] = (counts / total).round(6).tolist() if total else [0.0] * 24
    return out


def burstiness(cols: LogColumns) -> NDArray[np.float64]:
    """B of each user with at least :data:`MIN_GAPS` gaps between actions (in user order)."""
    user, t = _acting(cols)
    same = user[1:] == user[:-1]
    gaps = (t[1:] - t[:-1])[same].astype(np.float64)
    who = user[1:][same]
    if len(gaps) == 0:
        return np.zeros(0)
    # user ids are dense: count per id, then keep the ids that have gaps (in id order)
    per_id = np.bincount(who)
    present = np.flatnonzero(per_id)
    n = per_id[present]
    mean_of = np.zeros(len(per_id))
    mean_of[present] = np.bincount(who, weights=gaps)[present] / n
    mean = mean_of[present]
    var = np.bincount(who, weights=(gaps - mean_of[who]) ** 2)[present] / n
    sigma = np.sqrt(var)
    ok = (n >= MIN_GAPS) & (sigma + mean > 0)
    b: NDArray[np.float64] = ((sigma - mean) / np.where(ok, sigma + mean, 1.0))[ok]
    return b


def _rounded(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


def _trough_hour(shares: NDArray[np.float64]) -> int:
    """The hour at the centre of the quietest three consecutive hours (circular)."""
    window = shares + np.roll(shares, 1) + np.roll(shares, -1)
    return int(np.argmin(window))


def night_trough(by_hour: dict[str, list[float]]) -> dict[str, Any]:
    """Trough over evening peak and trough hour, weekdays and weekends (from
    :func:`activity_by_hour`), and how many hours later the weekend's trough is."""
    out: dict[str, Any] = {}
    for name, shares in by_hour.items():
        h = np.asarray(shares, dtype=np.float64)
        peak = float(h[17:24].max())
        out[name] = {
            "trough_ratio": _rounded(float(h.min()) / peak if peak > 0 else None),
            "trough_hour": _trough_hour(h) if h.sum() > 0 else None,
            "peak_hour": 17 + int(np.argmax(h[17:24])) if peak > 0 else None,
        }
    days, ends = out.get("weekday", {}), out.get("weekend", {})
    if days.get("trough_hour") is not None and ends.get("trough_hour") is not None:
        later = (ends["trough_hour"] - days["trough_hour"] + 12) % 24 - 12  # in (-12, 12]
        out["weekend_later_hours"] = later
    else:
        out["weekend_later_hours"] = None
    return out


def _acting(cols: LogColumns) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Users and times of every action but sign-ups, sorted by (user, time)."""
    acts = cols.kind != ActionKind.SIGN_UP
    user, t = cols.user[acts], cols.time_ms[acts]
    order = np.lexsort((t, user))
    return user[order], t[order]


def sessions(cols: LogColumns) -> dict[str, Any]:
    """Actions per session and session minutes, sessions split at pauses over
    :data:`SESSION_GAP_MS`."""
    user, t = _acting(cols)
    if len(user) == 0:
        return {"sessions": 0, "median_actions": None, "mean_actions": None, "p90_actions": None,
                "median_minutes": None, "histogram": {}}  # fmt: skip
    starts = np.flatnonzero(
        np.concatenate([[True], (user[1:] != user[:-1]) | (t[1:] - t[:-1] > SESSION_GAP_MS)])
    )
    ends = np.concatenate([starts[1:], [len(user)]])
    length = ends - starts
    minutes = (t[ends - 1] - t[starts]) / 60_000.0
    edges = np.asarray(SESSION_BINS)
    counts = np.bincount(np.searchsorted(edges, length, side="right") - 1, minlength=len(edges))
    labels = ["1", "2", "3", "4", "5", "6-10", "11-20", "21+"]
    return {
        "sessions": len(length),
        "median_actions": float(np.median(length)),
        "mean_actions": _rounded(float(length.mean())),
        "p90_actions": float(np.percentile(length, 90)),
        "median_minutes": _rounded(float(np.median(minutes))),
        "histogram": {label: int(c) for label, c in zip(labels, counts)},
    }


def retention(cols: LogColumns, days: tuple[int, ...] = (1, 7)) -> dict[str, Any]:
    """Day-k retention of the newcomers: for each k, the share active 24k to 24(k+1) h after
    signing up, of those who signed up at least k + 1 days before the log's end."""
    if len(cols) == 0:
        return {**{f"day{k}": None for k in days}, **{f"day{k}_cohort": 0 for k in days}}
    first, end = int(cols.time_ms.min()), int(cols.time_ms.max())
    signs = np.flatnonzero((cols.kind == ActionKind.SIGN_UP) & (cols.time_ms >= first + 60_000))
    signed_at = np.full(int(cols.user.max()) + 1, -1, np.int64)
    signed_at[cols.user[signs]] = cols.time_ms[signs]
    user, t = _acting(cols)
    mine = signed_at[user] >= 0
    day = (t[mine] - signed_at[user[mine]]) // MS_PER_DAY
    out: dict[str, Any] = {}
    for k in days:
        cohort = signed_at >= 0
        cohort &= signed_at + (k + 1) * MS_PER_DAY <= end
        active = np.zeros(len(signed_at), bool)
        active[user[mine][day == k]] = True
        n = int(cohort.sum())
        out[f"day{k}"] = _rounded(float((active & cohort).sum()) / n if n else None)
        out[f"day{k}_cohort"] = n
    return out


def followed_share(cols: LogColumns, n_users: int) -> float | None:
    """Share of follow edges (follows minus unfollows) held by the top 1% of users."""
    if len(cols.ref) != len(cols) or n_users == 0:
        return None
    ok = cols.ref >= 0
    follows = cols.ref[ok & (cols.kind == ActionKind.FOLLOW_USER)]
    unfollows = cols.ref[ok & (cols.kind == ActionKind.UNFOLLOW_USER)]
    size = int(max(follows.max(initial=-1), unfollows.max(initial=-1))) + 1
    net = np.bincount(follows, minlength=size) - np.bincount(unfollows, minlength=size)
    net = np.maximum(net, 0)
    total = int(net.sum())
    if total == 0:
        return None
    k = max(1, math.ceil(0.01 * n_users))
    return float(np.sort(net)[::-1][:k].sum()) / total


def checks(shape: dict[str, Any]) -> list[dict[str, Any]]:
    """Each :data:`REFERENCES` measure of ``shape``: its value, the reference and whether the
    value is inside it (None when the run has no value for it)."""
    out: list[dict[str, Any]] = []
    for name, (low, high, what, source) in REFERENCES.items():
        node: Any = shape
        for part in name.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):  # burstiness: its median
            node = node.get("median")
        value = None if node is None else float(node)
        ok = None
        if value is not None:
            ok = (low is None or value >= low) and (high is None or value <= high)
        out.append({"measure": name, "value": value, "reference": what, "ok": ok, "source": source})
    return out


def crowd_shape(cols: LogColumns) -> dict[str, Any]:
    """Every crowd number of the module docstring, as plain data (None where undefined)."""
    # user and post ids are dense, so counting is a bincount, not a sort
    n_users = int(np.count_nonzero(np.bincount(cols.user)))
    creates = (cols.kind == ActionKind.CREATE_POST) | (cols.kind == ActionKind.QUOTE_POST)
    posts_per_user = np.bincount(cols.user[creates])
    posts_per_poster = posts_per_user[posts_per_user > 0]
    reads = (cols.kind == ActionKind.READ_POST) & (cols.post >= 0)
    created_ids, read_ids = cols.post[creates & (cols.post >= 0)], cols.post[reads]
    n_ids = int(max(created_ids.max(initial=-1), read_ids.max(initial=-1))) + 1
    created = np.bincount(created_ids, minlength=n_ids)
    views_of = np.bincount(read_ids, minlength=n_ids)
    views = views_of[(created > 0) | (views_of > 0)]  # every post created or read
    b = burstiness(cols)
    rounded = _rounded
    by_hour = activity_by_hour(cols)
    shape: dict[str, Any] = {
        "actions": len(cols),
        "users": n_users,
        "posters": len(posts_per_poster),
        "posts": int(creates.sum()),
        "views": int(reads.sum()),
        "share_users_posted": rounded(len(posts_per_poster) / n_users if n_users else None),
        "top1_posters_share": rounded(_top_share(posts_per_poster, 0.01)),
        "top10_posters_share": rounded(_top_share(posts_per_poster, 0.10)),
        "top1_posts_view_share": rounded(_top_share(views, 0.01)),
        "activity_by_hour": by_hour,
        "burstiness": {
            "users": len(b),
            "median": rounded(float(np.median(b)) if len(b) else None),
            "mean": rounded(float(b.mean()) if len(b) else None),
        },
        "night": night_trough(by_hour),
        "sessions": sessions(cols),
        "retention": retention(cols),
        "top1_followed_share": rounded(followed_share(cols, n_users)),
    }
    shape["references"] = checks(shape)
    return shape
