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

An async backend with a pipeline (``backend.pipeline`` > 1, the http backend) is
paced on the event loop instead (:meth:`Pacer.dispatch_async`): each slice is
handed over at its due time without waiting for the previous slices' answers,
so one slow request does not hold back the requests due after it; the
controller keeps at most ``pipeline`` ticks in flight, which bounds how far the
answers may trail the schedule before the run falls behind.

With a rate target (``rate``, actions per real second; :mod:`simcore.run.rate`)
each tick gets its own speed from its size: it lasts ``len(batch) / rate`` real
seconds (at least ``tick_seconds / speed`` when a speed is also set: then the
speed is the upper bound), and the schedule goes on from where the previous tick
was due to end. A run at a rate that falls behind its schedule keeps it: up to
``burst`` real seconds behind (0.5 s: late wake-ups, a slow answer) it sends what
is due at once; further behind (a long stall), it makes up ``burst`` at once and
the rest at most ``catch_up`` (5 %) above the rate, a tick lasting down to
``1 / (1 + catch_up)`` of its due time, so a stall shows as a dip rather than a
dip and then a long burst.

All waiting goes through a :class:`TimeSource`, so tests use :class:`FakeTime`
and never sleep.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from simcore.core.actions import ActionBatch
from simcore.run.rate import parse_positive, tick_real_seconds
from simcore.run.timesource import RealTime, TimeSource
from simcore.seam.contract import Outcomes

SPEED_HELP = "'max' (as fast as possible) or a number of simulated seconds per real second, e.g. 1 or 60"


def parse_speed(text: str | float | None) -> float | None:
    """``'max'``/``None`` → ``None``; a positive finite number (``60x`` too) → that float."""
    return parse_positive(text, "--speed", SPEED_HELP, ("max", "inf", "infinity"), "x")


def format_speed(speed: float | None) -> str:
    """``max`` or ``60x``."""
    return "max" if speed is None else f"{speed:g}x"


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
SubmitFn = Callable[[ActionBatch], Awaitable[Outcomes]]
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
    """Maps ticks to real due times at a speed factor (or a rate target) and dispatches
    batches on time."""

    def __init__(
        self,
        tick_seconds: int,
        speed: float | None = None,
        clock: TimeSource | None = None,
        flags: Flags | None = None,
        resolution: float = 0.01,
        rate: float | None = None,
        catch_up: float = 0.05,
        burst: float = 0.5,
    ) -> None:
        """``speed``: simulated seconds per real second (None: max); ``rate``: actions per
        real second to aim at (None: none; with one, ``speed`` is the upper bound)."""
        self.tick_seconds = int(tick_seconds)
        self.speed = speed
        self.rate = rate
        self.tick_speed: float | None = speed  # the current tick's speed (rate: chosen per tick)
        self.catch_up = float(catch_up)  # at a rate: how much faster than the rate to catch up
        self.burst = float(burst)  # at a rate: how far behind is made up at once
        self._due_start: float | None = None  # at a rate: when the next tick is due to start
        self._slip = 0.0  # at a rate: lag beyond `burst` not yet made up (the schedule runs late by it)
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
        """Whether actions are dispatched on a schedule (a rate target, or speed not max)."""
        return self.speed is not None or self.rate is not None

    def set_speed(self, speed: float | None) -> None:
        """Change the speed (with a rate: its upper bound); the schedule restarts from the
        next tick (no catch-up burst)."""
        if speed != self.speed:
            self.speed = speed
            self.reanchor()

    def set_rate(self, rate: float | None) -> None:
        """Change the rate target (None: pace by speed alone); the schedule restarts from the
        next tick."""
        if rate != self.rate:
            self.rate = rate
            self.reanchor()

    def reanchor(self) -> None:
        """Forget the schedule; the next tick starts it afresh from now (after a pause or a change)."""
        self._anchor_real = None
        self._slip = 0.0
        self.lag = 0.0

    def due(self, sim_seconds: float | NDArray[np.float64]) -> Any:
        """Real time at which simulated second ``sim_seconds`` (since the start) is due."""
        assert self.tick_speed is not None and self._anchor_real is not None
        return self._anchor_real + (sim_seconds - self._anchor_sim) / self.tick_speed

    def sim_seconds_now(self) -> float | None:
        """Simulated seconds since the start that the schedule has reached now (None: not paced,
        or a tick that takes no time)."""
        speed = self.tick_speed
        if speed is None or math.isinf(speed) or self._anchor_real is None:
            return None
        now = self._held_since if self._held_since is not None else self.clock.now()
        return self._anchor_sim + (now - self._anchor_real) * speed

    def _anchor(self, batch: ActionBatch) -> None:
        """Set the schedule for ``batch``'s tick (at the speed, or from its size at a rate)."""
        tick_start = float(batch.tick * self.tick_seconds)
        if self.rate is None:
            self.tick_speed = self.speed
            if self._anchor_real is None:
                self._anchor_real = self.clock.now()
                self._anchor_sim = tick_start
            return
        # at a rate every tick has its own speed and starts when the previous one was due to end;
        # further behind than `burst`, it makes that up at once and runs up to catch_up faster
        now = self.clock.now()
        if self._anchor_real is None or self._due_start is None:
            self._due_start = now
        due_seconds = tick_real_seconds(len(batch), self.rate, self.tick_seconds, self.speed)
        behind = now - (self._due_start + self._slip)
        if behind > self.burst:
            self._note_lag(self._due_start + self._slip)
            self._slip += behind - self.burst
        start = self._due_start + self._slip
        gain = min(self._slip, due_seconds * self.catch_up / (1.0 + self.catch_up))
        seconds = due_seconds - gain
        self._slip -= gain
        self._due_start += due_seconds
        self._anchor_real, self._anchor_sim = start, tick_start
        self.tick_speed = self.tick_seconds / seconds if seconds > 0 else math.inf

    def hold(self, flags: Flags | None = None) -> None:
        """Block while paused (``flags``, else the pacer's own); count the time as paused and
        shift the schedule by it."""
        flags = flags or self.flags
        if flags is None or not flags.paused:
            return
        self._held_since = self.clock.now()
        self._held(hold_while_paused(flags, self.clock))

    def _held(self, held: float) -> None:
        self._held_since = None
        self.paused_seconds += held
        if self._anchor_real is not None:
            self._anchor_real += held
        if self._due_start is not None:
            self._due_start += held

    async def hold_async(self) -> None:
        """:meth:`hold` on the event loop: requests in flight go on while paused."""
        flags = self.flags
        if flags is None or not flags.paused:
            return
        began = self._held_since = self.clock.now()
        while flags.paused and not flags.stopping:
            await self.clock.sleep(PAUSE_POLL)
        self._held(self.clock.now() - began)

    async def wait_until_async(self, when: float) -> None:
        """:meth:`wait_until` on the event loop (it looks at the flags every ``PAUSE_POLL``)."""
        flags = self.flags
        while True:
            if flags is not None:
                if flags.stopping:
                    return
                if flags.paused:
                    before = self._anchor_real
                    await self.hold_async()
                    if before is not None and self._anchor_real is not None:
                        when += self._anchor_real - before
                    continue
            left = when - self.clock.now()
            if left <= 0:
                return
            await self.clock.sleep(min(left, PAUSE_POLL))

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
        assert self.tick_speed is not None
        real = batch.offset_ms.astype(np.float64) / 1000.0 / self.tick_speed
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
        if not self.paced:
            return execute(batch)
        self._anchor(batch)
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

    async def dispatch_async(self, batch: ActionBatch, submit: SubmitFn) -> asyncio.Future[Outcomes]:
        """Hand each slice of ``batch`` to ``submit`` at its due time without waiting for its
        answers; return once the tick's end is due, with a future of the whole batch's outcomes.

        At max speed the whole batch is submitted at once.
        """
        if not self.paced:
            return asyncio.ensure_future(submit(batch))
        self._anchor(batch)
        tick_start = float(batch.tick * self.tick_seconds)
        parts: list[asyncio.Future[Outcomes]] = []
        try:
            for start, end in self.slices(batch):
                at = tick_start + batch.offset_ms[start] / 1000.0
                await self.wait_until_async(self.due(at))
                self._note_lag(self.due(at))
                parts.append(asyncio.ensure_future(submit(batch_slice(batch, start, end))))
            await self.wait_until_async(self.due(tick_start + self.tick_seconds))
        except BaseException:  # cancelled (Ctrl-C): the slices already sent go with the tick
            for part in parts:
                part.cancel()
            if parts:
                await asyncio.gather(*parts, return_exceptions=True)
            raise
        if self.flags is None or not self.flags.stopping:
            # due again: a pause during the wait moved the schedule on (it is not lag)
            self._note_lag(self.due(tick_start + self.tick_seconds))
        return asyncio.ensure_future(_joined(parts))

    def summary(self) -> dict[str, Any]:
        """Pacing figures for the run's summary."""
        return {
            "speed": format_speed(self.speed),
            "rate": self.rate,
            "lag_seconds": round(self.lag, 3),
            "max_lag_seconds": round(self.max_lag, 3),
            "late_slices": self.late_slices,
            "paused_seconds": round(self.paused_seconds, 3),
        }


async def _joined(parts: list[asyncio.Future[Outcomes]]) -> Outcomes:
    """The outcomes of a batch's slices, once each is answered, as one."""
    return Outcomes.concat(list(await asyncio.gather(*parts)))
