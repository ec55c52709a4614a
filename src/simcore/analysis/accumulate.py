"""Accounting for one batch of actions and their outcomes in a run's :class:`MetricTables`.

Vectorised: scattered adds (``ufunc.at``) cost per action, not per table cell, since
batches are often small. A failure is an action answered with status 0 (no response)
or >= 400; skipped actions (never sent) have no latency. Outcomes that record real
requests (:attr:`~simcore.seam.contract.Outcomes.real`) also add their answers' sizes
and the wall-time series (:mod:`simcore.analysis.walltime`).
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


def account(tables: MetricTables, batch: ActionBatch, outcomes: Outcomes, hour: int) -> int | None:
    """Add a non-empty ``batch`` (in simulated ``hour``) to every table; returns its last
    send second (epoch), None when no action has a send time."""
    kind = batch.kind.astype(np.intp)
    by_kind = np.bincount(kind, minlength=tables.n_kinds)
    if outcomes.real:
        tables.sent_requests = True
    tables.hour_kind[hour] += by_kind
    failed = outcomes.failed()
    buckets = _account_answers(tables, kind, by_kind, outcomes, failed, hour)
    _account_posts(tables, batch, outcomes, kind, by_kind)
    tables.recent.add(batch, outcomes)
    if not outcomes.real:
        return None
    size = outcomes.response_bytes
    if len(size) == len(kind):
        answered = size >= 0
        n_kinds = tables.n_kinds
        tables.kind_bytes_sum += np.bincount(kind, np.where(answered, size, 0), n_kinds).astype(np.int64)
        tables.kind_bytes_n += np.bincount(kind[answered], minlength=n_kinds)
    return tables.wall.add(outcomes.sent_at, kind, failed, buckets)


def _account_answers(
    tables: MetricTables,
    kind: NDArray[np.intp],
    by_kind: NDArray[np.int64],
    outcomes: Outcomes,
    failed: NDArray[np.bool_],
    hour: int,
) -> NDArray[np.intp]:
    """Statuses, failures, errors and latencies, per endpoint and per hour; returns each
    action's latency bucket (:func:`~simcore.analysis.histogram.bucket_of`)."""
    status = outcomes.status.astype(np.intp)
    np.add.at(
        tables.kind_status.reshape(-1),
        kind * N_STATUS + np.minimum(np.maximum(status, 0), N_STATUS - 1),
        1,
    )
    tables.hour_failed[hour] += int(np.count_nonzero(failed))
    error = outcomes.error
    lat = outcomes.latency_ms.astype(np.float64)
    every = bucket_of(lat)
    k, buckets = kind, every
    if error.any():
        np.add.at(tables.kind_error.reshape(-1), kind * N_ERRORS + error, 1)
        sent = error != _SKIPPED  # skipped actions were never sent: no latency
        lat, k, buckets = lat[sent], kind[sent], every[sent]
    else:
        tables.kind_error[:, 0] += by_kind
    if len(lat):
        np.add.at(tables.kind_latency.reshape(-1), k * N_BUCKETS + buckets, 1)
        np.add.at(tables.hour_latency[hour], buckets, 1)
        np.minimum.at(tables.kind_lat_min, k, lat)
        np.maximum.at(tables.kind_lat_max, k, lat)
        np.add.at(tables.kind_lat_sum_us, k, np.rint(lat * 1000.0).astype(np.int64))
    return every


def _account_posts(
    tables: MetricTables,
    batch: ActionBatch,
    outcomes: Outcomes,
    kind: NDArray[np.intp],
    by_kind: NDArray[np.int64],
) -> None:
    """Posts by author (``create_post`` only), every new post's author (reposts and quotes
    too, so a repost among the most viewed has one), and views (``read_post`` answered 2xx)."""
    user, posts = batch.user, batch.post
    tables.grow_ids(int(user.max()) + 1, int(posts.max()) + 1)
    if by_kind[_CREATE]:
        np.add.at(tables.user_posts, user[kind == _CREATE], 1)
    makes_post = tables.makes_post
    if by_kind[makes_post].any():
        new = np.flatnonzero(makes_post[kind] & (posts >= 0))
        tables.post_author[posts[new]] = user[new]
    if by_kind[_READ]:
        status = outcomes.status
        served = (kind == _READ) & (status >= 200) & (status < 300) & (posts >= 0)
        np.add.at(tables.post_views, posts[served], 1)
