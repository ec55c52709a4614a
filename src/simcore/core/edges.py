"""A set of directed (source, destination) pairs as sorted int64 keys, growing without a Python loop.

A pair is the key ``source << 32 | destination``, so sorted keys group each
source's destinations together (a CSR without the offsets array: a source's
range is found by binary search). New keys go into a small sorted buffer,
merged into the main array when the buffer outgrows a fraction of it, so an
insert costs about the buffer's size, not the whole set's. Used for likes
(user, post) and for the follow graph (follower, followee).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

_SHIFT = np.int64(32)
_LOW = np.int64(0xFFFFFFFF)


def edge_keys(
    source: NDArray[np.integer[Any]], destination: NDArray[np.integer[Any]]
) -> NDArray[np.int64]:
    """The key of each (source, destination) pair."""
    keys: NDArray[np.int64] = (source.astype(np.int64) << _SHIFT) | destination.astype(np.int64)
    return keys


def sorted_unique(values: NDArray[np.int64]) -> NDArray[np.int64]:
    """``np.unique`` for int64 arrays by sorting (much faster than numpy's hashing path
    on the small arrays of one tick)."""
    out = np.sort(values)
    if len(out) > 1:
        out = out[np.concatenate(([True], out[1:] != out[:-1]))]
    return out


def _positions(sorted_keys: NDArray[np.int64], keys: NDArray[np.int64]) -> NDArray[np.intp]:
    """``np.searchsorted(sorted_keys, keys)``, with the queries sorted first when there are
    many (sorted queries walk the array in order: far fewer cache misses)."""
    if len(keys) < 256 or len(sorted_keys) < 65_536:
        return np.searchsorted(sorted_keys, keys)
    order = np.argsort(keys, kind="stable")
    where = np.empty(len(keys), dtype=np.intp)
    where[order] = np.searchsorted(sorted_keys, keys[order])
    return where


def _contains(sorted_keys: NDArray[np.int64], keys: NDArray[np.int64]) -> NDArray[np.bool_]:
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    where = np.minimum(_positions(sorted_keys, keys), len(sorted_keys) - 1)
    found: NDArray[np.bool_] = sorted_keys[where] == keys
    return found


def _without(sorted_keys: NDArray[np.int64], gone: NDArray[np.int64]) -> NDArray[np.int64]:
    """``sorted_keys`` minus the (sorted) keys ``gone`` that it holds."""
    if len(sorted_keys) == 0 or len(gone) == 0:
        return sorted_keys
    where = np.minimum(np.searchsorted(sorted_keys, gone), len(sorted_keys) - 1)
    kept: NDArray[np.int64] = np.delete(sorted_keys, where[sorted_keys[where] == gone])
    return kept


class EdgeSet:
    """Sorted unique pair keys: a main array and a small sorted buffer."""

    def __init__(self, keys: NDArray[np.int64] | None = None, indexed: bool = False) -> None:
        self.main: NDArray[np.int64] = np.zeros(0, np.int64) if keys is None else np.unique(keys)
        self.buffer: NDArray[np.int64] = np.zeros(0, np.int64)
        # indexed: per-source offsets into a large main array (a CSR index), rebuilt when
        # the main array changes; worth it for sets that rarely lose keys (likes)
        self.indexed = indexed
        self._offsets: NDArray[np.int64] = np.zeros(1, np.int64)
        self._offsets_of: NDArray[np.int64] | None = None

    def __len__(self) -> int:
        return len(self.main) + len(self.buffer)

    def contains(self, keys: NDArray[np.int64]) -> NDArray[np.bool_]:
        """Which keys are in the set."""
        if self.indexed and len(self.main) >= 65_536:
            in_main = self._contains_indexed(keys)
        else:
            in_main = _contains(self.main, keys)
        return in_main | _contains(self.buffer, keys)

    def _contains_indexed(self, keys: NDArray[np.int64]) -> NDArray[np.bool_]:
        """Membership in the main array through per-source offsets: a source's few keys are
        compared directly (one or two cache lines) instead of binary-searching millions."""
        main = self.main
        if self._offsets_of is not main:
            sources = int(main[-1] >> _SHIFT) + 1
            self._offsets = np.searchsorted(main, np.arange(sources + 1, dtype=np.int64) << _SHIFT)
            self._offsets_of = main
        offsets = self._offsets
        src = keys >> _SHIFT
        known = (src >= 0) & (src < len(offsets) - 1)
        lo = np.zeros(len(keys), dtype=np.int64)
        hi = np.zeros(len(keys), dtype=np.int64)
        lo[known] = offsets[src[known]]
        hi[known] = offsets[src[known] + 1]
        count = hi - lo
        found = np.zeros(len(keys), dtype=bool)
        width = 8
        few = np.flatnonzero((count > 0) & (count <= width))
        if len(few):
            step = np.arange(width)
            pos = np.minimum(lo[few, None] + step, len(main) - 1)
            hit = (main[pos] == keys[few, None]) & (step < count[few, None])
            found[few] = hit.any(axis=1)
        many = np.flatnonzero(count > width)
        if len(many):
            found[many] = _contains(main, keys[many])
        return found

    def add(self, keys: NDArray[np.int64], checked: bool = False) -> NDArray[np.int64]:
        """Insert the keys not already present; return the ones actually inserted (sorted).

        ``checked``: the caller knows the keys are absent and distinct (skips the lookup).
        """
        new = np.sort(keys) if checked else sorted_unique(keys)
        if not checked:
            new = new[~self.contains(new)]
        if len(new):
            self.buffer = np.insert(self.buffer, np.searchsorted(self.buffer, new), new)
            if len(self.buffer) > max(4096, len(self.main) // 8):
                self.main = np.insert(self.main, np.searchsorted(self.main, self.buffer), self.buffer)
                self.buffer = np.zeros(0, np.int64)
        return new

    def remove(self, keys: NDArray[np.int64]) -> NDArray[np.int64]:
        """Delete the keys that are present; return the ones actually removed (sorted)."""
        gone = sorted_unique(keys)
        gone = gone[self.contains(gone)]
        if len(gone):
            self.main = _without(self.main, gone)
            self.buffer = _without(self.buffer, gone)
        return gone

    def out_ranges(
        self, sources: NDArray[np.int64]
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        """For each source, its key ranges ``[lo, hi)`` in the main array and in the buffer."""
        first = sources.astype(np.int64) << _SHIFT
        last = (sources.astype(np.int64) + 1) << _SHIFT
        lo_m = np.searchsorted(self.main, first).astype(np.int64)
        hi_m = np.searchsorted(self.main, last).astype(np.int64)
        lo_b = np.searchsorted(self.buffer, first).astype(np.int64)
        hi_b = np.searchsorted(self.buffer, last).astype(np.int64)
        return lo_m, hi_m, lo_b, hi_b

    def nth_destination(self, sources: NDArray[np.int64], u: NDArray[np.float64]) -> NDArray[np.int64]:
        """A destination of each source, the one at fraction ``u`` of its list; -1 if it has none."""
        lo_m, hi_m, lo_b, hi_b = self.out_ranges(sources)
        n_m, n_b = hi_m - lo_m, hi_b - lo_b
        total = n_m + n_b
        k = np.minimum((u * total).astype(np.int64), np.maximum(total - 1, 0))
        out = np.full(len(sources), -1, dtype=np.int64)
        in_main = (total > 0) & (k < n_m)
        in_buf = (total > 0) & ~in_main
        out[in_main] = self.main[lo_m[in_main] + k[in_main]] & _LOW
        out[in_buf] = self.buffer[lo_b[in_buf] + k[in_buf] - n_m[in_buf]] & _LOW
        return out

    def any_destination(self, u: NDArray[np.float64]) -> NDArray[np.int64]:
        """The destination of a uniformly drawn pair for each ``u``; -1 if the set is empty.

        Drawing a pair uniformly draws a destination in proportion to its in-degree.
        """
        total = len(self)
        if total == 0:
            return np.full(len(u), -1, dtype=np.int64)
        k = np.minimum((u * total).astype(np.int64), total - 1)
        n_m = len(self.main)
        picked = np.where(k < n_m, self.main[np.minimum(k, max(n_m - 1, 0))] if n_m else 0, 0)
        if len(self.buffer):
            picked = np.where(k >= n_m, self.buffer[np.clip(k - n_m, 0, len(self.buffer) - 1)], picked)
        result: NDArray[np.int64] = picked & _LOW
        return result

    def keys(self) -> NDArray[np.int64]:
        """Every key, sorted (a new array)."""
        if len(self.buffer) == 0:
            copied: NDArray[np.int64] = self.main.copy()
            return copied
        merged: NDArray[np.int64] = np.insert(
            self.main, np.searchsorted(self.main, self.buffer), self.buffer
        )
        return merged

    def pairs(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Every (source, destination) pair as two arrays, sorted by source then destination."""
        keys = self.keys()
        return keys >> _SHIFT, keys & _LOW

    def arrays(self) -> dict[str, NDArray[np.int64]]:
        """The main array and the buffer as they are (picks index into both, so a snapshot
        keeps the split)."""
        return {"main": self.main, "buffer": self.buffer}

    def load(self, arrays: dict[str, NDArray[Any]]) -> None:
        """Replace the contents with ``arrays`` (as returned by :meth:`arrays`)."""
        self.main = np.asarray(arrays["main"], dtype=np.int64).copy()
        self.buffer = np.asarray(arrays["buffer"], dtype=np.int64).copy()
