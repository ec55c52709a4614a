"""The retry policy every backend shares: what is retried, and how long to wait first.

An attempt is retried when it failed to connect, timed out, or was answered 429
or 5xx, up to ``retries`` more times. The wait before retry ``a`` (1, 2, …) is an
exponential backoff with "equal jitter": ``d = min(backoff_max_ms, backoff_ms *
2**(a-1))``, then ``d/2 + u * d/2`` with ``u`` keyed by (seed, action sequence
number, attempt) — replayable, unlike a global ``random``. A ``Retry-After``
answer raises the wait to what the server asked for, capped at ``backoff_max_ms``.
Pure: nothing here sleeps; backends do.
"""

from __future__ import annotations

import email.utils
import math
import time
from typing import Any

import numpy as np
from attrs import frozen
from numpy.typing import NDArray

from simcore.core import rng
from simcore.scenario.backend_schema import Backend

S_BACKOFF = rng.stream_id("retry.backoff")


def retryable(status: int) -> bool:
    """Whether an answer with ``status`` is worth another attempt (429 and 5xx)."""
    return status == 429 or 500 <= status <= 599


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Milliseconds asked for by a ``Retry-After`` header (seconds or an HTTP date), if any."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0) * 1000.0


@frozen
class RetryPolicy:
    """How many times to retry and how long to wait before each retry."""

    seed: int = 0
    retries: int = 3
    backoff_ms: float = 50.0
    backoff_max_ms: float = 5000.0

    @classmethod
    def from_config(cls, backend: Backend, seed: int) -> RetryPolicy:
        """The policy of a ``[backend]`` table."""
        return cls(seed, backend.retries, backend.backoff_ms, backend.backoff_max_ms)

    @property
    def max_attempts(self) -> int:
        """First attempt plus retries."""
        return self.retries + 1

    def delays_ms(self, seq: NDArray[np.integer[Any]], attempt: int) -> NDArray[np.float64]:
        """The wait before retry ``attempt`` (1 = the first retry) of each action ``seq``."""
        cap = min(self.backoff_max_ms, self.backoff_ms * 2.0 ** min(attempt - 1, 60))
        u = rng.uniform(self.seed, S_BACKOFF, attempt, np.asarray(seq, dtype=np.int64))
        out: NDArray[np.float64] = cap / 2.0 + u * (cap / 2.0)
        return out

    def delay_ms(self, seq: int, attempt: int, retry_after_ms: float | None = None) -> float:
        """The wait before retry ``attempt`` of action ``seq``, honouring ``Retry-After``."""
        wait = float(self.delays_ms(np.array([seq]), attempt)[0])
        if retry_after_ms is not None:
            wait = max(wait, min(retry_after_ms, self.backoff_max_ms))
        return wait
