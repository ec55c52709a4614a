"""A mergeable, log-bucketed latency histogram (HDR-style) with percentiles within 0.75 %.

Values are milliseconds. Bucket 0 holds ``[0, LOWEST_MS)``; bucket ``i >= 1`` holds
``[LOWEST_MS * GROWTH**(i-1), LOWEST_MS * GROWTH**i)``, and values at or above
``HIGHEST_MS`` land in the last, open-ended bucket (reported as the exact maximum). A percentile is reported as the
geometric middle of the bucket holding the nearest-rank value, clipped to the
exact minimum and maximum, so it is within ``sqrt(GROWTH) - 1`` (0.75%) of the
exact nearest-rank percentile (numpy's ``method="inverted_cdf"``) for values
between ``LOWEST_MS`` and ``HIGHEST_MS``, and within ``LOWEST_MS`` below that.

Every histogram has the same buckets, so histograms merge by adding their
counts: that is what lets per-hour, per-endpoint, per-worker and per-part
latencies combine exactly. The bucketing functions work on arrays of any
shape; :class:`LatencyHistogram` wraps one distribution.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: Resolution floor (1 µs) and ceiling (1000 s) of the buckets, in milliseconds.
LOWEST_MS = 1e-3
HIGHEST_MS = 1e6
#: Ratio between consecutive bucket edges.
GROWTH = 1.015
N_BUCKETS = 2 + math.ceil(math.log(HIGHEST_MS / LOWEST_MS) / math.log(GROWTH))
_LOG_GROWTH = math.log(GROWTH)


def bucket_of(values_ms: ArrayLike) -> NDArray[np.intp]:
    """The bucket index of each value (negative and NaN values count as 0)."""
    v = np.asarray(values_ms, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.log(v * (1.0 / LOWEST_MS))
    x *= 1.0 / _LOG_GROWTH
    x += 1.0
    np.fmax(x, 0.0, out=x)  # below the floor, zero, negative or NaN: bucket 0
    np.minimum(x, N_BUCKETS - 2, out=x)
    index = x.astype(np.intp)
    top = v >= HIGHEST_MS
    if top.any():
        index[top] = N_BUCKETS - 1
    return index


def bucket_value(index: ArrayLike) -> NDArray[np.float64]:
    """The representative value (geometric middle) of each bucket; 0 for bucket 0."""
    i = np.asarray(index, dtype=np.float64)
    mid = LOWEST_MS * np.power(GROWTH, i - 0.5)
    return np.where(i <= 0, 0.0, mid)


def nearest_rank(count: ArrayLike, percent: float) -> NDArray[np.int64]:
    """The 1-based rank of the ``percent`` percentile among ``count`` values (numpy's inverted_cdf)."""
    n = np.asarray(count, dtype=np.float64)
    rank = np.ceil(n * (percent / 100.0))
    return np.clip(rank, 1, np.maximum(n, 1)).astype(np.int64)


def percentiles(
    counts: NDArray[np.int64],
    percents: Sequence[float],
    lowest: ArrayLike | None = None,
    highest: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """Percentiles of each histogram in ``counts`` (shape ``(..., N_BUCKETS)``).

    Returns shape ``(..., len(percents))``; NaN where a histogram is empty.
    ``lowest``/``highest`` (the exact extremes, shape ``(...)``) tighten the answer.
    """
    c = np.asarray(counts, dtype=np.int64)
    cum = np.cumsum(c, axis=-1)
    total = cum[..., -1]
    out = np.empty((*total.shape, len(percents)), dtype=np.float64)
    for j, q in enumerate(percents):
        rank = nearest_rank(total, q)
        idx = np.argmax(cum >= rank[..., None], axis=-1)
        # the top bucket is open-ended: its best estimate is the exact maximum, if known
        out[..., j] = np.where(
            idx == N_BUCKETS - 1, np.inf if highest is not None else HIGHEST_MS, bucket_value(idx)
        )
    if lowest is not None:
        out = np.maximum(out, np.asarray(lowest, dtype=np.float64)[..., None])
    if highest is not None:
        out = np.minimum(out, np.asarray(highest, dtype=np.float64)[..., None])
    out[total == 0] = np.nan
    return out


class LatencyHistogram:
    """One latency distribution: bucket counts plus exact count, min, max and sum (µs)."""

    def __init__(self) -> None:
        self.counts = np.zeros(N_BUCKETS, dtype=np.int64)
        self.min_ms = math.inf
        self.max_ms = -math.inf
        self.sum_us = 0  # sum of values rounded to whole microseconds: integer, so merges are exact

    @property
    def count(self) -> int:
        """How many values were added."""
        return int(self.counts.sum())

    def add(self, values_ms: ArrayLike) -> None:
        """Add many values at once."""
        v = np.asarray(values_ms, dtype=np.float64).ravel()
        if len(v) == 0:
            return
        self.counts += np.bincount(bucket_of(v), minlength=N_BUCKETS)
        self.min_ms = min(self.min_ms, float(v.min()))
        self.max_ms = max(self.max_ms, float(v.max()))
        self.sum_us += int(np.rint(v * 1000.0).astype(np.int64).sum())

    def merge(self, other: LatencyHistogram) -> LatencyHistogram:
        """A new histogram holding the values of both."""
        out = LatencyHistogram()
        out.counts = self.counts + other.counts
        out.min_ms = min(self.min_ms, other.min_ms)
        out.max_ms = max(self.max_ms, other.max_ms)
        out.sum_us = self.sum_us + other.sum_us
        return out

    def percentile(self, percent: float) -> float:
        """The nearest-rank ``percent`` percentile (NaN if empty), within 0.75 % of the exact one."""
        return float(self.percentiles([percent])[0])

    def percentiles(self, percents: Sequence[float]) -> NDArray[np.float64]:
        """Several percentiles at once."""
        return percentiles(self.counts, percents, self.min_ms, self.max_ms)

    @property
    def mean_ms(self) -> float:
        """The mean (NaN if empty)."""
        n = self.count
        return self.sum_us / 1000.0 / n if n else math.nan

    def to_dict(self) -> dict[str, Any]:
        """Plain data: sparse counts ``{bucket: count}`` and the exact extremes."""
        nz = np.flatnonzero(self.counts)
        return {
            "buckets": nz.tolist(),
            "counts": self.counts[nz].tolist(),
            "min_ms": self.min_ms if self.count else None,
            "max_ms": self.max_ms if self.count else None,
            "sum_us": self.sum_us,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LatencyHistogram:
        """The inverse of :meth:`to_dict`."""
        out = cls()
        out.counts[np.asarray(data["buckets"], dtype=np.int64)] = np.asarray(data["counts"], np.int64)
        out.min_ms = math.inf if data["min_ms"] is None else float(data["min_ms"])
        out.max_ms = -math.inf if data["max_ms"] is None else float(data["max_ms"])
        out.sum_us = int(data["sum_us"])
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LatencyHistogram):
            return NotImplemented
        return (
            np.array_equal(self.counts, other.counts)
            and self.min_ms == other.min_ms
            and self.max_ms == other.max_ms
            and self.sum_us == other.sum_us
        )

    __hash__ = None  # type: ignore[assignment]
