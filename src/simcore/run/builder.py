"""The one door to a configured run: :func:`build_run` wires a simulation, a backend,
its logs, metrics, pacing, control and snapshots, and :class:`Run` runs and finishes it.

The CLI, the tests and the benchmarks all build their runs here, so a run from a
script behaves exactly as ``simcore run`` does::

    config = loads_config(Path("profiles/default.toml").read_text())
    with build_run(config, run_dir=Path("runs/mine")) as run:
        run.execute()
    print(run.summary["actions"])

Building opens the backend before anything is written, so an unreachable target
or an app that does not import is reported before a run directory exists.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import attrs
import numpy as np

from simcore.analysis.endpoint import endpoints_of
from simcore.analysis.metrics import Metrics
from simcore.core.simulation import Simulation
from simcore.errors import UsageError
from simcore.logs.read import fastest_log
from simcore.run import rundir
from simcore.run import snapshot as snapshots
from simcore.run.clock import Pacer
from simcore.run.control import RunControl
from simcore.run.controller import Controller
from simcore.run.limits import FailureLimit
from simcore.run.logfiles import open_logs, plan_logs
from simcore.run.memory import check_memory, memory_message
from simcore.run.runfiles import MetricsSink, analyse
from simcore.run.session import RunResult, RunSession
from simcore.run.sharded import ShardedSimulation, on_workers
from simcore.run.totals import HourReport
from simcore.scenario.parse import dump_config
from simcore.scenario.routes import compile_routes
from simcore.scenario.schema import Config
from simcore.seam.contract import Backend, BackendContext, Sink
from simcore.seam.registry import load_backend


class Run:
    """A built run: execute it (all of it, or some ticks), then finish it once.

    ``finish`` closes the backend and the sinks, analyses the run and writes
    summary.json, the report and the metric files; leaving a ``with`` block
    finishes the run whatever happened inside it.
    """

    def __init__(
        self,
        config: Config,
        controller: Controller,
        session: RunSession,
        metrics: Metrics,
        log_files: list[Path],
        resumed_from: snapshots.Snapshot | None,
    ) -> None:
        self.config = config
        self.controller = controller
        self.session = session
        self.metrics = metrics
        self.log_files = log_files
        self.resumed_from = resumed_from
        self.result: RunResult | None = None
        self.summary: dict[str, Any] = {}
        self._finished = False
        self.hold_signals = False  # keep noting signals after finish() until release_signals()
        self._actions_before = controller.totals.actions  # a resumed run's earlier actions

    @property
    def directory(self) -> Path:
        """The run directory."""
        return self.session.run_dir

    @property
    def simulation(self) -> Simulation:
        """The deciding core of this run."""
        return self.controller.sim

    @property
    def backend(self) -> Backend:
        """The backend executing the run."""
        return self.controller.backend

    @property
    def control(self) -> RunControl:
        """Pause, resume, speed and stop (what keys, signals and ``simcore ctl`` change)."""
        return self.session.control

    @property
    def pacer(self) -> Pacer:
        """The pacing of the run."""
        assert self.controller.pacer is not None  # a built run is always paced (max: no waits)
        return self.controller.pacer

    @property
    def log_file(self) -> Path | None:
        """The action log snapshots track (the first), if any."""
        return self.log_files[0] if self.log_files else None

    def remaining_ticks(self) -> int:
        """Ticks left until the config's duration."""
        return max(self.config.duration_ticks - self.controller.sim.tick, 0)

    def watch(
        self,
        sink: Sink | None = None,
        on_hour: Callable[[HourReport], None] | None = None,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        """Let a view follow the run: ``sink`` sees every batch (after the logs and metrics),
        ``on_hour`` each finished simulated hour, ``on_event`` each control event (pause,
        speed, snapshot, stop)."""
        if sink is not None:
            self.controller.sinks.append(sink)
        if on_hour is not None:
            self.controller.on_hour = on_hour
        if on_event is not None:
            self.session.on_event = on_event
            self.session.control.listeners.append(on_event)

    def execute(self, ticks: int | None = None) -> RunResult:
        """Run ``ticks`` ticks (default: to the config's duration) under control."""
        self.result = self.session.run(
            self.remaining_ticks() if ticks is None else ticks, keep_signals=True
        )
        return self.result

    def finish(self) -> dict[str, Any]:
        """Close everything, analyse the run and write its summary, report and metric files."""
        if self._finished:
            return self.summary
        self._finished = True
        try:
            return self._finish()
        finally:
            if not self.hold_signals:  # a signal while the files were written was only noted
                self.session.release_signals()

    def release_signals(self) -> None:
        """Give SIGINT and SIGTERM back after a run whose ``hold_signals`` was set (the CLI
        holds them until it has printed the summary: a late Ctrl-C is noted, not an abort)."""
        self.session.release_signals()

    def _finish(self) -> dict[str, Any]:
        controller, session = self.controller, self.session
        controller.close()
        _close_workers(controller.sim)
        summary = controller.summary()
        summary["log"] = str(self.log_file) if self.log_file else None
        summary["logs"] = [rundir.shown(p, self.directory) for p in self.log_files]
        summary["pacing"] = self.pacer.summary()
        if isinstance(controller.sim, ShardedSimulation):
            summary["workers"] = controller.sim.pool.workers
        summary["pacing"]["actions_per_second"] = self.real_actions_per_second()
        summary["stopped_by"] = self.result.stopped_by if self.result else "error"
        summary["snapshot"] = str(session.last_snapshot) if session.last_snapshot else None
        if self.resumed_from is not None:
            summary["resumed_from"] = str(self.resumed_from.path)
        fastest = fastest_log(self.log_files)
        summary = analyse(
            self.directory,
            self.metrics,
            summary,
            dict(self.config.thresholds),
            dump_config(self.config),
            fastest,
        )
        rundir.write_summary(self.directory, summary)
        self.summary = summary
        return summary

    def real_actions_per_second(self) -> float | None:
        """Actions this process executed per real second of running (paused time left out)."""
        controller = self.controller
        running = controller.wall_seconds - self.pacer.paused_seconds
        actions = controller.totals.actions - self._actions_before
        return round(actions / running, 1) if running > 0 and actions else None

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.finish()


def resume_dir(snapshot: snapshots.Snapshot) -> Path:
    """The run directory a snapshot belongs to (snapshots live in RUN_DIR/snapshots/)."""
    parent = snapshot.path.resolve().parent
    return parent.parent if parent.name == snapshots.SNAPSHOT_DIR else parent


def _workers(config: Config, workers: int | None, ray_address: str | None) -> ShardedSimulation | None:
    """Ray workers for the run (``ray_address``: join that cluster; there, without
    ``workers``, one worker per node), or None: one process."""
    if workers is None and ray_address is None:
        return None
    return ShardedSimulation.start(config, workers or 0, ray_address)


def _close_workers(sim: Simulation | None) -> None:
    if isinstance(sim, ShardedSimulation):
        sim.close()


def with_namespace(config: Config, resume: snapshots.Snapshot | None = None) -> Config:
    """``config`` with ``backend.namespace`` (the routes' ``{run}``) filled in: the config's own
    if set, else the resumed run's, else a fresh random token when a route uses ``{run}``.
    The run directory's config.toml and the snapshots keep it, so ``--resume`` reuses it."""
    backend = config.backend
    if backend.namespace:
        return config
    namespace = resume.config.backend.namespace if resume is not None else ""
    if not namespace and any("run" in r.needs for r in compile_routes(backend.routes).values()):
        namespace = secrets.token_hex(4)
    if not namespace:
        return config
    return attrs.evolve(config, backend=attrs.evolve(backend, namespace=namespace))


def _open_backend(config: Config, backend: Backend | None, options: Mapping[str, Any]) -> Backend:
    built = backend if backend is not None else load_backend(config.backend.name, **options)
    built.open(BackendContext(config))
    return built


def _directory(
    config: Config, run_dir: Path | None, stem: str, resume: snapshots.Snapshot | None
) -> tuple[Path, str]:
    """The run directory and where its path came from (for messages)."""
    if run_dir is not None:
        return Path(run_dir), "--out"
    if resume is not None:
        return resume_dir(resume), "the snapshot's run directory"
    return rundir.choose(Path(config.output.directory), stem, config.seed), "output.directory"


def build_run(
    config: Config,
    *,
    run_dir: Path | None = None,
    stem: str = "run",
    backend: Backend | None = None,
    backend_options: Mapping[str, Any] | None = None,
    logs: Sequence[str] = (),
    resume: snapshots.Snapshot | None = None,
    speed: float | None = None,
    rate: float | None = None,
    snapshot_every: int | None = None,
    control_socket: bool = True,
    handle_signals: bool = True,
    sinks: Sequence[Sink] = (),
    workers: int | None = None,
    ray_address: str | None = None,
) -> Run:
    """Build a run of ``config`` (resumed from ``resume`` if given).

    ``run_dir``: where it writes (default: ``output.directory/STEM-seedN``, the next
    free name; on resume, the snapshot's run directory). ``backend``: an instance
    to use (it is opened here); default: the config's ``backend.name`` from the
    entry points, built with ``backend_options``. ``logs``: ``--log`` choices
    (default: ``output.log``). ``speed``: simulated seconds per real second (None:
    as fast as possible). ``rate``: actions per real second to aim at (None: none;
    with one, ``speed`` is the upper bound of the simulated speed). ``sinks`` see every
    batch after the logs and metrics (views can also join later: :meth:`Run.watch`).
    ``workers``: decide on that many Ray workers (``ray_address``: on that cluster; see
    :mod:`simcore.run.sharded`), the same run.
    """
    config = with_namespace(config, resume)
    opened = _open_backend(config, backend, backend_options or {})
    directory, origin = _directory(config, run_dir, stem, resume)
    created = not directory.exists()
    try:
        sharded = _workers(config, workers, ray_address)
    except BaseException:
        opened.close()
        raise
    if sharded is not None and backend is None:  # built by name: each worker may run its own
        try:
            opened = on_workers(sharded, opened, config, backend_options or {})
        except BaseException:
            opened.close()
            _close_workers(sharded)
            raise
    try:
        fresh = resume is None or directory.resolve() != resume_dir(resume).resolve()
        rundir.claim(directory, origin, fresh=fresh)
        targets, own = plan_logs(logs, resume if not fresh else None, directory, config)
        check_memory(config)
        rundir.prepare(directory, config)
        try:
            sim = sharded if sharded is not None else Simulation(config)
        except MemoryError:
            raise UsageError(memory_message(config, "numpy could not allocate its arrays")) from None
        all_sinks: list[Sink] = open_logs(targets, None if fresh else resume, own, sim)
        log_files = [path for _, path in targets]
    except BaseException:
        opened.close()
        _close_workers(sharded)
        if created:
            rundir.remove_if_unused(directory)
        raise
    metrics = Metrics(
        config.tick_seconds,
        config.start,
        sim.routine.state_names,
        sim.profile_names,
        endpoints=endpoints_of(config),
    )
    metrics.population_states = lambda: sim.population.state[: sim.population.n]
    metrics.population_sessions = lambda: int(
        np.count_nonzero(sim.population.session_left[: sim.population.n])
    )
    all_sinks.append(MetricsSink(metrics, directory))  # before restore(): snapshots carry its state
    control = RunControl(speed, rate)
    all_sinks.append(FailureLimit(config.limits, control))
    all_sinks.extend(sinks)
    pacer = Pacer(config.tick_seconds, speed, flags=control, rate=rate)
    controller = Controller(sim, opened, all_sinks, pacer=pacer, opened=True)
    if resume is not None:
        try:
            snapshots.restore(resume, controller)
        except BaseException:
            controller.close()
            _close_workers(sim)
            raise
    session = RunSession(
        controller,
        directory,
        control,
        log_file=log_files[0] if log_files else None,
        snapshot_every=snapshot_every,
        serve_control=control_socket,
        handle_signals=handle_signals,
    )
    return Run(config, controller, session, metrics, log_files, resume)
