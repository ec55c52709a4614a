"""Where paced runs get their time: the real clock, or a fake one that tests move by hand."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Protocol


class TimeSource(Protocol):
    """A monotonic clock and an interruptible wait."""

    def now(self) -> float:
        """Seconds on a monotonic clock."""

    def wait(self, seconds: float, wake: threading.Event | None = None) -> None:
        """Wait ``seconds`` (or less, if ``wake`` is set meanwhile)."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on the running event loop (other tasks go on meanwhile)."""


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

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep``."""
        await asyncio.sleep(max(seconds, 0.0))


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

    async def sleep(self, seconds: float) -> None:
        """Let the loop's ready tasks run (at the time now, as they would on a real clock), then
        advance as :meth:`wait` does."""
        await asyncio.sleep(0)
        self.wait(seconds)
