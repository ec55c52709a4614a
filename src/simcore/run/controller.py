"""The run loop: step the core, hand each batch to the backend and the sinks, report progress.

This is the shell around the pure core: it owns the backend's lifecycle, the
wall clock and the sinks. Nothing it learns (statuses, latencies) flows back
into the simulation's decisions.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from simcore.core.actions import ActionBatch
from simcore.core.simulation import Simulation
from simcore.errors import BackendError
from simcore.run.clock import Pacer
from simcore.run.totals import HourReport, Totals
from simcore.scenario.durations import ends_hour
from simcore.seam.contract import (
    AsyncBackend,
    Backend,
    BackendContext,
    Outcomes,
    OwnsEventLoop,
    Paced,
    Pipelined,
    Sink,
    SyncBackend,
    failed_status,
)


class TickGate(Protocol):
    """Consulted before every tick (pauses, speed changes, snapshots); False stops the run."""

    def between_ticks(self, controller: Controller) -> bool:
        """Act between two ticks; return whether to go on."""

    def idle_at(self, tick: int) -> bool:
        """Whether :meth:`between_ticks` would do nothing before ``tick`` (then a pipelined run
        need not drain its ticks in flight to call it)."""


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
        opened: bool = False,
    ) -> None:
        """``opened``: the caller already opened ``backend`` (the controller still closes it)."""
        self.sim = sim
        self.pacer = pacer  # paces dispatch in real time (None: as fast as possible)
        self.gate = gate  # pause / speed / stop / periodic snapshots between ticks
        self.backend = backend
        self.sinks: list[Sink] = list(sinks or [])
        self.on_hour = on_hour
        self.totals = Totals()
        self.wall_seconds = 0.0
        self.stopped_early = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._hour = Totals()
        self._opened = opened
        self.ticks_done = sim.tick  # ticks whose outcomes reached the sinks
        self.max_ticks_in_flight = 0  # the most ticks a pipelined run had in flight at once
        self._gated = -1  # the tick the gate was last consulted before

    def sim_time(self, tick: int) -> dt.datetime:
        """Simulated wall-clock time at the start of ``tick``."""
        return self.sim.config.start + dt.timedelta(seconds=tick * self.sim.config.tick_seconds)

    def open(self) -> None:
        """Open the backend (idempotent)."""
        if not self._opened:
            self.backend.open(BackendContext(self.sim.config))
            self._opened = True

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            # an async backend may bring its own loop (the http backend's uvloop)
            backend = self.backend
            if isinstance(backend, OwnsEventLoop):
                self._loop = backend.new_event_loop()
            else:
                self._loop = asyncio.new_event_loop()
        return self._loop

    def _execute(self, batch: ActionBatch) -> Outcomes:
        if self.pacer is None:
            return self._execute_now(batch)
        backend = self.backend
        if not isinstance(backend, Paced):
            return self.pacer.dispatch(batch, self._execute_now)
        loop = self._event_loop()
        return self.pacer.dispatch(
            batch, self._execute_now, lambda b, d: loop.run_until_complete(backend.execute_paced(b, d))
        )

    def _execute_now(self, batch: ActionBatch) -> Outcomes:
        if isinstance(self.backend, AsyncBackend):
            return self._event_loop().run_until_complete(self.backend.execute_async(batch))
        if isinstance(self.backend, SyncBackend):
            return self.backend.execute(batch)
        raise BackendError(
            f"backend {self.backend.name!r} has neither execute(batch) nor async "
            "execute_async(batch); see README, 'Writing a backend'"
        )

    @property
    def pipeline(self) -> int:
        """Ticks an async backend may have in flight at once (its ``pipeline``; 1 for the rest)."""
        if not isinstance(self.backend, AsyncBackend) or not isinstance(self.backend, Pipelined):
            return 1
        return max(1, int(self.backend.pipeline or 1))

    @property
    def mid_tick(self) -> bool:
        """True while a stepped tick is not yet fully recorded (the state is not a tick edge)."""
        return self.sim.tick != self.ticks_done

    def run_tick(self) -> tuple[ActionBatch, Outcomes]:
        """Step one tick, execute it, and feed the sinks."""
        batch = self.sim.step()
        outcomes = self._execute(batch)
        self._finish(batch, outcomes)
        return batch, outcomes

    def _pipelines(self) -> bool:
        """Whether the next ticks may overlap: an async backend with a pipeline, unless the run
        is paced and the backend paces itself (``execute_paced``). Paced, each slice is sent
        at its due time without waiting for the earlier slices' answers."""
        if self.pipeline <= 1:
            return False
        return self.pacer is None or not self.pacer.paced or not isinstance(self.backend, Paced)

    def _pass_gate(self) -> bool:
        """Consult the gate once before the current tick; False: stop the run."""
        tick = self.sim.tick
        if self.gate is None or self._gated == tick:
            return True
        self._gated = tick
        if self.gate.between_ticks(self):
            return True
        self.stopped_early = True
        return False

    async def _drain(self, window: deque[tuple[ActionBatch, asyncio.Future[Outcomes]]]) -> None:
        while window:
            done, future = window.popleft()
            self._finish(done, await future)

    async def _run_pipelined(self, ticks: int) -> int:
        """Step ahead while up to ``pipeline`` ticks are in flight; finish them in order.

        The core's decisions never depend on outcomes, so stepping ahead changes
        nothing in the log; the backend keeps the effects in order. A paced run hands
        each tick over slice by slice at its due times. Returns the ticks stepped; it
        returns early (drained) when the run stops or may no longer pipeline.
        """
        assert isinstance(self.backend, AsyncBackend)  # only async backends pipeline
        depth, stepped = self.pipeline, 0
        window: deque[tuple[ActionBatch, asyncio.Future[Outcomes]]] = deque()
        try:
            while stepped < ticks:
                while window and (len(window) >= depth or window[0][1].done()):
                    done, future = window.popleft()
                    self._finish(done, await future)
                if self.gate is not None and not self.gate.idle_at(self.sim.tick):
                    # a snapshot, pause, speed change or stop needs a tick edge: drain first
                    await self._drain(window)
                    if not self._pass_gate() or not self._pipelines():
                        break
                batch = self.sim.step()
                stepped += 1
                if self.pacer is not None:  # paced: returns when the tick's end is due
                    future = await self.pacer.dispatch_async(batch, self.backend.execute_async)
                else:
                    future = asyncio.ensure_future(self.backend.execute_async(batch))
                window.append((batch, future))
                self.max_ticks_in_flight = max(self.max_ticks_in_flight, len(window))
                await asyncio.sleep(0)  # let the requests move between two steps
                if ends_hour(batch.tick, self.sim.config.tick_seconds):
                    # sinks sample the population at an hour's end: let them see the core
                    # as it stood after this tick, not ticks ahead (one drain an hour)
                    await self._drain(window)
            await self._drain(window)
        finally:
            for _, future in window:
                future.cancel()
            if window:
                await asyncio.gather(*(f for _, f in window), return_exceptions=True)
        return stepped

    def _run_ticks(self, ticks: int) -> int:
        """Run up to ``ticks`` ticks one after another; stop early when the run stops or may
        pipeline again. Returns the ticks run."""
        for done in range(ticks):
            if self._pipelines() or not self._pass_gate():
                return done
            self.run_tick()
        return ticks

    def _run_on_loop(self, ticks: int) -> int:
        loop = self._event_loop()
        task = loop.create_task(self._run_pipelined(ticks))
        try:
            return loop.run_until_complete(task)
        except BaseException:
            # Ctrl-C: the ticks in flight are dropped, the log ends with the last whole tick
            # (a task that ended in KeyboardInterrupt must not be run again: asyncio would
            # never stop the loop for it)
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    loop.run_until_complete(task)
            elif not task.cancelled():
                task.exception()  # retrieved: it is being re-raised here
            raise

    def _finish(self, batch: ActionBatch, outcomes: Outcomes) -> None:
        """Check a batch's outcomes, feed the sinks and the totals, report a finished hour."""
        if not isinstance(outcomes, Outcomes) or len(outcomes) != len(batch):
            raise TypeError(
                f"backend {self.backend.name!r} returned {outcomes!r} for {len(batch)} actions"
            )
        for sink in self.sinks:
            sink.write(batch, outcomes)
        self.ticks_done = batch.tick + 1
        counted = Totals.of(batch, outcomes)
        self.totals.merge(counted)
        self._hour.merge(counted)
        if ends_hour(batch.tick, self.sim.config.tick_seconds):
            self._report_hour(batch.tick)

    def _report_hour(self, tick: int) -> None:
        if self.on_hour is not None:
            users, _, live = self._counts()
            failed = sum(c for s, c in self._hour.statuses.items() if failed_status(s))
            self.on_hour(
                HourReport(
                    tick=tick,
                    time=self.sim_time(tick + 1),
                    users=int(users.sum()),
                    posts=live,
                    actions=self._hour.kinds(self.sim.config.kind_set.names),
                    failed=failed,
                )
            )
        self._hour = Totals()

    def run(self, ticks: int) -> None:
        """Run ``ticks`` more ticks (fewer if the gate stops it); on Ctrl-C stop and re-raise.

        Ticks overlap (up to an async backend's ``pipeline``), paced or not; other backends
        (and self-pacing ones while paced) run tick by tick."""
        self.open()
        began = time.perf_counter()
        try:
            left = ticks
            while left > 0 and not self.stopped_early:
                left -= self._run_on_loop(left) if self._pipelines() else self._run_ticks(left)
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

    def users_before(self, tick: int) -> int:
        """Users who had signed up before ``tick`` (the core may have stepped past it)."""
        pop = self.sim.population
        return int(np.count_nonzero(pop.created_tick[: pop.n] < tick))

    def _counts(self) -> tuple[np.ndarray, int, int]:
        """Users (a mask), posts created and posts live as of the last tick in the log.

        With ticks in flight (an async backend's pipeline) the core may have stepped
        ahead of the log; these count only what the logged ticks did.
        """
        upto = self.ticks_done
        pop, world = self.sim.population, self.sim.world
        users = pop.created_tick[: pop.n] < upto
        made = world.created_tick[: world.n] < upto
        gone = (world.deleted_tick[: world.n] >= 0) & (world.deleted_tick[: world.n] < upto)
        return users, int(made.sum()), int((made & ~gone).sum())

    def summary(self) -> dict[str, Any]:
        """The run's totals as plain data (written to summary.json)."""
        sim = self.sim
        users, created, live = self._counts()
        return {
            "seed": sim.seed,
            "backend": self.backend.name,
            "ticks": self.ticks_done,
            "tick_seconds": sim.config.tick_seconds,
            "simulated_start": sim.config.start.isoformat(),
            "simulated_end": self.sim_time(self.ticks_done).isoformat(),
            "stopped_early": self.stopped_early,
            "users": int(users.sum()),
            "users_by_profile": dict(
                zip(
                    sim.profile_names,
                    np.bincount(
                        sim.population.profile[: sim.population.n][users],
                        minlength=len(sim.profile_names),
                    ).tolist(),
                )
            ),
            "posts_created": created,
            "posts_live": live,
            "actions": self.totals.actions,
            "actions_by_kind": self.totals.kinds(self.sim.config.kind_set.names),
            "statuses": {str(k): v for k, v in sorted(self.totals.statuses.items())},
            "errors": self.totals.errors,
            "wall_seconds": round(self.wall_seconds, 3),
            "max_ticks_in_flight": self.max_ticks_in_flight,
            "actions_per_second": round(self.totals.actions / self.wall_seconds, 1)
            if self.wall_seconds > 0
            else None,
        }
