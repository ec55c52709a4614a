"""The numbers a run's metrics hold, their serialisation, and merging them exactly.

:class:`MetricTables` keeps, per simulated hour (``tick * tick_seconds // 3600``):
actions by kind, failures, a latency histogram, and users by routine state; per
endpoint (one per action kind): a latency histogram with exact min, max and sum,
answers by status, errors by kind and the answers' sizes (sum and count, where
recorded); per user the posts created; per post the views and its author; the
latest ``latest_n`` actions; and the series over wall-clock time
(:mod:`simcore.analysis.walltime`), for actions that record when they were sent.

Every number is a count, a sum, a min or a max, so :func:`merge_arrays` of two
runs' arrays is exactly the arrays of the union of their actions (two halves of a
run in time, or two shards of users; the wall-time session gauge merges exactly
across time only).

Serialisation, for snapshots and the run directory: :meth:`MetricTables.state_arrays`
returns a dict of numpy arrays (save with ``np.savez``) and :meth:`MetricTables.settings`
a JSON-able dict; :meth:`MetricTables.load_state` replaces an object's numbers with them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from simcore.analysis import walltime
from simcore.analysis.endpoint import REFERENCE_ENDPOINTS, Endpoint
from simcore.analysis.histogram import N_BUCKETS
from simcore.analysis.latest import LatestActions, merge_latest
from simcore.core.arrays import grow
from simcore.scenario.durations import hour_of
from simcore.scenario.kinds import KIND_NAMES
from simcore.seam.contract import ErrorKind

#: The built-in kinds' count (a run with kinds of its own has more: ``MetricTables.n_kinds``).
N_KINDS = len(KIND_NAMES)


N_STATUS = 600  # statuses are counted in [0, 599]; anything above lands in 599
N_ERRORS = len(ErrorKind)

#: The per-hour tables (grown with the run), the fixed per-kind ones, and the ones grown by
#: user or post id (trimmed to their count): every array a snapshot of the metrics holds.
HOURLY = ("hour_kind", "hour_failed", "hour_latency", "hour_states", "hour_samples")
PER_KIND = (
    "kind_latency",
    "kind_lat_min",
    "kind_lat_max",
    "kind_lat_sum_us",
    "kind_status",
    "kind_error",
    "kind_bytes_sum",
    "kind_bytes_n",
)
#: Per-kind arrays older run directories and snapshots lack (loaded as zeros).
NEWER = ("kind_bytes_sum", "kind_bytes_n")
BY_ID = {"user_posts": "n_users", "post_views": "n_posts", "post_author": "n_posts"}
LATEST_PREFIX = "latest."
WALL_PREFIX = "wall."


class MetricTables:
    """Every number measured about a run, with the run's clock and names."""

    def __init__(
        self,
        tick_seconds: int,
        start: dt.datetime,
        state_names: Sequence[str],
        profile_names: Sequence[str],
        latest_n: int = 100,
        endpoints: Sequence[Endpoint] = REFERENCE_ENDPOINTS,
    ) -> None:
        self.endpoints = tuple(endpoints)
        self.kind_names = tuple(e.name for e in self.endpoints)
        self.n_kinds = n_kinds = len(self.endpoints)
        #: by kind code: whether its actions create a post (posts, reposts, quotes, custom kinds so made)
        self.makes_post = np.array([e.creates_post for e in self.endpoints], dtype=bool)
        #: whether a backend sent real requests (then endpoints are the routes it sent to)
        self.sent_requests = False
        self.tick_seconds = int(tick_seconds)
        self.start = start
        self.state_names = tuple(state_names)
        self.profile_names = tuple(profile_names)
        self.latest_n = int(latest_n)
        n_states = len(self.state_names)
        self.n_hours = self.n_users = self.n_posts = 0
        self.hour_kind = np.zeros((0, n_kinds), np.int64)
        self.hour_failed = np.zeros(0, np.int64)
        self.hour_latency = np.zeros((0, N_BUCKETS), np.int64)
        self.hour_states = np.zeros((0, n_states), np.int64)
        self.hour_samples = np.zeros(0, np.int64)
        self.kind_latency = np.zeros((n_kinds, N_BUCKETS), np.int64)
        self.kind_lat_min = np.full(n_kinds, np.inf)
        self.kind_lat_max = np.full(n_kinds, -np.inf)
        self.kind_lat_sum_us = np.zeros(n_kinds, np.int64)
        self.kind_status = np.zeros((n_kinds, N_STATUS), np.int64)
        self.kind_error = np.zeros((n_kinds, N_ERRORS), np.int64)
        self.kind_bytes_sum = np.zeros(n_kinds, np.int64)
        self.kind_bytes_n = np.zeros(n_kinds, np.int64)
        self.user_posts = np.zeros(0, np.int64)
        self.post_views = np.zeros(0, np.int64)
        self.post_author = np.zeros(0, np.int32)
        self.recent = LatestActions(self.latest_n)
        self.wall = walltime.WallSeries(n_kinds)

    def hour_of(self, tick: int) -> int:
        """The simulated hour (from the start) that ``tick`` begins in."""
        return hour_of(tick, self.tick_seconds)

    def grow_hours(self, n: int) -> None:
        """Make room for ``n`` hours in the per-hour tables."""
        if n > self.n_hours:
            for name in HOURLY:
                setattr(self, name, grow(getattr(self, name), n))
            self.n_hours = n

    def grow_ids(self, top_user: int, top_post: int) -> None:
        """Make room for users below ``top_user`` and posts below ``top_post``."""
        if top_user > self.n_users:
            self.user_posts = grow(self.user_posts, top_user)
            self.n_users = top_user
        if top_post > self.n_posts:
            self.post_views = grow(self.post_views, top_post)
            self.post_author = grow(self.post_author, top_post, -1)
            self.n_posts = top_post

    def state_arrays(self) -> dict[str, NDArray[Any]]:
        """Every number, as named numpy arrays (trimmed copies); see :meth:`settings`."""
        return {
            **{name: getattr(self, name)[: self.n_hours].copy() for name in HOURLY},
            **{name: getattr(self, name).copy() for name in PER_KIND},
            **{name: getattr(self, name)[: getattr(self, n)].copy() for name, n in BY_ID.items()},
            **{f"{LATEST_PREFIX}{k}": v.copy() for k, v in self.recent.columns.items()},
            **{f"{WALL_PREFIX}{k}": v for k, v in self.wall.arrays().items()},
        }

    def settings(self) -> dict[str, Any]:
        """The JSON-able settings needed besides the arrays to rebuild these tables."""
        return {
            "version": 1,
            "tick_seconds": self.tick_seconds,
            "start": self.start.isoformat(),
            "state_names": list(self.state_names),
            "profile_names": list(self.profile_names),
            "latest_n": self.latest_n,
            "endpoints": [list(attrs.astuple(e)) for e in self.endpoints],
            "sent_requests": self.sent_requests,
        }

    def load_state(self, arrays: dict[str, NDArray[Any]]) -> None:
        """Replace every number with ``arrays`` (as returned by :meth:`state_arrays`)."""
        for name in (*HOURLY, *PER_KIND, *BY_ID):
            if name in NEWER and name not in arrays:
                setattr(self, name, np.zeros_like(getattr(self, name)))
                continue
            setattr(self, name, np.array(arrays[name], dtype=getattr(self, name).dtype))
        self.recent.load(_latest_part(arrays))
        self.wall.load(_part(arrays, WALL_PREFIX))
        self.n_hours, self.n_users, self.n_posts = (
            len(self.hour_kind),
            len(self.user_posts),
            len(self.post_views),
        )

    def equals(self, other: MetricTables) -> bool:
        """Same settings and the same numbers."""
        a, ma = self.state_arrays(), self.settings()
        b, mb = other.state_arrays(), other.settings()
        return ma == mb and a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def merge_arrays(
    a: dict[str, NDArray[Any]], b: dict[str, NDArray[Any]], latest_n: int
) -> dict[str, NDArray[Any]]:
    """The state arrays of both runs' actions together (see :meth:`MetricTables.state_arrays`)."""
    out: dict[str, NDArray[Any]] = {}
    for name in a:
        if name.startswith((LATEST_PREFIX, WALL_PREFIX)):
            continue
        if name == "kind_lat_min":
            out[name] = np.minimum(a[name], b[name])
        elif name == "kind_lat_max":
            out[name] = np.maximum(a[name], b[name])
        elif name == "post_author":
            out[name] = _merge_authors(a[name], b[name])
        else:
            out[name] = _pad_add(a[name], b[name])
    latest = merge_latest(_latest_part(a), _latest_part(b), latest_n)
    out.update({f"{LATEST_PREFIX}{k}": v for k, v in latest.items()})
    n_kinds = len(a["kind_status"])
    wall = walltime.merge(_part(a, WALL_PREFIX), _part(b, WALL_PREFIX), n_kinds)
    out.update({f"{WALL_PREFIX}{k}": v for k, v in wall.items()})
    return out


def _part(arrays: dict[str, NDArray[Any]], prefix: str) -> dict[str, NDArray[Any]]:
    return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}


def _latest_part(arrays: dict[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
    return _part(arrays, LATEST_PREFIX)


def _merge_authors(a: NDArray[Any], b: NDArray[Any]) -> NDArray[Any]:
    """Each post's author known to either side (-1 where neither knows it)."""
    out = np.full(max(len(a), len(b)), -1, np.int32)
    out[: len(a)] = a
    out[: len(b)] = np.where(b >= 0, b, out[: len(b)])
    return out


def _pad_add(a: NDArray[Any], b: NDArray[Any]) -> NDArray[Any]:
    n = max(len(a), len(b))
    out = np.zeros((n, *a.shape[1:]), dtype=a.dtype)
    out[: len(a)] += a
    out[: len(b)] += b
    return out
