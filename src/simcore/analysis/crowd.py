"""The shape of the crowd, computed from an action log with numpy.

These are the numbers real social platforms are known by (participation
inequality, attention concentration, daily rhythm, bursty activity). They
describe what the simulated crowd *decided*, so every action of the log counts
whatever the backend answered:

- ``share_users_posted``: users who created at least one post / users in the log;
- ``top1_posters_share`` / ``top10_posters_share``: share of all posts written by the
  top 1% / 10% of posters (users with at least one post; at least one poster);
- ``top1_posts_view_share``: share of all views (``read_post`` actions) taken by the
  top 1% of posts (posts created or read in the log; at least one post);
- ``activity_by_hour``: for weekdays and weekend days, the share of that day
  type's actions (sign-ups excluded) in each simulated hour of the day;
- ``burstiness``: B = (σ − μ)/(σ + μ) of each user's times between actions
  (sign-ups excluded; users with at least :data:`MIN_GAPS` gaps), summarised
  by its median and mean over users: -1 is clockwork, 0 is Poisson, toward 1 bursty.
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
    acts = cols.kind != ActionKind.SIGN_UP
    user, t = cols.user[acts], cols.time_ms[acts]
    order = np.lexsort((t, user))
    user, t = user[order], t[order]
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


def crowd_shape(cols: LogColumns) -> dict[str, Any]:
    """Every crowd number of the module docstring, as plain data (None where undefined)."""
    # user and post ids are dense, so counting is a bincount, not a sort
    n_users = int(np.count_nonzero(np.bincount(cols.user)))
    creates = cols.kind == ActionKind.CREATE_POST
    posts_per_user = np.bincount(cols.user[creates])
    posts_per_poster = posts_per_user[posts_per_user > 0]
    reads = (cols.kind == ActionKind.READ_POST) & (cols.post >= 0)
    created_ids, read_ids = cols.post[creates & (cols.post >= 0)], cols.post[reads]
    n_ids = int(max(created_ids.max(initial=-1), read_ids.max(initial=-1))) + 1
    created = np.bincount(created_ids, minlength=n_ids)
    views_of = np.bincount(read_ids, minlength=n_ids)
    views = views_of[(created > 0) | (views_of > 0)]  # every post created or read
    b = burstiness(cols)

    def rounded(x: float | None) -> float | None:
        return None if x is None else round(x, 6)

    return {
        "actions": len(cols),
        "users": n_users,
        "posters": len(posts_per_poster),
        "posts": int(creates.sum()),
        "views": int(reads.sum()),
        "share_users_posted": rounded(len(posts_per_poster) / n_users if n_users else None),
        "top1_posters_share": rounded(_top_share(posts_per_poster, 0.01)),
        "top10_posters_share": rounded(_top_share(posts_per_poster, 0.10)),
        "top1_posts_view_share": rounded(_top_share(views, 0.01)),
        "activity_by_hour": activity_by_hour(cols),
        "burstiness": {
            "users": len(b),
            "median": rounded(float(np.median(b)) if len(b) else None),
            "mean": rounded(float(b.mean()) if len(b) else None),
        },
    }
