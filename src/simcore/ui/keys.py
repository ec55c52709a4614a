"""The dashboard's keys: single keys read from a terminal in a thread, acted on through the
run's :class:`~simcore.run.control.RunControl` (as ``simcore ctl`` and the web page are)."""

from __future__ import annotations

import os
import select
import sys
import threading
from typing import Any

from simcore.run.control import RunControl


class KeyReader:
    """Reads single keys from a terminal in a thread: space, ``+``, ``-``, ``s``, ``q``."""

    def __init__(self, control: RunControl, stream: Any = None) -> None:
        self.control = control
        self.stream = stream if stream is not None else sys.stdin
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._saved: Any = None

    def handle(self, key: str) -> None:
        """Act on one key."""
        if key in (" ", "p"):
            self.control.toggle()
        elif key in ("+", "="):
            self.control.step_speed(up=True)
        elif key in ("-", "_"):
            self.control.step_speed(up=False)
        elif key in ("q", "Q"):
            self.control.request_stop("key q")
        elif key in ("s", "S"):
            self.control.request_snapshot()

    def start(self) -> KeyReader:
        """Put the terminal in cbreak mode and read keys until :meth:`stop` (no-op if not a tty)."""
        try:
            import termios
            import tty
        except ImportError:  # pragma: no cover - Windows
            return self
        try:
            fd = self.stream.fileno()
        except (AttributeError, OSError, ValueError):
            return self
        if not os.isatty(fd):
            return self
        self._saved = termios.tcgetattr(fd)
        tty.setcbreak(fd)
        self._thread = threading.Thread(target=self._loop, args=(fd,), daemon=True)
        self._thread.start()
        return self

    def _loop(self, fd: int) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                data = os.read(fd, 1)
                if not data:
                    return
                self.handle(data.decode(errors="replace"))

    def stop(self) -> None:
        """Stop reading and restore the terminal (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None
        if self._saved is not None:
            import termios

            termios.tcsetattr(self.stream.fileno(), termios.TCSADRAIN, self._saved)
            self._saved = None
