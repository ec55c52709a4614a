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

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from simcore.analysis.endpoint import endpoints_of
from simcore.analysis.metrics import Metrics
from simcore.core.simulation import Simulation
from simcore.errors import UsageError
from simcore.logs.fields import LogHeader
from simcore.logs.formats import format_of, log_targets
from simcore.logs.jsonl import JsonlSink
from simcore.logs.parquet import parts_of
from simcore.logs.read import fastest_log
from simcore.logs.sinks import open_sink
from simcore.run import rundir
from simcore.run import snapshot as snapshots
from simcore.run.clock import Pacer
from simcore.run.control import RunControl
from simcore.run.controller import Controller
from simcore.run.runfiles import MetricsSink, analyse
from simcore.run.session import RunResult, RunSession
from simcore.run.totals import HourReport
from simcore.scenario.parse import dump_config
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
            self.session.release_signals()  # a signal while the files were written was only noted

    def _finish(self) -> dict[str, Any]:
        controller, session = self.controller, self.session
        controller.close()
        summary = controller.summary()
        summary["log"] = str(self.log_file) if self.log_file else None
        summary["logs"] = [rundir.shown(p, self.directory) for p in self.log_files]
        summary["pacing"] = self.pacer.summary()
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


def _inside(path: Path, directory: Path) -> bool:
    return path.resolve().is_relative_to(directory.resolve())


def _own_log(resume: snapshots.Snapshot, directory: Path) -> Path | None:
    """The log the snapshot's run wrote (None if it wrote none), refused unless it lies inside
    the run directory: a resume only ever touches the logs of the run it continues."""
    saved = resume.manifest.get("log")
    name = saved.get("path") if isinstance(saved, dict) else None
    if name is None:
        return None
    if not isinstance(name, str) or not name or "\0" in name:
        raise snapshots.SnapshotError(
            f"{resume.path}: its manifest names the log {name!r}, expected a file name in the run "
            "directory; pass --log to log the rest elsewhere (or --log none)"
        )
    own = directory / name
    if not _inside(own, directory):
        raise snapshots.SnapshotError(
            f"{resume.path}: its manifest names the log '{name}', outside the run directory "
            f"{directory}; a resume only continues logs inside its run directory: pass --log "
            "to log the rest elsewhere (or --log none)"
        )
    return own


def plan_logs(
    choices: Sequence[str],
    resume: snapshots.Snapshot | None,
    directory: Path,
    config: Config,
) -> tuple[list[tuple[str, Path]], Path | None]:
    """The ``(format, path)`` of each action log a run writes, and the log of the snapshot
    it continues (None: none is continued).

    Refuses (before anything is written) a log file that exists and is not one this run
    directory's run wrote: a new run never overwrites an existing file, and a resumed run
    only continues or replaces logs inside its run directory.
    """
    own = _own_log(resume, directory) if resume is not None else None
    if choices:
        targets = log_targets(list(choices), directory, Path.cwd())
    elif resume is not None:
        targets = [(format_of(own), own)] if own is not None else []
    else:
        targets = log_targets([config.output.log], directory)
    for _fmt, path in targets:
        where = "--log" if choices else "output.log"
        if path.is_dir():
            raise UsageError(f"{where}: '{path}' is a directory, expected a log file name")
        above = path.parent
        while not above.exists() and above != above.parent:
            above = above.parent
        if not above.is_dir():
            raise UsageError(f"{where}: cannot create '{path}': '{above}' is a file, not a directory")
        if path.exists() and (resume is None or not _inside(path, directory)):
            raise UsageError(
                f"{where}: '{path}' already exists; simcore never overwrites a file it did not "
                "create in this run: give a new file name, or move the old file away"
            )
    return targets, own


def open_logs(
    targets: Sequence[tuple[str, Path]],
    resume: snapshots.Snapshot | None,
    own: Path | None,
    sim: Simulation,
) -> list[Sink]:
    """The sinks of the logs :func:`plan_logs` chose.

    On resume a JSONL log the snapshot continues is cut back to the snapshot's byte
    position and appended to; SQLite and Parquet logs keep their rows before the
    snapshot's sequence number.
    """
    header = LogHeader.of(sim)
    sinks: list[Sink] = []
    for fmt, path in targets:
        try:
            if (
                resume is not None
                and fmt == "jsonl"
                and own is not None
                and path.resolve() == own.resolve()
            ):
                snapshots.truncate_log(path, _log_bytes(resume))
                sinks.append(JsonlSink(path, header, append=True))
            elif resume is not None and fmt != "jsonl" and (path.exists() or parts_of(path).is_dir()):
                sinks.append(open_sink(fmt, path, header, keep_before=resume.seq))
            else:
                sinks.append(open_sink(fmt, path, header))
        except OSError as exc:
            for sink in sinks:
                sink.close()
            raise UsageError(f"cannot open the action log '{path}': {exc.strerror or exc}") from None
    return sinks


def _log_bytes(resume: snapshots.Snapshot) -> int:
    size = resume.manifest["log"].get("bytes")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise snapshots.SnapshotError(
            f"{resume.path}: its manifest gives the log position {size!r}, expected a byte count "
            ">= 0 (edited or damaged); resume from another snapshot, or pass --log to log elsewhere"
        )
    return size


def _open_backend(config: Config, backend: Backend | None, options: Mapping[str, Any]) -> Backend:
    built = backend if backend is not None else load_backend(config.backend.name, **options)
    built.open(BackendContext(config))
    return built


#: Memory a run holds per user (core, metrics, backend and per-tick temporaries), measured
#: as the peak resident size of 2,000,000 users (about 185 bytes each) with some margin.
BYTES_PER_USER = 200


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def peak_users(config: Config) -> tuple[int, str]:
    """An upper bound of the users a run reaches, and the key that sets it."""
    pop = config.population
    hours = config.duration_ticks * config.tick_seconds / 3600
    rate = pop.arrivals.rate_per_hour + max(pop.arrivals.slope_per_day, 0.0) * hours / 24
    arriving = rate * hours * 1.1 + 100  # Poisson: well above the mean
    if pop.initial_users + arriving < pop.max_users:
        key = (
            "population.arrivals.rate_per_hour"
            if arriving > pop.initial_users
            else "population.initial_users"
        )
        return int(pop.initial_users + arriving), key
    key = "population.initial_users" if pop.initial_users >= pop.max_users else "population.max_users"
    return pop.max_users, key


def _memory_message(config: Config, why: str) -> str:
    users, key = peak_users(config)
    return (
        f"{key}: up to {users:,} users, who need about {users * BYTES_PER_USER / 2**30:.1f} GiB; "
        f"{why}. Simulate fewer users (--users N, population.max_users) or a shorter --duration"
    )


def check_memory(config: Config) -> None:
    """Refuse a population the machine's free memory cannot hold, before allocating it
    (an allocation the kernel overcommits would otherwise end in the OOM killer)."""
    available = _available_memory()
    need = peak_users(config)[0] * BYTES_PER_USER
    if available is not None and need > available:
        raise UsageError(_memory_message(config, f"this machine has {available / 2**30:.1f} GiB free"))


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
    snapshot_every: int | None = None,
    control_socket: bool = True,
    handle_signals: bool = True,
    sinks: Sequence[Sink] = (),
) -> Run:
    """Build a run of ``config`` (resumed from ``resume`` if given).

    ``run_dir``: where it writes (default: ``output.directory/STEM-seedN``, the next
    free name; on resume, the snapshot's run directory). ``backend``: an instance
    to use (it is opened here); default: the config's ``backend.name`` from the
    entry points, built with ``backend_options``. ``logs``: ``--log`` choices
    (default: ``output.log``). ``speed``: simulated seconds per real second (None:
    as fast as possible). ``sinks`` see every batch after the logs and metrics
    (views can also join later: :meth:`Run.watch`).
    """
    opened = _open_backend(config, backend, backend_options or {})
    directory, origin = _directory(config, run_dir, stem, resume)
    created = not directory.exists()
    try:
        fresh = resume is None or directory.resolve() != resume_dir(resume).resolve()
        rundir.claim(directory, origin, fresh=fresh)
        targets, own = plan_logs(logs, resume if not fresh else None, directory, config)
        check_memory(config)
        rundir.prepare(directory, config)
        try:
            sim = Simulation(config)
        except MemoryError:
            raise UsageError(_memory_message(config, "numpy could not allocate its arrays")) from None
        all_sinks: list[Sink] = open_logs(targets, None if fresh else resume, own, sim)
        log_files = [path for _, path in targets]
    except BaseException:
        opened.close()
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
    all_sinks.extend(sinks)
    control = RunControl(speed)
    pacer = Pacer(config.tick_seconds, speed, flags=control)
    controller = Controller(sim, opened, all_sinks, pacer=pacer, opened=True)
    if resume is not None:
        snapshots.restore(resume, controller)
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
