"""The run loop: step the core, hand each batch to the backend and the sinks, report progress.

This is the shell around the pure core: it owns the backend's lifecycle, the
wall clock and the sinks. Nothing it learns (statuses, latencies) flows back
into the simulation's decisions.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
from attrs import define, field

from simcore.actions import KIND_NAMES, ActionBatch
from simcore.backend import Backend, BackendContext, ErrorKind, Outcomes
from simcore.clock import Pacer
from simcore.simulation import Simulation


class TickGate(Protocol):
    """Consulted before every tick (pauses, speed changes, snapshots); False stops the run."""

    def between_ticks(self, controller: Controller) -> bool:
        """Act between two ticks; return whether to go on."""


class Sink(Protocol):
    """Receives every batch with its outcomes (a log file, metrics, a dashboard)."""

    def write(self, batch: ActionBatch, outcomes: Outcomes) -> None:
        """Record one batch."""

    def close(self) -> None:
        """Flush and release."""


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

    by_kind: np.ndarray = field(factory=lambda: np.zeros(len(KIND_NAMES), dtype=np.int64))
    statuses: dict[int, int] = field(factory=dict)
    errors: dict[str, int] = field(factory=dict)
    actions: int = 0

    def add(self, batch: ActionBatch, outcomes: Outcomes) -> None:
        """Count one batch."""
        self.by_kind += batch.counts()
        self.actions += len(batch)
        by_status = np.bincount(np.clip(outcomes.status, 0, 999).astype(np.int64), minlength=1000)
        for code in np.flatnonzero(by_status).tolist():
            self.statuses[code] = self.statuses.get(code, 0) + int(by_status[code])
        by_error = np.bincount(outcomes.error, minlength=len(ErrorKind))
        for kind in np.flatnonzero(by_error[1:]).tolist():
            name = ErrorKind(kind + 1).name.lower()
            self.errors[name] = self.errors.get(name, 0) + int(by_error[kind + 1])

    def kinds(self) -> dict[str, int]:
        """Actions by kind name."""
        return dict(zip(KIND_NAMES, self.by_kind.tolist()))


class Controller:
    """Runs a :class:`Simulation` against a :class:`Backend`, feeding sinks."""

    def __init__(
        self,
        sim: Simulation,
        backend: Backend,
        sinks: list[Sink] | None = None,
        on_hour: Callable[[HourReport], None] | None = None,
        *,
        pacer: Pacer | None = None,
        gate: TickGate | None = None,
    ) -> None:
        self.sim = sim
        self.pacer = pacer  # paces dispatch in real time (None: as fast as possible)
        self.gate = gate  # pause / speed / stop / periodic snapshots between ticks
        self.mid_tick = False  # True while a tick is stepped but not yet fully recorded
        self.backend = backend
        self.sinks: list[Sink] = list(sinks or [])
        self.on_hour = on_hour
        self.totals = Totals()
        self.wall_seconds = 0.0
        self.stopped_early = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._hour = Totals()
        self._opened = False

    @property
    def ticks_per_hour(self) -> int:
        """Ticks in one simulated hour (at least 1)."""
        return max(1, 3600 // self.sim.config.tick_seconds)

    def sim_time(self, tick: int) -> dt.datetime:
        """Simulated wall-clock time at the start of ``tick``."""
        return self.sim.config.start + dt.timedelta(seconds=tick * self.sim.config.tick_seconds)

    def open(self) -> None:
        """Open the backend (idempotent)."""
        if not self._opened:
            self.backend.open(BackendContext(self.sim.config, self.sim.seed))
            self._opened = True

    def _execute(self, batch: ActionBatch) -> Outcomes:
        if self.pacer is None:
            return self._execute_now(batch)
        paced = getattr(self.backend, "execute_paced", None)
        if paced is None:
            return self.pacer.dispatch(batch, self._execute_now)
        return self.pacer.dispatch(batch, self._execute_now, lambda b, d: self._resolve(paced(b, d), b))

    def _execute_now(self, batch: ActionBatch) -> Outcomes:
        return self._resolve(self.backend.execute(batch), batch)

    def _resolve(self, result: Any, batch: ActionBatch) -> Outcomes:
        if inspect.isawaitable(result):
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
            result = self._loop.run_until_complete(result)
        if not isinstance(result, Outcomes) or len(result) != len(batch):
            raise TypeError(
                f"backend {self.backend.name!r} returned {result!r} for {len(batch)} actions"
            )
        return result

    def run_tick(self) -> tuple[ActionBatch, Outcomes]:
        """Step one tick, execute it, and feed the sinks."""
        self.mid_tick = True
        batch = self.sim.step()
        outcomes = self._execute(batch)
        for sink in self.sinks:
            sink.write(batch, outcomes)
        self.totals.add(batch, outcomes)
        self._hour.add(batch, outcomes)
        if (batch.tick + 1) % self.ticks_per_hour == 0:
            self._report_hour(batch.tick)
        self.mid_tick = False
        return batch, outcomes

    def _report_hour(self, tick: int) -> None:
        if self.on_hour is not None:
            failed = sum(c for s, c in self._hour.statuses.items() if s >= 400 or s == 0)
            self.on_hour(
                HourReport(
                    tick=tick,
                    time=self.sim_time(tick + 1),
                    users=self.sim.population.n,
                    posts=int(self.sim.world.live().sum()),
                    actions=self._hour.kinds(),
                    failed=failed,
                )
            )
        self._hour = Totals()

    def run(self, ticks: int) -> None:
        """Run ``ticks`` more ticks (fewer if the gate stops it); on Ctrl-C stop and re-raise."""
        self.open()
        began = time.perf_counter()
        try:
            for _ in range(ticks):
                if self.gate is not None and not self.gate.between_ticks(self):
                    self.stopped_early = True
                    break
                self.run_tick()
        except KeyboardInterrupt:
            self.stopped_early = True
            raise
        finally:
            self.wall_seconds += time.perf_counter() - began

    def close(self) -> None:
        """Close the sinks and the backend; safe to call more than once."""
        for sink in self.sinks:
            sink.close()
        if self._opened:
            self.backend.close()
            self._opened = False
        if self._loop is not None:
            self._loop.close()
            self._loop = None

    def summary(self) -> dict[str, Any]:
        """The run's totals as plain data (written to summary.json)."""
        sim = self.sim
        live = int(sim.world.live().sum())
        return {
            "seed": sim.seed,
            "backend": self.backend.name,
            "ticks": sim.tick,
            "tick_seconds": sim.config.tick_seconds,
            "simulated_start": sim.config.start.isoformat(),
            "simulated_end": self.sim_time(sim.tick).isoformat(),
            "stopped_early": self.stopped_early,
            "users": sim.population.n,
            "users_by_profile": dict(
                zip(
                    sim.profile_names,
                    np.bincount(
                        sim.population.profile[: sim.population.n], minlength=len(sim.profile_names)
                    ).tolist(),
                )
            ),
            "posts_created": sim.world.n,
            "posts_live": live,
            "actions": self.totals.actions,
            "actions_by_kind": self.totals.kinds(),
            "statuses": {str(k): v for k, v in sorted(self.totals.statuses.items())},
            "errors": self.totals.errors,
            "wall_seconds": round(self.wall_seconds, 3),
            "actions_per_second": round(self.totals.actions / self.wall_seconds, 1)
            if self.wall_seconds > 0
            else None,
        }
