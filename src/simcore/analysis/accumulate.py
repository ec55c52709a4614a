"""Accounting for one batch of actions and their outcomes in a run's :class:`MetricTables`.

Vectorised: scattered adds (``ufunc.at``) cost per action, not per table cell, since
batches are often small. A failure is an action answered with status 0 (no response)
or >= 400; skipped actions (never sent) have no latency.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from simcore.analysis.histogram import N_BUCKETS, bucket_of
from simcore.analysis.tables import N_ERRORS, N_STATUS, MetricTables
from simcore.core.actions import ActionBatch
from simcore.scenario.kinds import ActionKind
from simcore.seam.contract import ErrorKind, Outcomes

_CREATE = int(ActionKind.CREATE_POST)
_READ = int(ActionKind.READ_POST)
_SKIPPED = int(ErrorKind.SKIPPED)


def account(tables: MetricTables, batch: ActionBatch, outcomes: Outcomes, hour: int) -> None:
    """Add a non-empty ``batch`` (in simulated ``hour``) to every table."""
    kind = batch.kind.astype(np.intp)
    by_kind = np.bincount(kind, minlength=tables.n_kinds)
    if outcomes.real:
        tables.sent_requests = True
    tables.hour_kind[hour] += by_kind
    _account_answers(tables, kind, by_kind, outcomes, hour)
    _account_posts(tables, batch, outcomes, kind, by_kind)
    tables.recent.add(batch, outcomes)


def _account_answers(
    tables: MetricTables,
    kind: NDArray[np.intp],
    by_kind: NDArray[np.int64],
    outcomes: Outcomes,
    hour: int,
) -> None:
    """Statuses, failures, errors and latencies, per endpoint and per hour."""
    status = outcomes.status.astype(np.intp)
    np.add.at(
        tables.kind_status.reshape(-1),
        kind * N_STATUS + np.minimum(np.maximum(status, 0), N_STATUS - 1),
        1,
    )
    tables.hour_failed[hour] += int(np.count_nonzero(outcomes.failed()))
    error = outcomes.error
    lat = outcomes.latency_ms.astype(np.float64)
    k = kind
    if error.any():
        np.add.at(tables.kind_error.reshape(-1), kind * N_ERRORS + error, 1)
        sent = error != _SKIPPED  # skipped actions were never sent: no latency
        lat, k = lat[sent], kind[sent]
    else:
        tables.kind_error[:, 0] += by_kind
    if len(lat):
        buckets = bucket_of(lat)
        np.add.at(tables.kind_latency.reshape(-1), k * N_BUCKETS + buckets, 1)
        np.add.at(tables.hour_latency[hour], buckets, 1)
        np.minimum.at(tables.kind_lat_min, k, lat)
        np.maximum.at(tables.kind_lat_max, k, lat)
        np.add.at(tables.kind_lat_sum_us, k, np.rint(lat * 1000.0).astype(np.int64))


def _account_posts(
    tables: MetricTables,
    batch: ActionBatch,
    outcomes: Outcomes,
    kind: NDArray[np.intp],
    by_kind: NDArray[np.int64],
) -> None:
    """Posts by author, and views (``read_post`` answered 2xx) by post."""
    user, posts = batch.user, batch.post
    tables.grow_ids(int(user.max()) + 1, int(posts.max()) + 1)
    if by_kind[_CREATE]:
        creates = np.flatnonzero(kind == _CREATE)
        np.add.at(tables.user_posts, user[creates], 1)
        new = posts[creates]
        ok = new >= 0
        tables.post_author[new[ok]] = user[creates][ok]
    if by_kind[_READ]:
        status = outcomes.status
        served = (kind == _READ) & (status >= 200) & (status < 300) & (posts >= 0)
        np.add.at(tables.post_views, posts[served], 1)
