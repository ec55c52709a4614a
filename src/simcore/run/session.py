"""A controlled run: a :class:`Controller` with pacing, pause/stop control and snapshots.

:class:`RunSession` wires the pieces for ``simcore run``: the
:class:`~simcore.run.control.RunGate` between ticks (pauses, speed changes,
periodic snapshots, stops), the control socket in the run directory, and the
signal handlers: the first SIGINT or SIGTERM asks for a graceful stop (finish
the tick, flush the log, write a snapshot), a second one stops at once (what
was logged is still flushed; the snapshot is skipped if a tick was cut short,
so the previous one stays the one to resume from). Once the run has stopped, later
signals are only noted until :meth:`RunSession.release_signals` (the builder's
:class:`~simcore.run.builder.Run` calls it when summary.json and the report are
written), so a Ctrl-C pressed while they are written does not lose them.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from attrs import define

from simcore.errors import WorkerLost
from simcore.run import rundir
from simcore.run import snapshot as snapshots
from simcore.run.control import ControlServer, RunControl, RunGate
from simcore.run.controller import Controller
from simcore.seam.contract import LogSink


@define
class RunResult:
    """How a controlled run ended."""

    stopped_by: str | None  # None: it ran to the end; else SIGINT, SIGTERM, "ctl stop", "key q"
    hard: bool  # stopped at once by a second signal
    tick: int  # ticks completed (fully logged)
    snapshot: Path | None  # the snapshot to resume from (the last one written)


def log_position(log_file: Path | None, run_dir: Path) -> dict[str, Any]:
    """Where the action log stands: its path (relative to the run dir when inside) and size."""
    if log_file is None:
        return {"path": None, "bytes": 0}
    size = log_file.stat().st_size if log_file.exists() else 0
    return {"path": rundir.shown(log_file, run_dir), "bytes": size}


class RunSession:
    """Runs a controller under control, writing snapshots into ``RUN_DIR/snapshots``."""

    def __init__(
        self,
        controller: Controller,
        run_dir: Path,
        control: RunControl,
        *,
        log_file: Path | None = None,
        snapshot_every: int | None = None,
        keep_snapshots: int = 3,
        serve_control: bool = True,
        handle_signals: bool = True,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.controller = controller
        self.run_dir = Path(run_dir)
        self.control = control
        self.log_file = log_file
        self.keep_snapshots = keep_snapshots
        self.serve_control = serve_control
        self.handle_signals = handle_signals
        self.on_event = on_event
        self.last_snapshot: Path | None = None
        self.gate = RunGate(control, controller.pacer, snapshot_every, self._periodic_snapshot)
        self.snapshot_error: str | None = None
        self.lost: WorkerLost | None = None  # the worker whose death stopped the run
        self.late_signal: str | None = None  # a signal noted after the run stopped
        self._interruptible = False
        self._previous_handlers: dict[int, Any] = {}
        controller.gate = self.gate
        control.status_provider = self.status
        if on_event is not None:
            control.listeners.append(on_event)

    def status(self) -> dict[str, Any]:
        """The run's position, for ``simcore ctl status`` and the dashboard."""
        ctl = self.controller
        done = ctl.ticks_done
        out: dict[str, Any] = {
            "run_dir": str(self.run_dir),
            "pid": os.getpid(),
            "tick": done,  # ticks fully done (one may be in flight)
            "simulated_time": ctl.sim_time(done).isoformat(),
            "users": ctl.users_before(done),
            "actions": ctl.totals.actions,
            "snapshot": str(self.last_snapshot) if self.last_snapshot else None,
        }
        if ctl.pacer is not None:
            out.update(lag_seconds=round(ctl.pacer.lag, 3), max_lag_seconds=round(ctl.pacer.max_lag, 3))
        return out

    def snapshot(self, flush: bool = True) -> Path:
        """Write a snapshot of the state now (between ticks) and prune old ones; first flush
        the logs (unless the caller just did), so every row before it is on disk."""
        ctl = self.controller
        if flush:
            self._flush_logs()
        path = self.run_dir / snapshots.SNAPSHOT_DIR / snapshots.snapshot_name(ctl.sim.tick)
        snapshots.save(
            path,
            ctl,
            log=log_position(self.log_file, self.run_dir),
            stopped_by=self.control.stop_reason,
        )
        snapshots.prune(self.run_dir, self.keep_snapshots)
        self.last_snapshot = path
        if self.on_event is not None:
            self.on_event(f"snapshot {path}")
        return path

    def _periodic_snapshot(self) -> None:
        """A periodic snapshot that fails (a full disk) is reported; the run goes on."""
        try:
            self.snapshot()
        except snapshots.SnapshotError as exc:
            self.snapshot_error = str(exc)
            if self.on_event is not None:
                self.on_event(f"snapshot failed: {exc}")

    def _install_signals(self) -> None:
        if (
            not self.handle_signals
            or self._previous_handlers
            or threading.current_thread() is not threading.main_thread()
        ):
            return

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            name = signal.Signals(signum).name
            first = self.control.request_stop(name, notify=False)
            if not first and self._interruptible:
                raise KeyboardInterrupt  # the second signal: stop at once
            if not first:
                self.late_signal = name

        self._previous_handlers = {
            sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }

    def release_signals(self) -> None:
        """Give SIGINT and SIGTERM back to the handlers they had before the run (idempotent)."""
        for sig, handler in self._previous_handlers.items():
            signal.signal(sig, handler)
        self._previous_handlers = {}

    def _flush_logs(self) -> None:
        for sink in self.controller.sinks:
            if isinstance(sink, LogSink):
                sink.flush()

    @contextmanager
    def _server(self) -> Iterator[None]:
        if not self.serve_control or not hasattr(
            socket, "AF_UNIX"
        ):  # no unix sockets: keys and signals only
            yield
            return
        with ControlServer(self.run_dir, self.control):
            yield

    def run(self, ticks: int, keep_signals: bool = False) -> RunResult:
        """Run up to ``ticks`` ticks; snapshot at every stop (and at the end).

        ``keep_signals``: leave the signal handlers installed (noting, no longer
        interrupting) until :meth:`release_signals`, for a caller that still has files
        to write; otherwise they are released on return.
        """
        hard = False
        self._install_signals()
        try:
            with self._server():
                self._interruptible = True
                try:
                    self.controller.run(ticks)
                except KeyboardInterrupt:
                    hard = True
                    self.control.request_stop("SIGINT")
                except WorkerLost as exc:  # the state is still whole at the last finished tick
                    self.lost = exc
                    self.control.request_stop(exc.reason, notify=False)
                self._interruptible = False
                self._flush_logs()
                if not self.controller.mid_tick:
                    self._interruptible = True  # one more signal skips the snapshot
                    try:
                        self.snapshot(flush=False)  # flushed just above, uninterruptibly
                    except KeyboardInterrupt:
                        hard = True  # the previous snapshot (if any) is intact
                    except snapshots.SnapshotError as exc:
                        self.snapshot_error = str(exc)
                    finally:
                        self._interruptible = False
        finally:
            self._interruptible = False
            if not keep_signals:
                self.release_signals()
        tick = self.controller.ticks_done
        return RunResult(
            stopped_by=self.control.stop_reason,
            hard=hard,
            tick=tick,
            snapshot=self.last_snapshot,
        )
