"""The latest actions of a run: the last ``n`` rows, kept cheaply while batches stream by.

Batches are held whole until the columns are asked for (:attr:`LatestActions.columns`),
so the cost while running is a deque append, not a copy per batch.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from simcore.analysis.endpoint import Endpoint
from simcore.core.actions import ActionBatch
from simcore.seam.contract import ERROR_NAMES, Outcomes

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

Columns = dict[str, NDArray[Any]]


def latest_columns(batch: ActionBatch, outcomes: Outcomes) -> Columns:
    """One batch's actions as the columns of :data:`LATEST_FIELDS`."""
    cols: Columns = {
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


class LatestActions:
    """The latest ``n`` actions seen, oldest first."""

    def __init__(self, n: int) -> None:
        self.n = int(n)
        self._columns: Columns = {name: np.zeros(0, dtype) for name, dtype in LATEST_FIELDS}
        self._recent: deque[tuple[ActionBatch, Outcomes]] = deque()  # batches not yet in _columns
        self._recent_n = 0

    def add(self, batch: ActionBatch, outcomes: Outcomes) -> None:
        """Remember one batch, dropping whole batches no longer among the latest ``n``."""
        self._recent.append((batch, outcomes))
        self._recent_n += len(batch)
        while len(self._recent) > 1 and self._recent_n - len(self._recent[0][0]) >= self.n:
            self._recent_n -= len(self._recent.popleft()[0])

    @property
    def columns(self) -> Columns:
        """The latest ``n`` actions as columns (see :data:`LATEST_FIELDS`), oldest first."""
        if self._recent:
            parts = [self._columns] + [latest_columns(b, o) for b, o in self._recent]
            self._columns = {
                name: np.concatenate([p[name] for p in parts])[-self.n :] if self.n else p0
                for (name, _), p0 in zip(LATEST_FIELDS, self._columns.values())
            }
            self._recent.clear()
            self._recent_n = 0
        return self._columns

    def load(self, columns: Columns) -> None:
        """Replace the actions with ``columns``; a column missing (older snapshots: ``ref``) is -1."""
        n = len(columns["seq"])
        self._columns = {
            name: np.array(columns.get(name, np.full(n, -1)), dtype=dtype)
            for name, dtype in LATEST_FIELDS
        }
        self._recent.clear()
        self._recent_n = 0


def merge_latest(a: Columns, b: Columns, n: int) -> Columns:
    """The latest ``n`` actions of ``a`` and ``b`` together, by sequence number, duplicates once."""
    seq = np.concatenate([a["seq"], b["seq"]])
    _, first = np.unique(seq, return_index=True)  # sorted by seq, duplicates dropped
    keep = first[-n:] if n else first[:0]
    return {name: np.concatenate([a[name], b[name]])[keep] for name, _dtype in LATEST_FIELDS}


def latest_records(
    columns: Columns,
    start: dt.datetime,
    tick_seconds: int,
    profile_names: Sequence[str],
    state_names: Sequence[str],
    endpoints: Sequence[Endpoint],
) -> list[dict[str, Any]]:
    """The actions of ``columns`` as plain records (the run directory's latest_actions.json)."""
    cols = {k: v.tolist() for k, v in columns.items()}
    out: list[dict[str, Any]] = []
    for i in range(len(columns["seq"])):
        k, post = cols["kind"][i], cols["post"][i]
        e = endpoints[k]
        path = e.path.replace("{id}", str(post if e.id_from == "post" else cols["ref"][i]))
        when = start + dt.timedelta(
            seconds=cols["tick"][i] * tick_seconds, milliseconds=cols["offset_ms"][i]
        )
        out.append(
            {
                "seq": cols["seq"][i],
                "tick": cols["tick"][i],
                "time": when.isoformat(timespec="milliseconds"),
                "user": cols["user"][i],
                "profile": _name(profile_names, cols["profile"][i]),
                "state": _name(state_names, cols["state"][i]),
                "action": e.name,
                "method": e.method,
                "path": path,
                "post": post if post >= 0 else None,
                "ref": cols["ref"][i] if cols["ref"][i] >= 0 else None,
                "status": cols["status"][i],
                "latency_ms": round(cols["latency_ms"][i], 3),
                "attempts": cols["attempts"][i],
                "error": None if cols["error"][i] == 0 else ERROR_NAMES[cols["error"][i]],
            }
        )
    return out


def _name(names: Sequence[str], i: int) -> str:
    return names[i] if i < len(names) else str(i)
