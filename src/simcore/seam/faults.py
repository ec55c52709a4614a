"""Simulated failures (``[faults]``) for backends without a network: keyed, replayable.

Every attempt of every action draws, from (seed, action sequence number,
attempt), whether it fails (answered ``error_status``, recorded as
``injected``), times out (recorded as ``timeout``, costing ``backend.timeout``)
or goes through, and an extra lognormal latency. An injected failure has no
effect: the request is not carried out. Failed attempts are retried under the
backend's :class:`~simcore.seam.retry.RetryPolicy`; the waits are added to the
reported latency, never slept. The same config and seed give the same faults in
the mock and testclient backends, so their outcomes agree. In an ``outage`` event's
window (``[[events]]``) every attempt fails with ``error_status``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from attrs import define, field
from numpy.typing import NDArray

from simcore.core import rng
from simcore.core.events import windows
from simcore.scenario.backend_schema import Faults
from simcore.scenario.schema import Config
from simcore.seam.retry import RetryPolicy

S_FAULT = rng.stream_id("faults.kind")
S_LATENCY = rng.stream_id("faults.latency")

OK, ERROR, TIMEOUT = 0, 1, 2


def active(faults: Faults) -> bool:
    """Whether ``faults`` injects anything at all."""
    return faults.error_rate > 0 or faults.timeout_rate > 0 or faults.latency_median_ms > 0


@define
class Injector:
    """Draws the faults of attempts; ``timeout_ms`` is what a timed-out attempt costs."""

    faults: Faults
    seed: int
    timeout_ms: float
    #: outage windows, as [first, end) ticks: every attempt in them fails
    outages: tuple[tuple[int, int], ...] = field(default=())

    @classmethod
    def from_config(cls, config: Config, seed: int) -> Injector | None:
        """The injector a run's ``[faults]`` and outage events ask for, or None if they inject
        nothing."""
        outages = tuple((w.first, w.end) for w in windows(config, "outage"))
        if not active(config.faults) and not outages:
            return None
        return cls(config.faults, seed, config.backend.timeout * 1000.0, outages)

    def down(self, tick: int | None) -> bool:
        """Whether an outage covers ``tick``."""
        return tick is not None and any(a <= tick < b for a, b in self.outages)

    def kinds(
        self, seq: NDArray[np.integer[Any]], attempt: int, tick: int | None = None
    ) -> NDArray[np.uint8]:
        """OK, ERROR or TIMEOUT for attempt ``attempt`` (1-based) of each action (of ``tick``)."""
        f = self.faults
        if self.down(tick):
            return np.full(len(np.asarray(seq)), ERROR, np.uint8)
        u = rng.uniform(self.seed, S_FAULT, attempt, np.asarray(seq, dtype=np.int64))
        out = np.where(u < f.error_rate, ERROR, np.where(u < f.error_rate + f.timeout_rate, TIMEOUT, OK))
        return out.astype(np.uint8)

    def latency_ms(self, seq: NDArray[np.integer[Any]], attempt: int) -> NDArray[np.float64]:
        """Extra latency of attempt ``attempt`` of each action (0 if none is configured)."""
        f = self.faults
        seq = np.asarray(seq, dtype=np.int64)
        if f.latency_median_ms <= 0:
            return np.zeros(len(seq))
        z = rng.normal(self.seed, S_LATENCY, attempt, seq)
        out: NDArray[np.float64] = f.latency_median_ms * np.exp(f.latency_sigma * z)
        return out

    def attempt(self, seq: int, attempt: int, tick: int | None = None) -> tuple[int, float]:
        """(fault kind, extra latency ms) of one attempt of one action (of ``tick``)."""
        key = np.array([seq], dtype=np.int64)
        return int(self.kinds(key, attempt, tick)[0]), float(self.latency_ms(key, attempt)[0])

    def resolve(
        self, seq: NDArray[np.integer[Any]], policy: RetryPolicy, tick: int | None = None
    ) -> tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.float64]]:
        """For actions whose attempts fail only by injection: (attempts, final fault kind, latency).

        The final kind is OK when some attempt went through (it is the last one).
        """
        seq = np.asarray(seq, dtype=np.int64)
        n = len(seq)
        attempts = np.zeros(n, np.uint8)
        final = np.full(n, OK, np.uint8)
        latency = np.zeros(n)
        pending = np.arange(n)
        for a in range(1, policy.max_attempts + 1):
            s = seq[pending]
            if a > 1:
                latency[pending] += policy.delays_ms(s, a - 1)
            kind = self.kinds(s, a, tick)
            latency[pending] += self.latency_ms(s, a) + np.where(kind == TIMEOUT, self.timeout_ms, 0.0)
            attempts[pending] = a
            final[pending] = kind
            pending = pending[kind != OK]
            if len(pending) == 0:
                break
        return attempts, final, latency
