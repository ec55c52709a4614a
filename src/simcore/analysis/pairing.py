"""Two runs of one action stream, paired action by action: the check that the streams are the same
and the columns of both runs side by side.

A seed gives the same action stream on any backend, so the action with sequence
number *s* in run A is the same request as the one with *s* in run B: comparing
them one by one removes what the requests themselves make vary (a big feed page,
a busy hour) and leaves what the builds changed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from attrs import frozen
from numpy.typing import NDArray

from simcore.logs.read import LogColumns
from simcore.scenario.kinds import KIND_NAMES

#: What makes an action the same action in both runs, in the order a difference is named.
IDENTITY = ("kind", "user", "post", "time_ms")


def _shown(name: str, value: int, kind_names: Sequence[str]) -> str:
    if name == "kind":
        return kind_names[value] if 0 <= value < len(kind_names) else f"kind {value}"
    if name == "post" and value < 0:
        return "none"
    if name == "time_ms":
        return str(np.datetime64(value, "ms"))
    return str(value)


def first_difference(a: LogColumns, b: LogColumns, kind_names: Sequence[str] = KIND_NAMES) -> str | None:
    """None when both logs hold the same actions in the same order; else what differs first,
    named by its sequence number (``seq 812: kind read_post in A, like_post in B``); kinds
    are named by ``kind_names`` (the run's kinds in code order)."""
    n = min(len(a), len(b))
    differs = np.zeros(n, bool)
    for name in ("seq", *IDENTITY):
        differs |= getattr(a, name)[:n] != getattr(b, name)[:n]
    if differs.any():
        i = int(np.argmax(differs))
        seq = int(a.seq[i])
        parts = [
            f"{name} {_shown(name, int(getattr(a, name)[i]), kind_names)} in A, "
            f"{_shown(name, int(getattr(b, name)[i]), kind_names)} in B"
            for name in ("seq", *IDENTITY)
            if getattr(a, name)[i] != getattr(b, name)[i]
        ]
        return f"the action streams differ at seq {seq} (action {i + 1}): " + "; ".join(parts)
    if len(a) != len(b):
        short, other, longer = ("A", "B", b) if len(a) < len(b) else ("B", "A", a)
        seq = int(longer.seq[n])
        return (
            f"run {short} has {n:,} actions and run {other} {len(longer):,}: run {short} ends before "
            f"seq {seq} (kind {_shown('kind', int(longer.kind[n]), kind_names)}); was one run stopped early?"
        )
    return None


def _answered(status: NDArray[np.int64], latency: NDArray[np.float64]) -> NDArray[np.bool_]:
    return (status > 0) & (latency > 0)


def failed(status: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Actions that failed: no answer (status 0) or an error status (400 and up)."""
    out: NDArray[np.bool_] = (status == 0) | (status >= 400)
    return out


@frozen
class PairedRuns:
    """Both runs' outcomes of one action stream, aligned: entry *i* is the same action in A and B."""

    seq: NDArray[np.int64]
    kind: NDArray[np.int64]
    time_ms: NDArray[np.int64]  # simulated time (the same in both runs)
    status_a: NDArray[np.int64]
    status_b: NDArray[np.int64]
    latency_a: NDArray[np.float64]
    latency_b: NDArray[np.float64]
    error_a: NDArray[np.int64]
    error_b: NDArray[np.int64]
    sent_at_a: NDArray[np.int64]  # 0: not recorded
    sent_at_b: NDArray[np.int64]

    @classmethod
    def of(cls, a: LogColumns, b: LogColumns) -> PairedRuns:
        """Pair two logs of the same stream (check :func:`first_difference` first)."""
        if len(a) != len(b):
            raise ValueError(f"cannot pair {len(a)} actions with {len(b)}")
        return cls(
            a.seq,
            a.kind,
            a.time_ms,
            a.status,
            b.status,
            a.latency_ms,
            b.latency_ms,
            a.error,
            b.error,
            a.sent_at,
            b.sent_at,
        )

    def __len__(self) -> int:
        return len(self.seq)

    @property
    def answered(self) -> NDArray[np.bool_]:
        """Actions answered in both runs with a measured latency: the ones latency compares."""
        out: NDArray[np.bool_] = _answered(self.status_a, self.latency_a) & _answered(
            self.status_b, self.latency_b
        )
        return out

    @property
    def new_failures(self) -> NDArray[np.bool_]:
        """Actions that succeeded in A and failed in B."""
        out: NDArray[np.bool_] = ~failed(self.status_a) & failed(self.status_b)
        return out

    @property
    def fixed(self) -> NDArray[np.bool_]:
        """Actions that failed in A and succeeded in B."""
        out: NDArray[np.bool_] = failed(self.status_a) & ~failed(self.status_b)
        return out


def span_seconds(sent_at: NDArray[np.int64]) -> float | None:
    """Real seconds from the first action sent to the last (None if send times were not recorded)."""
    sent = sent_at[sent_at > 0]
    if len(sent) < 2:
        return None
    span = float(sent.max() - sent.min()) / 1000.0
    return span if span > 0 else None
