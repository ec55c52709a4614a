"""Run metrics accumulated from batches and outcomes: a vectorised, mergeable, serialisable sink.

:class:`Metrics` is a sink (``write(batch, outcomes)``, ``close()``) that keeps,
per simulated hour (``tick * tick_seconds // 3600``): actions by kind, failures,
a latency histogram, and users by routine state (sampled by :meth:`observe_states`
at the hour's last tick); per endpoint (one per action kind): a latency
histogram with exact min, max and sum, answers by status and errors by kind; per
user the posts created; per post the views (``read_post`` answered 2xx) and its
author; and the latest ``latest_n`` actions.

Every number is a count, a sum, a min or a max, so ``a.merge(b)`` is exactly the
metrics of the union of the two runs' actions (two halves of a run in time, or
two shards of users) — what a distributed or resumed run needs.

Serialisation, for snapshots and the run directory: :meth:`Metrics.state_arrays`
returns a dict of numpy arrays (save with ``np.savez``) and :meth:`Metrics.settings`
a JSON-able dict; :meth:`Metrics.from_state` rebuilds an equal object from both, and
:meth:`Metrics.load_state` replaces an existing object's numbers (the snapshot
module's ``Stateful`` protocol, through :class:`simcore.run.runfiles.MetricsSink`).
A failure is an action answered with status 0 (no response) or >= 400.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from simcore.analysis.histogram import N_BUCKETS, bucket_of, percentiles
from simcore.core.actions import METHODS, PATHS, ActionBatch
from simcore.core.arrays import grow
from simcore.logs.jsonl import action_paths
from simcore.scenario.durations import ends_hour, hour_of
from simcore.scenario.kinds import KIND_NAMES, ActionKind
from simcore.scenario.thresholds import PERCENTS
from simcore.seam.contract import ERROR_NAMES, ErrorKind, Outcomes

N_KINDS = len(KIND_NAMES)
N_STATUS = 600  # statuses are counted in [0, 599]; anything above lands in 599
N_ERRORS = len(ErrorKind)
#: The columns kept for the latest actions, with their dtypes.
LATEST_FIELDS: tuple[tuple[str, type[np.generic]], ...] = (
    ("seq", np.int64),
    ("tick", np.int32),
    ("offset_ms", np.int32),
    ("user", np.int32),
    ("profile", np.uint8),
    ("state", np.uint8),
    ("kind", np.uint8),
    ("post", np.int32),
    ("ref", np.int32),
    ("status", np.int16),
    ("latency_ms", np.float32),
    ("attempts", np.uint8),
    ("error", np.uint8),
)


#: The per-hour tables (grown with the run), the fixed per-kind ones, and the ones grown by
#: user or post id (trimmed to their count): every array a snapshot of the metrics holds.
_HOURLY = ("hour_kind", "hour_failed", "hour_latency", "hour_states", "hour_samples")
_PER_KIND = (
    "kind_latency",
    "kind_lat_min",
    "kind_lat_max",
    "kind_lat_sum_us",
    "kind_status",
    "kind_error",
)
_BY_ID = {"user_posts": "n_users", "post_views": "n_posts", "post_author": "n_posts"}

_CREATE = int(ActionKind.CREATE_POST)
_READ = int(ActionKind.READ_POST)
_SKIPPED = int(ErrorKind.SKIPPED)


def _latest_columns(batch: ActionBatch, outcomes: Outcomes) -> dict[str, NDArray[Any]]:
    cols: dict[str, NDArray[Any]] = {
        "seq": batch.seq,
        "tick": np.full(len(batch), batch.tick, np.int32),
        "offset_ms": batch.offset_ms,
        "user": batch.user,
        "profile": batch.profile,
        "state": batch.state,
        "kind": batch.kind,
        "post": batch.post,
        "ref": batch.ref,
        "status": outcomes.status,
        "latency_ms": outcomes.latency_ms,
        "attempts": outcomes.attempts,
        "error": outcomes.error,
    }
    return {name: cols[name].astype(dtype, copy=False) for name, dtype in LATEST_FIELDS}


def _pad_add(a: NDArray[Any], b: NDArray[Any]) -> NDArray[Any]:
    n = max(len(a), len(b))
    out = np.zeros((n, *a.shape[1:]), dtype=a.dtype)
    out[: len(a)] += a
    out[: len(b)] += b
    return out


class Metrics:
    """Everything measured about a run, from its batches and outcomes."""

    def __init__(
        self,
        tick_seconds: int,
        start: dt.datetime,
        state_names: Sequence[str],
        profile_names: Sequence[str],
        latest_n: int = 100,
    ) -> None:
        self.tick_seconds = int(tick_seconds)
        self.start = start
        self.state_names = tuple(state_names)
        self.profile_names = tuple(profile_names)
        self.latest_n = int(latest_n)
        n_states = len(self.state_names)
        self.n_hours = self.n_users = self.n_posts = 0
        self.hour_kind = np.zeros((0, N_KINDS), np.int64)
        self.hour_failed = np.zeros(0, np.int64)
        self.hour_latency = np.zeros((0, N_BUCKETS), np.int64)
        self.hour_states = np.zeros((0, n_states), np.int64)
        self.hour_samples = np.zeros(0, np.int64)
        self.kind_latency = np.zeros((N_KINDS, N_BUCKETS), np.int64)
        self.kind_lat_min = np.full(N_KINDS, np.inf)
        self.kind_lat_max = np.full(N_KINDS, -np.inf)
        self.kind_lat_sum_us = np.zeros(N_KINDS, np.int64)
        self.kind_status = np.zeros((N_KINDS, N_STATUS), np.int64)
        self.kind_error = np.zeros((N_KINDS, N_ERRORS), np.int64)
        self.user_posts = np.zeros(0, np.int64)
        self.post_views = np.zeros(0, np.int64)
        self.post_author = np.zeros(0, np.int32)
        self._latest = {name: np.zeros(0, dtype) for name, dtype in LATEST_FIELDS}
        self._recent: deque[tuple[ActionBatch, Outcomes]] = deque()  # batches not yet in _latest
        self._recent_n = 0
        #: Optional probe giving every user's state; called at each hour's last tick.
        self.population_states: Callable[[], NDArray[np.uint8]] | None = None

    # --- accumulating ---------------------------------------------------------------

    def hour_of(self, tick: int) -> int:
        """The simulated hour (from the start) that ``tick`` begins in."""
        return hour_of(tick, self.tick_seconds)

    def _hours(self, n: int) -> None:
        if n > self.n_hours:
            for name in _HOURLY:
                setattr(self, name, grow(getattr(self, name), n))
            self.n_hours = n

    def write(self, batch: ActionBatch, outcomes: Outcomes) -> None:
        """Account for one batch (a sink's ``write``)."""
        hour = self.hour_of(batch.tick)
        self._hours(hour + 1)
        n = len(batch)
        if n:
            self._account(batch, outcomes, hour)
        last_of_hour = ends_hour(batch.tick, self.tick_seconds)
        if last_of_hour and self.population_states is not None:
            self.observe_states(batch.tick, self.population_states())

    def _account(self, batch: ActionBatch, outcomes: Outcomes, hour: int) -> None:
        kind = batch.kind.astype(np.intp)
        status = outcomes.status.astype(np.intp)
        # scattered adds (ufunc.at) cost per action, not per table cell: batches are often small
        by_kind = np.bincount(kind, minlength=N_KINDS)
        self.hour_kind[hour] += by_kind
        np.add.at(
            self.kind_status.reshape(-1),
            kind * N_STATUS + np.minimum(np.maximum(status, 0), N_STATUS - 1),
            1,
        )
        failed = outcomes.failed()
        n_failed = int(np.count_nonzero(failed))
        self.hour_failed[hour] += n_failed
        error = outcomes.error
        lat = outcomes.latency_ms.astype(np.float64)
        k = kind
        if error.any():
            np.add.at(self.kind_error.reshape(-1), kind * N_ERRORS + error, 1)
            sent = error != _SKIPPED  # skipped actions were never sent: no latency
            lat, k = lat[sent], kind[sent]
        else:
            self.kind_error[:, 0] += by_kind
        if len(lat):
            buckets = bucket_of(lat)
            np.add.at(self.kind_latency.reshape(-1), k * N_BUCKETS + buckets, 1)
            np.add.at(self.hour_latency[hour], buckets, 1)
            np.minimum.at(self.kind_lat_min, k, lat)
            np.maximum.at(self.kind_lat_max, k, lat)
            np.add.at(self.kind_lat_sum_us, k, np.rint(lat * 1000.0).astype(np.int64))
        # posts by author, views by post
        user, posts = batch.user, batch.post
        top_user = int(user.max()) + 1
        if top_user > self.n_users:
            self.user_posts = grow(self.user_posts, top_user)
            self.n_users = top_user
        top_post = int(posts.max()) + 1
        if top_post > self.n_posts:
            self.post_views = grow(self.post_views, top_post)
            self.post_author = grow(self.post_author, top_post, -1)
            self.n_posts = top_post
        if by_kind[_CREATE]:
            creates = np.flatnonzero(kind == _CREATE)
            np.add.at(self.user_posts, user[creates], 1)
            new = posts[creates]
            ok = new >= 0
            self.post_author[new[ok]] = user[creates][ok]
        if by_kind[_READ]:
            served = (kind == _READ) & (status >= 200) & (status < 300) & (posts >= 0)
            np.add.at(self.post_views, posts[served], 1)
        self._recent.append((batch, outcomes))
        self._recent_n += len(batch)
        while len(self._recent) > 1 and self._recent_n - len(self._recent[0][0]) >= self.latest_n:
            self._recent_n -= len(self._recent.popleft()[0])

    @property
    def latest(self) -> dict[str, NDArray[Any]]:
        """The latest ``latest_n`` actions as columns (see :data:`LATEST_FIELDS`), oldest first."""
        if self._recent:
            parts = [self._latest] + [_latest_columns(b, o) for b, o in self._recent]
            self._latest = {
                name: np.concatenate([p[name] for p in parts])[-self.latest_n :] if self.latest_n else p0
                for (name, _), p0 in zip(LATEST_FIELDS, self._latest.values())
            }
            self._recent.clear()
            self._recent_n = 0
        return self._latest

    def observe_states(self, tick: int, states: NDArray[np.uint8]) -> None:
        """Count users by routine state at ``tick`` (the controller's population, sampled hourly)."""
        hour = self.hour_of(tick)
        self._hours(hour + 1)
        self.hour_states[hour] += np.bincount(states, minlength=len(self.state_names))[
            : len(self.state_names)
        ]
        self.hour_samples[hour] += 1

    def close(self) -> None:
        """Nothing to release (a sink's ``close``)."""

    # --- merging and serialising ------------------------------------------------------

    def merge(self, other: Metrics) -> Metrics:
        """The metrics of both runs' actions together (``self`` and ``other`` are unchanged)."""
        if (self.tick_seconds, self.start, self.state_names) != (
            other.tick_seconds,
            other.start,
            other.state_names,
        ):
            raise ValueError("cannot merge metrics of runs with different clocks or routine states")
        a, b, meta = self.state_arrays(), other.state_arrays(), self.settings()
        out: dict[str, NDArray[Any]] = {}
        for name in a:
            if name.startswith("latest."):
                continue
            if name == "kind_lat_min":
                out[name] = np.minimum(a[name], b[name])
            elif name == "kind_lat_max":
                out[name] = np.maximum(a[name], b[name])
            elif name == "post_author":
                n = max(len(a[name]), len(b[name]))
                pa = np.full(n, -1, np.int32)
                pa[: len(a[name])] = a[name]
                pb = b[name]
                pa[: len(pb)] = np.where(pb >= 0, pb, pa[: len(pb)])
                out[name] = pa
            else:
                out[name] = _pad_add(a[name], b[name])
        seq = np.concatenate([a["latest.seq"], b["latest.seq"]])
        _, first = np.unique(seq, return_index=True)  # sorted by seq, duplicates dropped
        latest_n = max(self.latest_n, other.latest_n)  # the same whichever side merges
        keep = first[-latest_n:] if latest_n else first[:0]
        for name, _dtype in LATEST_FIELDS:
            out[f"latest.{name}"] = np.concatenate([a[f"latest.{name}"], b[f"latest.{name}"]])[keep]
        meta = dict(meta, latest_n=latest_n)
        return Metrics.from_state(out, meta)

    def state_arrays(self) -> dict[str, NDArray[Any]]:
        """Every number, as named numpy arrays (trimmed copies); see :meth:`settings`."""
        arrays: dict[str, NDArray[Any]] = {
            **{name: getattr(self, name)[: self.n_hours].copy() for name in _HOURLY},
            **{name: getattr(self, name).copy() for name in _PER_KIND},
            **{name: getattr(self, name)[: getattr(self, n)].copy() for name, n in _BY_ID.items()},
            **{f"latest.{k}": v.copy() for k, v in self.latest.items()},
        }
        return arrays

    def settings(self) -> dict[str, Any]:
        """The JSON-able settings :meth:`from_state` needs besides the arrays."""
        return {
            "version": 1,
            "tick_seconds": self.tick_seconds,
            "start": self.start.isoformat(),
            "state_names": list(self.state_names),
            "profile_names": list(self.profile_names),
            "latest_n": self.latest_n,
        }

    @classmethod
    def from_state(cls, arrays: dict[str, NDArray[Any]], meta: dict[str, Any]) -> Metrics:
        """Rebuild metrics saved by :meth:`state_arrays`."""
        m = cls(
            meta["tick_seconds"],
            dt.datetime.fromisoformat(meta["start"]),
            meta["state_names"],
            meta["profile_names"],
            meta["latest_n"],
        )
        m.load_state(arrays)
        return m

    def load_state(self, arrays: dict[str, NDArray[Any]]) -> None:
        """Replace every number with ``arrays`` (as returned by :meth:`state_arrays`)."""
        m = self
        for name in (*_HOURLY, *_PER_KIND, *_BY_ID):
            setattr(m, name, np.array(arrays[name], dtype=getattr(m, name).dtype))
        n_latest = len(arrays["latest.seq"])
        m._latest = {  # snapshots from before the ref column have none: -1
            name: np.array(arrays.get(f"latest.{name}", np.full(n_latest, -1)), dtype=dtype)
            for name, dtype in LATEST_FIELDS
        }
        m._recent.clear()
        m._recent_n = 0
        m.n_hours, m.n_users, m.n_posts = len(m.hour_kind), len(m.user_posts), len(m.post_views)

    def equals(self, other: Metrics) -> bool:
        """Same settings and the same numbers."""
        a, ma = self.state_arrays(), self.settings()
        b, mb = other.state_arrays(), other.settings()
        return ma == mb and a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)

    # --- derived views ---------------------------------------------------------------

    def hour_starts(self) -> list[dt.datetime]:
        """The simulated time at which each hour of the series begins."""
        return [self.start + dt.timedelta(hours=h) for h in range(self.n_hours)]

    def users_by_hour(self) -> NDArray[np.int64]:
        """Users signed up by the end of each hour."""
        return np.cumsum(self.hour_kind[: self.n_hours, ActionKind.SIGN_UP])

    def actions_by_hour(self) -> NDArray[np.int64]:
        """Actions by kind in each hour, shape ``(hours, kinds)``."""
        return self.hour_kind[: self.n_hours]

    def latency_by_hour(self, percents: Sequence[float] = (50, 90, 99)) -> NDArray[np.float64]:
        """Latency percentiles (all endpoints) in each hour, NaN where none; ``(hours, len(percents))``."""
        return percentiles(self.hour_latency[: self.n_hours], percents)

    def day_shape(self) -> dict[str, NDArray[np.float64]]:
        """By hour of the day: mean users in each state, and mean actions per hour (weekday, weekend)."""
        hours = np.arange(self.n_hours)
        base = self.start.weekday() * 24 + self.start.hour
        week_hour = (base + hours) % (7 * 24)
        hod = week_hour % 24
        weekend = week_hour >= 5 * 24
        acts = self.hour_kind[: self.n_hours].sum(axis=1) - self.hour_kind[: self.n_hours, 0]
        out: dict[str, NDArray[np.float64]] = {}
        sampled = self.hour_samples[: self.n_hours]
        s_sum = np.zeros((24, len(self.state_names)))
        np.add.at(s_sum, hod, self.hour_states[: self.n_hours])
        s_n = np.bincount(hod, weights=sampled, minlength=24)
        out["users_by_state"] = np.divide(
            s_sum, s_n[:, None], out=np.zeros_like(s_sum), where=s_n[:, None] > 0
        )
        for name, mask in (("weekday", ~weekend), ("weekend", weekend)):
            total = np.bincount(hod[mask], weights=acts[mask], minlength=24)
            seen = np.bincount(hod[mask], minlength=24)
            out[f"actions_{name}"] = np.divide(total, seen, out=np.zeros(24), where=seen > 0)
        return out

    def endpoint_stats(self) -> list[dict[str, Any]]:
        """Per endpoint (action kind) and for all together: count, failures, latency figures."""
        rows: list[dict[str, Any]] = []
        status_totals = self.kind_status.sum(axis=1)
        fails = self.kind_status[:, 0] + self.kind_status[:, 400:].sum(axis=1)
        table = np.vstack([self.kind_latency, self.kind_latency.sum(axis=0)])
        lo = np.append(self.kind_lat_min, self.kind_lat_min.min())
        hi = np.append(self.kind_lat_max, self.kind_lat_max.max())
        pct = percentiles(table, PERCENTS, lo, hi)
        sums = np.append(self.kind_lat_sum_us, self.kind_lat_sum_us.sum())
        counts = table.sum(axis=1)
        for i in range(N_KINDS + 1):
            name = KIND_NAMES[i] if i < N_KINDS else "all"
            n = int(status_totals[i]) if i < N_KINDS else int(status_totals.sum())
            failed = int(fails[i]) if i < N_KINDS else int(fails.sum())
            rows.append(
                {
                    "endpoint": name,
                    "method": METHODS[i] if i < N_KINDS else "",
                    "path": PATHS[i] if i < N_KINDS else "",
                    "count": n,
                    "failures": failed,
                    "error_rate": failed / n if n else 0.0,
                    "mean_ms": _num(sums[i] / 1000.0 / counts[i]) if counts[i] else None,
                    **{f"p{q:g}_ms": _num(pct[i, j]) for j, q in enumerate(PERCENTS)},
                    "max_ms": _num(hi[i]) if counts[i] else None,
                }
            )
        return rows

    def failures(self) -> dict[str, dict[str, int]]:
        """Failures by endpoint: ``{"read_post": {"404": 3, "timeout": 1}}`` (only non-empty)."""
        out: dict[str, dict[str, int]] = {}
        for k in range(N_KINDS):
            row: dict[str, int] = {}
            bad = np.flatnonzero(self.kind_status[k, 400:]) + 400
            for code in bad.tolist():
                row[str(code)] = int(self.kind_status[k, code])
            for e in np.flatnonzero(self.kind_error[k]).tolist():
                if e != ErrorKind.NONE:
                    row[ERROR_NAMES[e]] = int(self.kind_error[k, e])
            if self.kind_status[k, 0] and not any(self.kind_error[k, 1:]):
                row["no_response"] = int(self.kind_status[k, 0])
            if row:
                out[KIND_NAMES[k]] = row
        return out

    def top_posters(self, n: int = 10) -> list[dict[str, int]]:
        """The ``n`` users with the most posts (ties: lower id first)."""
        posts = self.user_posts[: self.n_users]
        order = np.lexsort((np.arange(len(posts)), -posts))[:n]
        return [{"user": int(u), "posts": int(posts[u])} for u in order if posts[u] > 0]

    def top_posts(self, n: int = 10) -> list[dict[str, int]]:
        """The ``n`` most viewed posts with their authors (-1 if unknown)."""
        views = self.post_views[: self.n_posts]
        order = np.lexsort((np.arange(len(views)), -views))[:n]
        return [
            {"post": int(p), "views": int(views[p]), "author": int(self.post_author[p])}
            for p in order
            if views[p] > 0
        ]

    def latest_actions(self) -> list[dict[str, Any]]:
        """The latest actions, oldest first, as plain records."""
        latest = self.latest
        cols = {k: v.tolist() for k, v in latest.items()}
        paths = action_paths(latest["kind"], latest["post"], latest["ref"])
        out: list[dict[str, Any]] = []
        for i in range(len(self.latest["seq"])):
            k, post = cols["kind"][i], cols["post"][i]
            when = self.start + dt.timedelta(
                seconds=cols["tick"][i] * self.tick_seconds, milliseconds=cols["offset_ms"][i]
            )
            out.append(
                {
                    "seq": cols["seq"][i],
                    "tick": cols["tick"][i],
                    "time": when.isoformat(timespec="milliseconds"),
                    "user": cols["user"][i],
                    "profile": _name(self.profile_names, cols["profile"][i]),
                    "state": _name(self.state_names, cols["state"][i]),
                    "action": KIND_NAMES[k],
                    "method": METHODS[k],
                    "path": paths[i],
                    "post": post if post >= 0 else None,
                    "ref": cols["ref"][i] if cols["ref"][i] >= 0 else None,
                    "status": cols["status"][i],
                    "latency_ms": round(cols["latency_ms"][i], 3),
                    "attempts": cols["attempts"][i],
                    "error": None if cols["error"][i] == 0 else ERROR_NAMES[cols["error"][i]],
                }
            )
        return out

    def totals(self) -> dict[str, Any]:
        """Headline numbers: actions, failures, error rate, actions per simulated hour."""
        actions = int(self.hour_kind[: self.n_hours].sum())
        failed = int(self.hour_failed[: self.n_hours].sum())
        return {
            "hours": self.n_hours,
            "actions": actions,
            "failures": failed,
            "error_rate": failed / actions if actions else 0.0,
            "actions_per_hour": actions / self.n_hours if self.n_hours else 0.0,
            "users": int(self.users_by_hour()[-1]) if self.n_hours else 0,
            "posts": int(self.user_posts[: self.n_users].sum()),
        }

    def summary(self, top: int = 10) -> dict[str, Any]:
        """Everything for summary.json."""
        return {
            **self.totals(),
            "endpoints": self.endpoint_stats(),
            "failures_by_endpoint": self.failures(),
            "top_posters": self.top_posters(top),
            "top_posts": self.top_posts(top),
        }


def _num(x: float) -> float | None:
    return None if not math.isfinite(float(x)) else round(float(x), 3)


def _name(names: tuple[str, ...], i: int) -> str:
    return names[i] if i < len(names) else str(i)
