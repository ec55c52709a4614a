"""Views of a run's metrics per endpoint and per user/post: the tables of summary.json."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np

from simcore.analysis.histogram import percentiles
from simcore.analysis.hourly import users_by_hour
from simcore.analysis.tables import MetricTables
from simcore.scenario.thresholds import PERCENTS
from simcore.seam.contract import ERROR_NAMES, ErrorKind

_BAD = int(ErrorKind.BAD_ANSWER)


def endpoint_stats(t: MetricTables) -> list[dict[str, Any]]:
    """Per endpoint (action kind) and for all together: count, failures, latency figures."""
    rows: list[dict[str, Any]] = []
    status_totals = t.kind_status.sum(axis=1)
    # a bad answer is logged with its 2xx status, and fails all the same
    fails = t.kind_status[:, 0] + t.kind_status[:, 400:].sum(axis=1) + t.kind_error[:, _BAD]
    table = np.vstack([t.kind_latency, t.kind_latency.sum(axis=0)])
    lo = np.append(t.kind_lat_min, t.kind_lat_min.min())
    hi = np.append(t.kind_lat_max, t.kind_lat_max.max())
    pct = percentiles(table, PERCENTS, lo, hi)
    sums = np.append(t.kind_lat_sum_us, t.kind_lat_sum_us.sum())
    counts = table.sum(axis=1)
    size = np.append(t.kind_bytes_sum, t.kind_bytes_sum.sum())
    sized = np.append(t.kind_bytes_n, t.kind_bytes_n.sum())
    n_kinds = t.n_kinds
    for i in range(n_kinds + 1):
        name = t.kind_names[i] if i < n_kinds else "all"
        n = int(status_totals[i]) if i < n_kinds else int(status_totals.sum())
        failed = int(fails[i]) if i < n_kinds else int(fails.sum())
        method, path = route_of(t, i) if i < n_kinds else ("", "")
        rows.append(
            {
                "endpoint": name,
                "method": method,
                "path": path,
                "count": n,
                "failures": failed,
                "error_rate": failed / n if n else 0.0,
                "mean_ms": _num(sums[i] / 1000.0 / counts[i]) if counts[i] else None,
                **{f"p{q:g}_ms": _num(pct[i, j]) for j, q in enumerate(PERCENTS)},
                "max_ms": _num(hi[i]) if counts[i] else None,
                "bytes_mean": _num(size[i] / sized[i]) if sized[i] else None,
                "bytes_total": int(size[i]) if sized[i] else None,
            }
        )
    return rows


def wall_time(t: MetricTables) -> dict[str, Any] | None:
    """When the run's first and last timed sends happened (UTC, ISO), the buckets' width in
    seconds and their count; None when no action recorded a send time (the mock)."""
    wall = t.wall
    if not wall.n:
        return None
    starts = wall.starts()

    def utc(seconds: int) -> str:
        return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).isoformat()

    return {
        "first_bucket": utc(int(starts[0])),
        "end": utc(int(starts[-1]) + wall.width),
        "bucket_seconds": wall.width,
        "buckets": wall.n,
        "sent": int(wall.sent.sum()),
    }


def route_of(t: MetricTables, kind: int) -> tuple[str, str]:
    """The method and path template a kind was sent to: its route when a backend sent real
    requests, else the reference API's (the mock's)."""
    e = t.endpoints[kind]
    return (e.route_method, e.route_path) if t.sent_requests else (e.method, e.path)


def failures(t: MetricTables) -> dict[str, dict[str, int]]:
    """Failures by endpoint: ``{"read_post": {"404": 3, "timeout": 1}}`` (only non-empty)."""
    out: dict[str, dict[str, int]] = {}
    for k in range(t.n_kinds):
        row: dict[str, int] = {}
        bad = np.flatnonzero(t.kind_status[k, 400:]) + 400
        for code in bad.tolist():
            row[str(code)] = int(t.kind_status[k, code])
        for e in np.flatnonzero(t.kind_error[k]).tolist():
            if e != ErrorKind.NONE:
                row[ERROR_NAMES[e]] = int(t.kind_error[k, e])
        if t.kind_status[k, 0] and not any(t.kind_error[k, 1:]):
            row["no_response"] = int(t.kind_status[k, 0])
        if row:
            out[t.kind_names[k]] = row
    return out


def top_posters(t: MetricTables, n: int = 10) -> list[dict[str, int]]:
    """The ``n`` users with the most posts (ties: lower id first)."""
    posts = t.user_posts[: t.n_users]
    order = np.lexsort((np.arange(len(posts)), -posts))[:n]
    return [{"user": int(u), "posts": int(posts[u])} for u in order if posts[u] > 0]


def top_posts(t: MetricTables, n: int = 10) -> list[dict[str, int]]:
    """The ``n`` most viewed posts with their authors (-1 if unknown)."""
    views = t.post_views[: t.n_posts]
    order = np.lexsort((np.arange(len(views)), -views))[:n]
    return [
        {"post": int(p), "views": int(views[p]), "author": int(t.post_author[p])}
        for p in order
        if views[p] > 0
    ]


def totals(t: MetricTables) -> dict[str, Any]:
    """Headline numbers: actions, failures, error rate, actions per simulated hour."""
    actions = int(t.hour_kind[: t.n_hours].sum())
    failed = int(t.hour_failed[: t.n_hours].sum())
    return {
        "hours": t.n_hours,
        "actions": actions,
        "failures": failed,
        "error_rate": failed / actions if actions else 0.0,
        "actions_per_hour": actions / t.n_hours if t.n_hours else 0.0,
        "users": int(users_by_hour(t)[-1]) if t.n_hours else 0,
        "posts": int(t.user_posts[: t.n_users].sum()),
    }


def summary(t: MetricTables, top: int = 10) -> dict[str, Any]:
    """Everything for summary.json's ``metrics``."""
    return {
        **totals(t),
        "endpoints": endpoint_stats(t),
        "failures_by_endpoint": failures(t),
        "top_posters": top_posters(t, top),
        "top_posts": top_posts(t, top),
        "wall_time": wall_time(t),
    }


def _num(x: float) -> float | None:
    return None if not math.isfinite(float(x)) else round(float(x), 3)
