"""What a run counts as it goes: running totals per batch, and the report of a finished hour."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
from attrs import define, field

from simcore.core.actions import ActionBatch
from simcore.scenario.kinds import KIND_NAMES, MAX_KINDS
from simcore.seam.contract import ErrorKind, Outcomes


@define
class HourReport:
    """What happened in one simulated hour (or the last, partial one)."""

    tick: int
    time: dt.datetime
    users: int
    posts: int
    actions: dict[str, int]
    failed: int


@define
class Totals:
    """Running totals of a run, cheap to update per batch."""

    by_kind: np.ndarray = field(factory=lambda: np.zeros(MAX_KINDS, dtype=np.int64))
    statuses: dict[int, int] = field(factory=dict)
    errors: dict[str, int] = field(factory=dict)
    actions: int = 0

    @classmethod
    def of(cls, batch: ActionBatch, outcomes: Outcomes) -> Totals:
        """The totals of one batch."""
        by_status = np.bincount(np.clip(outcomes.status, 0, 999).astype(np.intp), minlength=1000)
        by_error = np.bincount(outcomes.error, minlength=len(ErrorKind))
        return cls(
            by_kind=batch.counts(),
            statuses={code: int(by_status[code]) for code in np.flatnonzero(by_status).tolist()},
            errors={
                ErrorKind(kind + 1).name.lower(): int(by_error[kind + 1])
                for kind in np.flatnonzero(by_error[1:]).tolist()
            },
            actions=len(batch),
        )

    def merge(self, other: Totals) -> None:
        """Add ``other``'s counts to these."""
        self.by_kind += other.by_kind
        self.actions += other.actions
        for code, count in other.statuses.items():
            self.statuses[code] = self.statuses.get(code, 0) + count
        for name, count in other.errors.items():
            self.errors[name] = self.errors.get(name, 0) + count

    def kinds(self, names: Sequence[str] = KIND_NAMES) -> dict[str, int]:
        """Actions by kind name (``names``: the run's kinds, in code order)."""
        return dict(zip(names, self.by_kind.tolist()))
