"""Run control: pause, resume, speed and stop, from keys, signals or another terminal.

:class:`RunControl` is the run's control state, safe to change from any thread
(the dashboard's key reader, a signal handler, the control socket). The run
loop consults it between ticks through :class:`RunGate`, and the
:class:`~simcore.run.clock.Pacer` within a paced tick. Pausing freezes the
simulated clock: nothing is dispatched until resumed.

:class:`ControlServer` listens on a unix socket in the run directory
(``RUN_DIR/control.sock``; a short path in the temp folder if that one is too
long for a socket). The protocol is one JSON object per line each way:
``{"command": "pause"}`` → ``{"ok": true, "status": {...}}``. :func:`send`
is the client behind ``simcore ctl RUN_DIR pause|resume|stop|speed N|rate N|status``.

With a rate target set (``--rate``, ``rate N``) the speed is its upper bound,
and ``faster``/``slower`` (the ``+``/``-`` keys) step the rate instead of the speed.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import socketserver
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simcore.errors import SimcoreError
from simcore.run.clock import Pacer, format_speed, hold_while_paused, parse_speed
from simcore.run.rate import RATE_STEPS, format_rate, parse_rate
from simcore.run.timesource import RealTime

if TYPE_CHECKING:
    from simcore.run.controller import Controller

SOCKET_NAME = "control.sock"
COMMANDS = (
    "pause",
    "resume",
    "toggle",
    "stop",
    "speed",
    "rate",
    "faster",
    "slower",
    "snapshot",
    "status",
)
#: The speeds ``+``/``-`` step through (simulated seconds per real second); max is above the last.
SPEED_STEPS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 14400.0, 86400.0)
_MAX_SOCKET_PATH = 100


class ControlError(SimcoreError):
    """A control command could not be delivered or was not understood."""


class RunControl:
    """Pause/resume/speed/stop requests, set from any thread, read by the run loop."""

    def __init__(self, speed: float | None = None, rate: float | None = None) -> None:
        self.wake = threading.Event()
        self._lock = threading.Lock()
        self._paused = False
        self._stop_reason: str | None = None
        self._speed = speed
        self._rate = rate
        self._snapshot_wanted = False
        self.listeners: list[Callable[[str], None]] = []
        self.status_provider: Callable[[], dict[str, Any]] | None = None

    @property
    def paused(self) -> bool:
        """Whether the run is paused."""
        return self._paused

    @property
    def stopping(self) -> bool:
        """Whether a stop was requested."""
        return self._stop_reason is not None

    @property
    def stop_reason(self) -> str | None:
        """Who asked to stop (``SIGINT``, ``ctl``, ``key q``), if anyone."""
        return self._stop_reason

    @property
    def speed(self) -> float | None:
        """The requested speed (``None``: max); with a rate target, its upper bound."""
        return self._speed

    @property
    def rate(self) -> float | None:
        """The requested rate target in actions per real second (``None``: none)."""
        return self._rate

    def _changed(self, event: str) -> None:
        self.wake.set()
        for listener in list(self.listeners):
            listener(event)

    def pause(self) -> None:
        """Freeze the simulated clock at the next chance (between ticks, or slices when paced)."""
        with self._lock:
            was, self._paused = self._paused, True
        if not was:
            self._changed("paused")

    def resume(self) -> None:
        """Continue after a pause."""
        with self._lock:
            was, self._paused = self._paused, False
        if was:
            self._changed("resumed")

    def toggle(self) -> None:
        """Pause if running, resume if paused."""
        if self._paused:
            self.resume()
        else:
            self.pause()

    def request_stop(self, reason: str, notify: bool = True) -> bool:
        """Ask the run to stop after the current tick; False if a stop was already requested.

        ``notify=False`` only sets the flag and wakes the run (what a signal handler
        may safely do); listeners are not called.
        """
        with self._lock:
            first = self._stop_reason is None
            if first:
                self._stop_reason = reason
        if first and notify:
            self._changed(f"stopping ({reason})")
        elif first:
            self.wake.set()
        return first

    @property
    def snapshot_requested(self) -> bool:
        """Whether a snapshot was asked for and not yet taken."""
        return self._snapshot_wanted

    def request_snapshot(self) -> None:
        """Ask for a snapshot at the next tick boundary: at once if the run is paused between
        ticks; a run paused within a tick (paced) writes it when that tick is done."""
        with self._lock:
            self._snapshot_wanted = True
        self._changed("snapshot requested")

    def take_snapshot_request(self) -> bool:
        """True once per :meth:`request_snapshot` (the run loop takes it)."""
        with self._lock:
            wanted, self._snapshot_wanted = self._snapshot_wanted, False
        return wanted

    def set_speed(self, speed: float | None) -> None:
        """Change the speed from the next tick on (``None``: max)."""
        with self._lock:
            self._speed = speed
        self._changed(f"speed {format_speed(speed)}")

    def set_rate(self, rate: float | None) -> None:
        """Change the rate target from the next tick on (``None``: pace by speed alone)."""
        with self._lock:
            self._rate = rate
        self._changed(f"rate {format_rate(rate)}")

    def step_rate(self, up: bool) -> None:
        """One step up or down along :data:`~simcore.run.rate.RATE_STEPS` (halving below it,
        doubling above it)."""
        current = self._rate
        if current is None:
            return
        if up:
            higher = [r for r in RATE_STEPS if r > current * 1.0001]
            self.set_rate(higher[0] if higher else current * 2)
        else:
            lower = [r for r in RATE_STEPS if r < current / 1.0001]
            self.set_rate(lower[-1] if lower else current / 2)

    def step_speed(self, up: bool) -> None:
        """One step faster or slower along :data:`SPEED_STEPS` (max is the top); with a rate
        target, one step along the rates instead."""
        if self._rate is not None:
            self.step_rate(up)
            return
        current = self._speed
        if up:
            if current is None:
                return
            faster = [s for s in SPEED_STEPS if s > current * 1.0001]
            self.set_speed(faster[0] if faster else None)
        else:
            if current is None:
                self.set_speed(SPEED_STEPS[-1])
                return
            slower = [s for s in SPEED_STEPS if s < current / 1.0001]
            self.set_speed(slower[-1] if slower else current / 2)

    def status(self) -> dict[str, Any]:
        """The run's state for ``simcore ctl status`` and the dashboard."""
        out: dict[str, Any] = dict(self.status_provider() if self.status_provider else {})
        out.update(
            paused=self._paused, stopping=self.stopping, speed=format_speed(self._speed), rate=self._rate
        )
        out["snapshot_pending"] = self._snapshot_wanted  # taken at the next tick boundary
        return out

    def apply(self, command: str, value: str | None = None) -> dict[str, Any]:
        """Carry out one named command (what the socket and ``simcore ctl`` send)."""
        if command == "pause":
            self.pause()
        elif command == "resume":
            self.resume()
        elif command == "toggle":
            self.toggle()
        elif command == "stop":
            self.request_stop("ctl stop")
        elif command == "speed":
            self.set_speed(parse_speed(value if value is not None else "max"))
        elif command == "rate":
            self.set_rate(parse_rate(value if value is not None else "off", "rate"))
        elif command in ("faster", "slower"):
            self.step_speed(command == "faster")
        elif command == "snapshot":
            self.request_snapshot()
        elif command != "status":
            raise ControlError(f"unknown command {command!r}; expected one of: {', '.join(COMMANDS)}")
        return self.status()


class _UntilSnapshot:
    """A paused run's flags that also end the hold when a snapshot is asked for."""

    def __init__(self, control: RunControl) -> None:
        self.control = control
        self.wake = control.wake

    @property
    def paused(self) -> bool:
        return self.control.paused and not self.control.snapshot_requested

    @property
    def stopping(self) -> bool:
        return self.control.stopping


class RunGate:
    """What happens between two ticks: periodic snapshots, speed changes, pauses, stops."""

    def __init__(
        self,
        control: RunControl,
        pacer: Pacer | None = None,
        snapshot_every: int | None = None,
        snapshot: Callable[[], object] | None = None,
    ) -> None:
        self.control = control
        self.pacer = pacer
        self.snapshot_every = snapshot_every
        self.snapshot = snapshot
        self.first_tick: int | None = None

    def idle_at(self, tick: int) -> bool:
        """Nothing to do before ``tick``: no snapshot due, no pause, stop, speed or rate change."""
        every = self.snapshot_every
        snapshot_due = bool(every) and self.snapshot is not None and tick % (every or 1) == 0
        control = self.control
        pacer = self.pacer
        changed = pacer is not None and (pacer.speed != control.speed or pacer.rate != control.rate)
        asked = control.snapshot_requested
        return not (snapshot_due or asked or control.paused or control.stopping or changed)

    def _sync(self) -> None:
        """Give the pacer the speed and rate the control asks for."""
        if self.pacer is not None:
            self.pacer.set_speed(self.control.speed)
            self.pacer.set_rate(self.control.rate)

    def between_ticks(self, controller: Controller) -> bool:
        """Run before each tick; False stops the run (the state is consistent at this point)."""
        tick = controller.sim.tick
        if self.first_tick is None:
            self.first_tick = tick
        every = self.snapshot_every
        control = self.control
        asked = control.take_snapshot_request()
        periodic = bool(every) and tick != self.first_tick and tick % (every or 1) == 0
        if self.snapshot is not None and (asked or periodic):
            self.snapshot()
        self._sync()
        if control.paused and not control.stopping:
            until = _UntilSnapshot(control)
            while True:  # paused between ticks: a snapshot asked for is taken at once
                if self.pacer is None:
                    hold_while_paused(until, RealTime())
                else:
                    self.pacer.hold(until)
                if control.take_snapshot_request() and self.snapshot is not None:
                    self.snapshot()
                if not control.paused or control.stopping:
                    break
            if self.pacer is not None:
                self.pacer.reanchor()
                self._sync()
        return not control.stopping


# --- the control socket -------------------------------------------------------------


def socket_path(run_dir: Path) -> Path:
    """Where the control socket of ``run_dir`` lives (the client computes the same)."""
    run_dir = Path(run_dir).resolve()
    path = run_dir / SOCKET_NAME
    if len(os.fsencode(str(path))) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha1(os.fsencode(str(run_dir))).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"simcore-{digest}.sock"


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        for raw in self.rfile:
            try:
                request = json.loads(raw)
                if not isinstance(request, dict):
                    raise ValueError("expected a JSON object")
                value = request.get("value")
                status = self.server.control.apply(
                    str(request.get("command")), None if value is None else str(value)
                )
                reply: dict[str, Any] = {"ok": True, "status": status}
            except (ValueError, SimcoreError) as exc:
                reply = {"ok": False, "error": str(exc)}
            self.wfile.write((json.dumps(reply, default=str) + "\n").encode())
            self.wfile.flush()


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, control: RunControl) -> None:
        self.control = control
        super().__init__(path, _Handler)


class ControlServer:
    """Serves :class:`RunControl` on the run directory's socket, in a daemon thread."""

    def __init__(self, run_dir: Path, control: RunControl) -> None:
        self.path = socket_path(run_dir)
        self.control = control
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ControlServer:
        """Bind and serve; refuses if another live run answers on the socket."""
        if not hasattr(socket, "AF_UNIX"):  # pragma: no cover - Windows
            raise ControlError("control sockets need unix sockets; run without --control")
        if self.path.exists():
            try:
                send_to(self.path, "status", timeout=1.0)
            except ControlError:
                self.path.unlink(missing_ok=True)  # a stale socket of a run that died
            else:
                raise ControlError(
                    f"another run is live on {self.path}; stop it (simcore ctl DIR stop) "
                    "or give this run another --out"
                )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._server = _Server(str(self.path), self.control)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and remove the socket (idempotent)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            self.path.unlink(missing_ok=True)
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None

    def __enter__(self) -> ControlServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()


def send_to(path: Path, command: str, value: str | None = None, timeout: float = 5.0) -> dict[str, Any]:
    """Send one command to the socket at ``path``; return the run's status."""
    request = {"command": command} if value is None else {"command": command, "value": value}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall((json.dumps(request) + "\n").encode())
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    except (FileNotFoundError, ConnectionRefusedError):
        raise ControlError(
            f"no live run answers on {path}; is the run still going? (start one with simcore run)"
        ) from None
    except OSError as exc:
        raise ControlError(f"could not talk to the run on {path}: {exc}") from None
    try:
        reply = json.loads(data)
    except ValueError:
        raise ControlError(f"the run on {path} sent {data[:80]!r}, expected a JSON reply") from None
    if not reply.get("ok"):
        raise ControlError(str(reply.get("error", "the run refused the command")))
    status: dict[str, Any] = reply.get("status", {})
    return status


def send(run_dir: Path, command: str, value: str | None = None, timeout: float = 5.0) -> dict[str, Any]:
    """Send ``command`` to the live run in ``run_dir`` (``simcore ctl``)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ControlError(f"run directory {run_dir} does not exist; pass the DIR a run writes into")
    if command not in COMMANDS:
        raise ControlError(f"unknown command {command!r}; expected one of: {', '.join(COMMANDS)}")
    if command == "speed":
        parse_speed(value if value is not None else "")
    if command == "rate":
        parse_rate(value if value is not None else "", "rate")
    return send_to(socket_path(run_dir), command, value, timeout)
