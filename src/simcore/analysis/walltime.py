"""A run's numbers over real (wall-clock) time, from when each action was sent (``Outcomes.sent_at``).

Per wall-clock bucket and endpoint (action kind): actions sent, failures, and a
coarse latency histogram (:data:`GROUP` buckets of :mod:`~simcore.analysis.histogram`
in one, so percentiles are within ``GROUP``/2 of its 1.5 % steps: about 6 %); per
bucket, the users in a session (a gauge sampled as batches are written, kept as
a sum and a count of samples, so a bucket shows their mean).

Buckets are whole seconds at first and double in width whenever the run's span
would need more than :data:`MAX_BUCKETS`, so memory stays flat however long a
run lasts. They are aligned on multiples of their width since the epoch, which
makes the series canonical: its width is the smallest that fits the span between
the first and last send, whatever order batches came in. Two series therefore
merge exactly (:func:`merge`): both are brought to the wider width, added, and
widened again if the union needs it. The one number that does not merge across
shards of users is the session gauge (two shards' samples would count as twice
as many samples of half the users); across parts of a run in time it is exact.

Saved (:meth:`WallSeries.arrays`), the latency histograms are sparse: most
(bucket, kind, latency) cells are empty, so a snapshot carries only the others.

Actions without a send time (``sent_at`` 0: the mock, or actions skipped before
sending) are left out: a run on the mock has no wall-time series at all.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from simcore.analysis.histogram import N_BUCKETS, bucket_value, nearest_rank

#: Fine latency buckets per coarse one (the 1.5 % steps of the histogram, eight at a time).
GROUP = 8
N_COARSE = -(-N_BUCKETS // GROUP)
#: At most this many buckets over the run; the width doubles when more would be needed.
MAX_BUCKETS = 400


#: Actions held back before they are added to the arrays in one go (scattered adds cost per
#: call as much as per action on small batches); reading the series adds them first.
PENDING_ACTIONS = 50_000


class WallSeries:
    """Per wall-clock bucket: actions, failures and coarse latency per kind; users in a session."""

    def __init__(self, n_kinds: int) -> None:
        self.n_kinds = n_kinds
        self._width = 1  # seconds per bucket (a power of two)
        self._first = 0  # the first bucket, in widths since the epoch
        # the series' arrays are the first _n buckets of these buffers (which keep room for more)
        self._buffers: dict[str, NDArray[np.int64]] = {}
        self._n = 0
        # (send second, kind, failed, coarse latency bucket) of actions not yet added
        self._pending: list[
            tuple[NDArray[np.int64], NDArray[np.intp], NDArray[np.bool_], NDArray[np.intp]]
        ] = []
        self._pending_n = 0
        self._pending_sessions: list[tuple[int, int]] = []
        self.load({})

    # --- what it holds (each read first adds the actions held back) ---------------------

    def _view(self, name: str) -> NDArray[np.int64]:
        self._flush()
        return self._buffers[name][: self._n]

    @property
    def width(self) -> int:
        """Seconds per bucket (a power of two)."""
        self._flush()
        return self._width

    @property
    def first(self) -> int:
        """The first bucket, in widths since the epoch."""
        self._flush()
        return self._first

    @property
    def n(self) -> int:
        """Buckets held (0: no action had a send time)."""
        self._flush()
        return self._n

    @property
    def sent(self) -> NDArray[np.int64]:
        """Actions sent, ``(bucket, kind)``."""
        return self._view("sent")

    @property
    def failed(self) -> NDArray[np.int64]:
        """Failed actions, ``(bucket, kind)``."""
        return self._view("failed")

    @property
    def latency(self) -> NDArray[np.int64]:
        """Coarse latency histograms, ``(bucket, kind, N_COARSE)``."""
        return self._view("latency")

    @property
    def sessions(self) -> NDArray[np.int64]:
        """The sum of the users-in-a-session samples of each bucket."""
        return self._view("sessions")

    @property
    def session_samples(self) -> NDArray[np.int64]:
        """How many users-in-a-session samples each bucket has."""
        return self._view("session_samples")

    def starts(self) -> NDArray[np.int64]:
        """Each bucket's start, in seconds since the epoch (UTC)."""
        return (self.first + np.arange(self.n, dtype=np.int64)) * self.width

    # --- accounting -------------------------------------------------------------------

    def add(
        self,
        sent_at_ms: NDArray[np.int64],
        kind: NDArray[np.intp],
        failed: NDArray[np.bool_],
        latency_bucket: NDArray[np.intp],
    ) -> int | None:
        """Count the actions with a send time; returns the last send second (epoch), None when
        none had one. ``latency_bucket``: the histogram bucket of each action's latency."""
        timed = sent_at_ms > 0
        if timed.all():
            second, kind, failed, coarse = sent_at_ms // 1000, kind, failed, latency_bucket // GROUP
        else:
            rows = np.flatnonzero(timed)
            if not len(rows):
                return None
            second, kind, failed = sent_at_ms[rows] // 1000, kind[rows], failed[rows]
            coarse = latency_bucket[rows] // GROUP
        self._pending.append((second, kind, failed, coarse))
        self._pending_n += len(second)
        if self._pending_n >= PENDING_ACTIONS:
            self._flush()
        return int(second.max())

    def sample_sessions(self, second: int, in_session: int) -> None:
        """Record the users in a session at ``second`` (epoch seconds, within the span sent in)."""
        self._pending_sessions.append((second, in_session))

    def _flush(self) -> None:
        """Add the actions and samples held back."""
        if not (self._pending or self._pending_sessions):
            return
        parts, samples = self._pending, self._pending_sessions
        self._pending, self._pending_n, self._pending_sessions = [], 0, []
        second = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
        at = np.array([s for s, _ in samples], np.int64)
        ends = np.concatenate([second, at])
        self._cover(int(ends.min()), int(ends.max()))
        k, n, buffers = self.n_kinds, self._n, self._buffers
        if parts:
            kind = np.concatenate([p[1] for p in parts])
            failed = np.concatenate([p[2] for p in parts])
            coarse = np.concatenate([p[3] for p in parts])
            cell = (second // self._width - self._first) * k + kind
            # dense counts by bincount: far cheaper per action than scattered adds
            buffers["sent"][:n] += np.bincount(cell, minlength=n * k).reshape(n, k)
            buffers["failed"][:n] += np.bincount(cell[failed], minlength=n * k).reshape(n, k)
            latency = np.bincount(cell * N_COARSE + coarse, minlength=n * k * N_COARSE)
            buffers["latency"][:n] += latency.reshape(n, k, N_COARSE)
        if samples:
            b = at // self._width - self._first
            np.add.at(buffers["sessions"], b, np.array([c for _, c in samples], np.int64))
            np.add.at(buffers["session_samples"], b, 1)

    def _cover(self, lo: int, hi: int) -> None:
        """Make the buckets reach seconds ``lo`` .. ``hi``, widening them if the span needs it."""
        n, width, first = self._n, self._width, self._first
        if n:
            if lo >= first * width and hi < (first + n) * width:
                return
            lo, hi = min(lo, first * width), max(hi, (first + n) * width - 1)
        while hi // width - lo // width + 1 > MAX_BUCKETS:
            width *= 2
        need = hi // width - lo // width + 1
        if n and width == self._width and lo // width == first and need <= len(self._buffers["sent"]):
            self._set(width, first, self._buffers, need)  # a later second, within the room kept
            return
        arrays = _widen(self._arrays(), width) if n else None
        first, room = lo // width, min(MAX_BUCKETS, max(2 * need, 16))
        out = {name: np.zeros((room, *shape), np.int64) for name, shape in self._shapes().items()}
        if arrays is not None:
            at = int(arrays["span"][1]) - first
            for name in out:
                out[name][at : at + len(arrays[name])] = arrays[name]
        self._set(width, first, out, need)

    # --- state --------------------------------------------------------------------------

    def arrays(self) -> dict[str, NDArray[np.int64]]:
        """The series as named arrays, for snapshots and metrics.npz: ``span`` = [width, first],
        the per-bucket arrays, and the latency histograms sparse (``latency_at``: flat
        indices of the non-zero cells, ``latency_count``: their counts), since most are empty."""
        self._flush()
        dense = self._arrays()
        flat = dense.pop("latency").reshape(-1)
        at = np.flatnonzero(flat)
        return {**dense, "latency_at": at.astype(np.int64), "latency_count": flat[at]}

    def _arrays(self) -> dict[str, NDArray[np.int64]]:
        return {
            "span": np.array([self._width, self._first], np.int64),
            **{name: self._buffers[name][: self._n].copy() for name in self._shapes()},
        }

    def load(self, arrays: dict[str, NDArray[Any]]) -> None:
        """Replace the series with ``arrays`` (from :meth:`arrays`; missing: an empty series)."""
        self._pending, self._pending_n, self._pending_sessions = [], 0, []
        if "span" not in arrays:
            self._set(1, 0, {name: np.zeros((0, *s), np.int64) for name, s in self._shapes().items()}, 0)
            return
        width, first = (int(v) for v in arrays["span"])
        loaded = {name: np.array(arrays[name], np.int64) for name in self._shapes() if name != "latency"}
        n = len(loaded["sent"])
        if "latency" in arrays:  # dense, as _arrays() holds them
            loaded["latency"] = np.array(arrays["latency"], np.int64)
        else:
            latency = np.zeros(n * self.n_kinds * N_COARSE, np.int64)
            latency[np.asarray(arrays["latency_at"], np.int64)] = arrays["latency_count"]
            loaded["latency"] = latency.reshape(n, self.n_kinds, N_COARSE)
        self._set(width, first, loaded, n)

    def _shapes(self) -> dict[str, tuple[int, ...]]:
        k = self.n_kinds
        return {
            "sent": (k,),
            "failed": (k,),
            "latency": (k, N_COARSE),
            "sessions": (),
            "session_samples": (),
        }

    def _set(self, width: int, first: int, buffers: dict[str, NDArray[np.int64]], n: int) -> None:
        """Hold ``buffers`` (room for later buckets), of which the first ``n`` buckets count."""
        self._width, self._first, self._buffers, self._n = width, first, buffers, n

    # --- views --------------------------------------------------------------------------

    def latency_percentiles(
        self, percents: tuple[float, ...], kind: int | None = None
    ) -> NDArray[np.float64]:
        """Latency percentiles per bucket (all kinds, or one), ``(buckets, len(percents))``; NaN where none."""
        counts = self.latency.sum(axis=1) if kind is None else self.latency[:, kind]
        return coarse_percentiles(counts, percents)

    def users_in_session(self) -> NDArray[np.float64]:
        """Mean users in a session per bucket (NaN where never sampled)."""
        out = np.full(self.n, np.nan)
        seen = self.session_samples > 0
        out[seen] = self.sessions[seen] / self.session_samples[seen]
        return out


def coarse_percentiles(counts: NDArray[np.int64], percents: tuple[float, ...]) -> NDArray[np.float64]:
    """Nearest-rank percentiles of coarse histograms ``(..., N_COARSE)``, each as its bucket's
    geometric middle; NaN where a histogram is empty."""
    cum = np.cumsum(counts, axis=-1)
    total = cum[..., -1]
    out = np.empty((*total.shape, len(percents)))
    for j, q in enumerate(percents):
        idx = np.argmax(cum >= nearest_rank(total, q)[..., None], axis=-1)
        out[..., j] = coarse_value(idx)
    out[total == 0] = np.nan
    return out


def coarse_value(index: NDArray[Any]) -> NDArray[np.float64]:
    """The representative latency (ms) of each coarse bucket: the middle of its fine buckets."""
    return bucket_value(np.asarray(index) * GROUP + (GROUP + 1) / 2)


def merge(
    a: dict[str, NDArray[Any]], b: dict[str, NDArray[Any]], n_kinds: int
) -> dict[str, NDArray[Any]]:
    """The series of both runs' actions together (arrays as :meth:`WallSeries.arrays` returns them)."""
    out = WallSeries(n_kinds)
    sides = []
    for state in (a, b):
        if "span" in state and len(state["sent"]):
            out.load(state)
            sides.append(out._arrays())  # with dense latency histograms
    if not sides:
        return out.arrays()
    # at the wider of the two widths, bucket edges stand for the first and last sends exactly
    width = max(int(s["span"][0]) for s in sides)
    sides = [_widen(s, width) for s in sides]
    out.load(sides[0])
    for side in sides[1:]:
        first, n = int(side["span"][1]), len(side["sent"])
        out._cover(first * width, (first + n) * width - 1)
        side = _widen(side, out.width)
        at = int(side["span"][1]) - out.first
        for name in out._shapes():
            out._view(name)[at : at + len(side[name])] += side[name]
    return out.arrays()


def _widen(arrays: dict[str, NDArray[Any]], width: int) -> dict[str, NDArray[Any]]:
    """``arrays`` with buckets ``width`` seconds wide (a power-of-two multiple of theirs)."""
    w, first = (int(v) for v in arrays["span"])
    out = dict(arrays)
    while w < width:
        odd = first % 2  # an odd first bucket pairs with the (empty) one before it
        for name, value in out.items():
            if name == "span":
                continue
            rows = odd + len(value)
            padded = np.zeros((rows + rows % 2, *value.shape[1:]), value.dtype)
            padded[odd : odd + len(value)] = value
            out[name] = padded.reshape(-1, 2, *value.shape[1:]).sum(axis=1)
        w, first = w * 2, first // 2
    out["span"] = np.array([w, first], np.int64)
    return out
