"""Failure limits: a run that is plainly failing stops by itself and says why (exit code 4).

``[limits]`` (:class:`~simcore.scenario.schema.Limits`) sets two checks, made
after every batch while the run goes:

- **failure share**: more than ``failure_share`` (default 0.5) of the last
  ``window`` actions (default 1000) failed — answered >= 400, not answered,
  skipped because what they needed was never created, or answered unusably;
  checked once ``window`` actions were seen, so a short run's first minutes do
  not trip it;
- **unreachable**: every attempt of every action sent was a connection error for
  ``unreachable_seconds`` (default 60) of wall time.

When one trips, :class:`FailureLimit` asks the run to stop (the console shows
``stopping (failure limit: …)`` at once); the run finishes its tick, writes its
log, snapshot and summary (``stopped_by``), and ``simcore run`` exits with
:data:`EXIT_FAILURE_LIMIT`. ``failure_share = 1`` or ``unreachable_seconds = 0``
turns a check off. End-of-run ``[thresholds]`` are checked as well, on what ran.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

import numpy as np

from simcore.core.actions import ActionBatch
from simcore.run.control import RunControl
from simcore.scenario.backend_schema import Limits
from simcore.seam.contract import ErrorKind, Outcomes

#: The exit code of a run stopped by a failure limit (2: an error, 3: thresholds failed).
EXIT_FAILURE_LIMIT = 4
#: How a stop by a failure limit is named in ``stopped_by`` (followed by ": the reason").
STOP_REASON = "failure limit"

_CONNECTION = int(ErrorKind.CONNECTION)
_SKIPPED = int(ErrorKind.SKIPPED)


def stopped_by_limit(stopped_by: str | None) -> bool:
    """Whether a run's ``stopped_by`` names a failure limit."""
    return stopped_by is not None and stopped_by.startswith(STOP_REASON)


class FailureLimit:
    """A sink watching failures; it asks ``control`` to stop when a limit is passed."""

    def __init__(
        self, limits: Limits, control: RunControl, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits
        self.control = control
        self.clock = clock
        self._batches: deque[tuple[int, int]] = deque()  # (actions, failures) per batch
        self._actions = 0
        self._failures = 0
        self._unreachable_since: float | None = None
        self.reason: str | None = None

    def write(self, batch: ActionBatch, outcomes: Outcomes) -> None:
        """Count one batch; stop the run if a limit is passed."""
        n = len(outcomes)
        if n == 0 or self.reason is not None:
            return
        self._count(n, int(np.count_nonzero(outcomes.failed())))
        reason = self._share_passed() or self._unreachable(outcomes)
        if reason is not None:
            self.reason = f"{STOP_REASON}: {reason}"
            self.control.request_stop(self.reason)

    def close(self) -> None:
        """Nothing to release."""

    def _count(self, n: int, failed: int) -> None:
        self._batches.append((n, failed))
        self._actions += n
        self._failures += failed
        window = self.limits.window
        while self._batches and self._actions - self._batches[0][0] >= window:
            old_n, old_failed = self._batches.popleft()
            self._actions -= old_n
            self._failures -= old_failed

    def _share_passed(self) -> str | None:
        share = self.limits.failure_share
        if share >= 1 or self._actions < self.limits.window:
            return None
        if self._failures > share * self._actions:
            return (
                f"{self._failures:,} of the last {self._actions:,} actions failed "
                f"(more than limits.failure_share = {share:g}); see the log's status and error "
                "columns (a wrong auth_format, an unmapped route, a server that refuses)"
            )
        return None

    def _unreachable(self, outcomes: Outcomes) -> str | None:
        seconds = self.limits.unreachable_seconds
        if seconds <= 0:
            return None
        sent = outcomes.error != _SKIPPED
        if not sent.any():
            return None
        if not (outcomes.error[sent] == _CONNECTION).all():
            self._unreachable_since = None
            return None
        now = self.clock()
        if self._unreachable_since is None:
            self._unreachable_since = now
        elif now - self._unreachable_since >= seconds:
            return (
                f"the target refused every connection for {now - self._unreachable_since:.0f} s "
                f"(limits.unreachable_seconds = {seconds:g}); is the server up at backend.target?"
            )
        return None
