"""Pacing: mapping simulated time to real time, a speed factor, and how far a run lags.

``speed`` is simulated seconds per real second (1: real time, 60: a simulated
hour a minute); ``None`` means as fast as possible. In paced mode a tick's
actions are dispatched at their own sub-tick times (``batch.offset_ms``) rather
than all at the tick's start: :meth:`Pacer.dispatch` cuts the batch into slices
of actions due within ``resolution`` real seconds of each other, waits until each
slice is due, and hands it to the backend. A tick lasts its full real duration.

When the backend is slower than the schedule, nothing queues up: the next slice
is sent as soon as the previous one returns, and the run falls behind. The lag
(real seconds behind the schedule) is measured at every slice and kept as the
current and the largest lag.

Backends that pace themselves (an async HTTP client with its own in-flight
window) may implement ``execute_paced(batch, delays)``; ``delays[i]`` is how
many real seconds after the call action ``i`` is due (<= 0: at once), computed
from the pacer's clock. Such a backend receives the whole batch in one call at
the tick's first due time. Pause and stop then act between ticks only.

All waiting goes through a :class:`TimeSource`, so tests use :class:`FakeTime`
and never sleep.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from simcore.core.actions import ActionBatch
from simcore.errors import UsageError
from simcore.seam.contract import Outcomes

SPEED_HELP = "'max' (as fast as possible) or a number of simulated seconds per real second, e.g. 1 or 60"


def parse_speed(text: str | float | None) -> float | None:
    """``'max'``/``None`` → ``None``; a positive finite number → that float."""
    if text is None:
        return None
    if isinstance(text, str):
        if text.strip().lower() in ("max", "inf", "infinity"):
            return None
        try:
            value = float(text.strip().rstrip("xX"))
        except ValueError:
            raise UsageError(f"--speed: got {text!r}, expected {SPEED_HELP}") from None
    else:
        value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"--speed: got {text!r}, expected {SPEED_HELP}")
    return value


def format_speed(speed: float | None) -> str:
    """``max`` or ``60x``."""
    return "max" if speed is None else f"{speed:g}x"


class TimeSource(Protocol):
    """A monotonic clock and an interruptible wait."""

    def now(self) -> float:
        """Seconds on a monotonic clock."""

    def wait(self, seconds: float, wake: threading.Event | None = None) -> None:
        """Wait ``seconds`` (or less, if ``wake`` is set meanwhile)."""


class RealTime:
    """The process's monotonic clock."""

    def now(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def wait(self, seconds: float, wake: threading.Event | None = None) -> None:
        """Sleep, returning early when ``wake`` is set."""
        if seconds <= 0:
            return
        if wake is None:
            time.sleep(seconds)
        else:
            wake.wait(seconds)


class FakeTime:
    """A clock that only moves when waited on (or advanced by a slow fake backend).

    ``on_wait(fake)`` runs after every wait, so a test can act at chosen moments
    (pause, resume, change the speed) without threads.
    """

    def __init__(self, start: float = 1000.0, on_wait: Callable[[FakeTime], None] | None = None) -> None:
        self.t = float(start)
        self.on_wait = on_wait
        self.waits: list[float] = []

    def now(self) -> float:
        """The fake time."""
        return self.t

    def advance(self, seconds: float) -> None:
        """Move the clock forward (a slow backend, for instance)."""
        self.t += max(float(seconds), 0.0)

    def wait(self, seconds: float, wake: threading.Event | None = None) -> None:
        """Advance by ``seconds`` at once and call ``on_wait``."""
        self.waits.append(float(seconds))
        self.advance(seconds)
        if self.on_wait is not None:
            self.on_wait(self)


class Flags(Protocol):
    """What the pacer needs to know from the run's control state."""

    wake: threading.Event

    @property
    def paused(self) -> bool:
        """Nothing may be dispatched."""

    @property
    def stopping(self) -> bool:
        """Finish the tick at once, without waiting."""


def hold_while_paused(flags: Flags, clock: TimeSource) -> float:
    """Block while ``flags`` say paused (until resumed or stopping); return the seconds held."""
    began = clock.now()
    while True:
        flags.wake.clear()
        if not flags.paused or flags.stopping:
            return clock.now() - began
        clock.wait(PAUSE_POLL, flags.wake)


ExecuteFn = Callable[[ActionBatch], Outcomes]
ExecutePacedFn = Callable[[ActionBatch, NDArray[np.float64]], Outcomes]

#: While paused, how often (real seconds) the wait loop looks at the flags.
PAUSE_POLL = 0.2


def batch_slice(batch: ActionBatch, start: int, end: int) -> ActionBatch:
    """Actions ``[start, end)`` of a batch, keeping their run-wide sequence numbers."""
    if (start, end) == (0, len(batch)):
        return batch
    part = batch.take(np.arange(start, end))
    part.seq0 = batch.seq0 + start
    return part


class Pacer:
    """Maps ticks to real due times at a speed factor and dispatches batches on time."""

    def __init__(
        self,
        tick_seconds: int,
        speed: float | None = None,
        clock: TimeSource | None = None,
        flags: Flags | None = None,
        resolution: float = 0.01,
    ) -> None:
        self.tick_seconds = int(tick_seconds)
        self.speed = speed
        self.clock: TimeSource = clock or RealTime()
        self.flags = flags
        self.resolution = float(resolution)
        self._anchor_real: float | None = None
        self._anchor_sim = 0.0
        self._held_since: float | None = None  # real time a mid-tick pause began
        self.lag = 0.0  # real seconds behind the schedule at the latest dispatch
        self.max_lag = 0.0
        self.late_slices = 0
        self.paused_seconds = 0.0

    @property
    def paced(self) -> bool:
        """Whether actions are dispatched on a schedule (speed is not max)."""
        return self.speed is not None

    def set_speed(self, speed: float | None) -> None:
        """Change the speed; the schedule restarts from the next tick (no catch-up burst)."""
        if speed != self.speed:
            self.speed = speed
            self.reanchor()

    def reanchor(self) -> None:
        """Forget the schedule; the next tick starts it afresh from now (after a pause or a change)."""
        self._anchor_real = None
        self.lag = 0.0

    def due(self, sim_seconds: float | NDArray[np.float64]) -> Any:
        """Real time at which simulated second ``sim_seconds`` (since the start) is due."""
        assert self.speed is not None and self._anchor_real is not None
        return self._anchor_real + (sim_seconds - self._anchor_sim) / self.speed

    def sim_seconds_now(self) -> float | None:
        """Simulated seconds since the start that the schedule has reached now (None: not paced)."""
        if self.speed is None or self._anchor_real is None:
            return None
        now = self._held_since if self._held_since is not None else self.clock.now()
        return self._anchor_sim + (now - self._anchor_real) * self.speed

    def _anchor(self, tick: int) -> None:
        if self._anchor_real is None:
            self._anchor_real = self.clock.now()
            self._anchor_sim = float(tick * self.tick_seconds)

    def hold(self, flags: Flags | None = None) -> None:
        """Block while paused (``flags``, else the pacer's own); count the time as paused and
        shift the schedule by it."""
        flags = flags or self.flags
        if flags is None or not flags.paused:
            return
        self._held_since = self.clock.now()
        held = hold_while_paused(flags, self.clock)
        self._held_since = None
        self.paused_seconds += held
        if self._anchor_real is not None:
            self._anchor_real += held

    def wait_until(self, when: float) -> None:
        """Wait until real time ``when``, holding while paused; return at once when stopping."""
        flags = self.flags
        while True:
            if flags is not None:
                flags.wake.clear()
                if flags.stopping:
                    return
                if flags.paused:
                    before = self._anchor_real
                    self.hold()
                    if before is not None and self._anchor_real is not None:
                        when += self._anchor_real - before
                    continue
            left = when - self.clock.now()
            if left <= 0:
                return
            self.clock.wait(left, None if flags is None else flags.wake)

    def _note_lag(self, due: float) -> None:
        late = self.clock.now() - due
        self.lag = max(late, 0.0)
        if late > self.resolution:
            self.late_slices += 1
        self.max_lag = max(self.max_lag, self.lag)

    def slices(self, batch: ActionBatch) -> list[tuple[int, int]]:
        """``[start, end)`` index ranges of actions due within ``resolution`` of each other."""
        n = len(batch)
        if n == 0:
            return []
        assert self.speed is not None
        real = batch.offset_ms.astype(np.float64) / 1000.0 / self.speed
        bucket = np.floor(real / self.resolution).astype(np.int64)
        cuts = np.flatnonzero(np.diff(bucket)) + 1
        bounds = [0, *cuts.tolist(), n]
        return list(itertools.pairwise(bounds))

    def dispatch(
        self,
        batch: ActionBatch,
        execute: ExecuteFn,
        execute_paced: ExecutePacedFn | None = None,
    ) -> Outcomes:
        """Execute ``batch``: at once at max speed, else each slice at its due time."""
        if self.speed is None:
            return execute(batch)
        self._anchor(batch.tick)
        tick_start = float(batch.tick * self.tick_seconds)
        outcomes: list[Outcomes] = []
        if execute_paced is not None and len(batch):
            first = tick_start + batch.offset_ms[0] / 1000.0
            self.wait_until(self.due(first))
            self._note_lag(self.due(first))
            sim_at = tick_start + batch.offset_ms.astype(np.float64) / 1000.0
            delays = np.asarray(self.due(sim_at), dtype=np.float64) - self.clock.now()
            outcomes.append(execute_paced(batch, delays))
        else:
            for start, end in self.slices(batch):
                at = tick_start + batch.offset_ms[start] / 1000.0
                self.wait_until(self.due(at))
                self._note_lag(self.due(at))
                outcomes.append(execute(batch_slice(batch, start, end)))
        self.wait_until(self.due(tick_start + self.tick_seconds))
        if self.flags is None or not self.flags.stopping:
            # due again: a pause during the wait moved the schedule on (it is not lag)
            self._note_lag(self.due(tick_start + self.tick_seconds))
        return Outcomes.concat(outcomes)

    def summary(self) -> dict[str, Any]:
        """Pacing figures for the run's summary."""
        return {
            "speed": format_speed(self.speed),
            "lag_seconds": round(self.lag, 3),
            "max_lag_seconds": round(self.max_lag, 3),
            "late_slices": self.late_slices,
            "paused_seconds": round(self.paused_seconds, 3),
        }
