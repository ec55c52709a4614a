"""``simcore run``: options into a config, the run built by :func:`simcore.run.builder.build_run`,
progress and results printed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from simcore.analysis.compare import CompareOptions
from simcore.analysis.thresholds import EXIT_THRESHOLDS_FAILED
from simcore.errors import UsageError
from simcore.run import rundir
from simcore.run import snapshot as snapshots
from simcore.run.builder import Run, build_run
from simcore.run.clock import SPEED_HELP, format_speed, parse_speed
from simcore.run.comparison import check_run_dir, compare_runs
from simcore.run.limits import EXIT_FAILURE_LIMIT, stopped_by_limit
from simcore.run.loading import load_config
from simcore.run.rate import RATE_HELP, format_rate, parse_rate
from simcore.run.runfiles import REPORT_FILE
from simcore.scenario.backendcheck import target_problem
from simcore.scenario.durations import DURATION_HELP, parse_ticks
from simcore.scenario.parse import with_overrides
from simcore.scenario.schema import Config
from simcore.ui.compare_command import report_comparison
from simcore.ui.dashboard import Dashboard, LiveStats
from simcore.ui.keys import KeyReader
from simcore.ui.plainlines import PlainLines
from simcore.ui.summary import print_thresholds, snapshot_warning, stop_message, summary_table
from simcore.ui.webview import exported


def apply_options(config: Config, seed: int | None, duration: str | None, users: int | None) -> Config:
    """``--seed``, ``--duration`` and ``--users`` applied to ``config`` (shared with ``simcore plan``)."""
    changes: dict[str, Any] = {}
    if seed is not None:
        changes["seed"] = seed
    if duration is not None:
        try:
            parse_ticks(duration, config.tick_seconds)
        except ValueError:
            raise UsageError(f"--duration: got {duration!r}, expected {DURATION_HELP}") from None
        changes["duration"] = duration
    if users is not None:
        if users < 0:
            raise UsageError(f"--users: got {users}, expected a count >= 0")
        changes["population__initial_users"] = users
        if users > config.population.max_users:
            changes["population__max_users"] = users
    return with_overrides(config, **changes) if changes else config


def _backend_options(
    config: Config, backend_name: str | None, target: str | None, app_spec: str | None
) -> Config:
    changes: dict[str, Any] = {}
    if backend_name is not None:
        changes["backend__name"] = backend_name
    if target is not None:
        problem = target_problem(target)
        if problem:
            raise UsageError(f"--target: {problem}")
        changes["backend__target"] = target
    if app_spec is not None:
        changes["backend__app"] = app_spec
    return with_overrides(config, **changes) if changes else config


def _snapshot_every(text: str | None, tick_seconds: int) -> int | None:
    if text is None or text.lower() in ("none", "never", "0"):
        return None
    try:
        return max(1, parse_ticks(text, tick_seconds))
    except ValueError:
        raise UsageError(f"--snapshot-every: got {text!r}, expected {DURATION_HELP}") from None


_STOP_CODES = {"SIGINT": 130, "SIGTERM": 143}
EXIT_WORKER_LOST = (
    5  # a worker died (3: thresholds failed, 4: a failure limit): the run stopped at its last whole tick
)


@click.command()
@click.argument("config_file", metavar="[CONFIG]", required=False, type=click.Path(path_type=Path))
@click.option("--seed", type=int, help="Random seed (overrides the config's `seed`).")
@click.option(
    "--backend",
    "backend_name",
    metavar="NAME",
    help="Backend that executes the actions (default: the config's backend.name).",
)
@click.option("--duration", metavar="DURATION", help="How long to simulate: 6h, 2d, 90m, '1440 ticks'.")
@click.option("--users", type=int, metavar="N", help="Initial population (population.initial_users).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Run directory (default: output.directory/PROFILE-seedN; on --resume, the snapshot's run).",
)
@click.option(
    "--log",
    "log_choices",
    multiple=True,
    metavar="jsonl|sqlite|parquet|none|PATH",
    help="Action log format(s), repeatable or comma-separated, or a file whose suffix picks the "
    "format, or 'none' (default: the config's output.log, RUN_DIR/actions.jsonl).",
)
@click.option(
    "--target",
    metavar="URL",
    help="Base URL of the server the http backend drives (backend.target), e.g. http://127.0.0.1:8000.",
)
@click.option(
    "--app",
    "app_spec",
    metavar="MODULE:ATTR",
    help="FastAPI app the testclient backend drives (backend.app; default: the reference app).",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only the final summary.")
@click.option(
    "--speed",
    "speed_text",
    metavar="max|N",
    help=f"Pacing: {SPEED_HELP} (default max). With --rate: the upper bound of the simulated speed.",
)
@click.option(
    "--rate",
    "rate_text",
    metavar="N",
    help=f"Aim at N real actions per second: {RATE_HELP}. Each tick lasts its actions / N seconds "
    "(quiet hours run faster, peaks slower); see `simcore plan`.",
)
@click.option(
    "--snapshot-every",
    "snapshot_every",
    metavar="DURATION",
    help="Write a snapshot every DURATION of simulated time (e.g. 1h); one is always written at a stop.",
)
@click.option(
    "--resume",
    "resume_from",
    type=click.Path(path_type=Path),
    metavar="SNAPSHOT|RUN_DIR",
    help="Continue the run a snapshot (or a run directory's latest one) was taken of.",
)
@click.option(
    "--baseline",
    "baseline",
    type=click.Path(path_type=Path),
    metavar="RUN_DIR",
    help="Then compare this run (B) with RUN_DIR (A), a run of the same config and seed, as "
    "`simcore compare` does (compare.json and compare.html in this run's directory; exit 3 on a regression).",
)
@click.option("--force", is_flag=True, help="With --resume: continue even if the config changed.")
@click.option(
    "--dashboard/--no-dashboard",
    default=None,
    help="Live dashboard (default: on when stdout is a terminal; plain lines otherwise).",
)
@click.option(
    "--control/--no-control",
    "control_socket",
    default=True,
    help="Serve RUN_DIR/control.sock for `simcore ctl` (default: on).",
)
@click.option(
    "--web", is_flag=True, help="Serve a live page with controls and /metrics (see --web-bind)."
)
@click.option(
    "--web-bind",
    metavar="HOST:PORT",
    default=None,
    help="Where --web listens (default 127.0.0.1:8089; another host is reachable by others).",
)
@click.option(
    "--web-linger",
    type=float,
    default=2.0,
    metavar="SECONDS",
    help="Keep the page (and its report link) up this long after the run ends (default 2).",
)
@click.option(
    "--otel-endpoint",
    metavar="URL",
    help="Export the run's metrics through OpenTelemetry (OTLP/HTTP) to URL, e.g. http://127.0.0.1:4318.",
)
@click.option(
    "--workers",
    type=int,
    metavar="N",
    help="Decide and drive users on N Ray workers (pip install 'simcore[ray]'): the same run, "
    "more load; default: one process. See README, 'Scaling out'.",
)
@click.option(
    "--ray-address",
    metavar="ADDR",
    help="Join the Ray cluster at ADDR (`ray start --head` prints it) instead of a local one; "
    "without --workers, one worker per node.",
)
def run(
    config_file: Path | None,
    seed: int | None,
    backend_name: str | None,
    duration: str | None,
    users: int | None,
    out_dir: Path | None,
    log_choices: tuple[str, ...],
    target: str | None,
    app_spec: str | None,
    quiet: bool,
    speed_text: str | None,
    rate_text: str | None,
    snapshot_every: str | None,
    resume_from: Path | None,
    force: bool,
    baseline: Path | None,
    dashboard: bool | None,
    control_socket: bool,
    web: bool,
    web_bind: str | None,
    web_linger: float,
    otel_endpoint: str | None,
    workers: int | None,
    ray_address: str | None,
) -> None:
    """Run the simulation described by CONFIG (a TOML profile), or continue one with --resume.

    \b
    While it runs: space pauses/resumes, +/- change the speed (the rate with --rate),
    q stops (dashboard);
    `simcore ctl RUN_DIR pause|resume|stop|speed N|rate N|snapshot|status` from another
    terminal, or the page of --web;
    Ctrl-C stops after the current tick and writes a snapshot (twice: at once).
    """
    speed, rate = parse_speed(speed_text), parse_rate(rate_text)  # bad values fail before any work
    if baseline is not None:
        check_run_dir(baseline, "--baseline")
    config, snap = _scenario(config_file, resume_from)
    config = apply_options(config, seed, duration, users)
    config = _backend_options(config, backend_name, target, app_spec)
    changes = snapshots.check_resume(snap, config, config.backend.name, force) if snap else []
    # --target and --app are also handed to the backend, which refuses what it takes no option for
    options = {k: v for k, v in (("target", target), ("app", app_spec)) if v is not None}
    built = build_run(
        config,
        backend_options=options,
        run_dir=out_dir,
        stem=config_file.stem if config_file is not None else "run",
        logs=log_choices,
        resume=snap,
        speed=speed,
        rate=rate,
        snapshot_every=_snapshot_every(snapshot_every, config.tick_seconds),
        control_socket=control_socket,
        workers=workers,
        ray_address=ray_address,
    )
    console = Console(highlight=False, soft_wrap=True)
    live = (console.is_terminal and not quiet) if dashboard is None else (dashboard and not quiet)
    view = _attach_views(built, console, live, quiet)
    if not quiet:
        _print_start(console, built, config_file, changes)
    web_on = web or web_bind is not None
    built.hold_signals = True  # a Ctrl-C while the files are written and printed is only noted
    web_view = None
    try:
        with exported(built, console, web_on, web_bind, web_linger, otel_endpoint) as web_view, built:
            _execute(built, view)
        code = _print_end(console, built)
        stopped = built.result is not None and built.result.stopped_by is not None
        if baseline is not None and not stopped:
            result = compare_runs(baseline, built.directory, built.directory, CompareOptions())
            code = max(code, report_comparison(console, result, built.directory))
        elif baseline is not None:
            console.print("[yellow]the run was stopped: not compared with the baseline[/]")
    finally:
        built.release_signals()
        if web_view is not None:
            web_view.close()
    if code:
        sys.exit(code)


def _scenario(
    config_file: Path | None, resume_from: Path | None
) -> tuple[Config, snapshots.Snapshot | None]:
    """The config to run (the file's, else the snapshot's) and the snapshot to resume from."""
    if config_file is None and resume_from is None:
        raise UsageError("give a CONFIG file (e.g. profiles/default.toml), or --resume SNAPSHOT")
    snap = snapshots.load(resume_from) if resume_from is not None else None
    if config_file is not None:
        return load_config(config_file), snap
    assert snap is not None
    return snap.config, snap


def _attach_views(built: Run, console: Console, live: bool, quiet: bool) -> Dashboard | None:
    """The live dashboard (``live``), else plain hourly and event lines (unless ``quiet``)."""
    if live:
        stats = LiveStats(kinds=built.config.kind_set)
        view = Dashboard(
            built.controller, stats, built.control, built.pacer, built.config.duration_ticks, console
        )
        built.watch(sink=stats, on_event=view.note)
        return view
    if not quiet:
        plain = PlainLines(console, built.pacer)
        plain.controller = built.controller
        built.watch(sink=plain, on_hour=plain.hour, on_event=plain.event)
    return None


def _execute(built: Run, view: Dashboard | None) -> None:
    """Run to the end, with the dashboard and its keys when there is one."""
    keys = KeyReader(built.control)
    if view is not None:
        view.start()
        keys.start()
    try:
        built.execute()
    finally:
        keys.stop()
        if view is not None:
            view.stop()


def _print_start(console: Console, built: Run, config_file: Path | None, changes: list[str]) -> None:
    config, sim = built.config, built.simulation
    what = str(config_file) if config_file is not None else "resumed run"
    console.print(
        f"[bold]simcore[/] {what} seed {config.seed} · backend {built.backend.name} · "
        f"{config.duration_ticks:,} ticks of {config.tick_seconds}s · {_pacing(built)} · "
        f"run dir {built.directory}"
    )
    if built.resumed_from is not None:
        console.print(
            f"resuming from {built.resumed_from.path} at tick {sim.tick:,} "
            f"({built.controller.sim_time(sim.tick)})"
        )
    for change in changes:
        console.print(f"[yellow]--force: continuing despite {escape(change)}[/]")


def _pacing(built: Run) -> str:
    """``speed 60x``, or ``rate 1,000/s (speed up to max)``."""
    pacer = built.pacer
    if pacer.rate is None:
        return f"speed {format_speed(pacer.speed)}"
    return f"rate {format_rate(pacer.rate)} (speed up to {format_speed(pacer.speed)})"


def _print_end(console: Console, built: Run) -> int:
    """Print the results; return the exit code (a stop's or a failure limit's, 3 if thresholds
    failed, else 0)."""
    summary, result = built.summary, built.result
    console.print(summary_table(summary))
    print_thresholds(console, summary)
    logs = "   log: " + ", ".join(map(str, built.log_files)) if built.log_files else ""
    summary_path = built.directory / rundir.SUMMARY_FILE
    console.print(f"[dim]summary: {summary_path}{logs}   report: {built.directory / REPORT_FILE}[/]")
    warning = snapshot_warning(built.session)
    if warning:
        console.print(f"[red]{escape(warning)}[/]")
    if built.session.lost is not None:
        console.print(f"[red]error: {escape(str(built.session.lost))}[/]")
    if result is not None and result.stopped_by is not None:
        console.print(f"[yellow]{escape(stop_message(result, built.controller, built.log_file))}[/]")
        if built.session.lost is not None:
            sys.exit(EXIT_WORKER_LOST)
        if stopped_by_limit(result.stopped_by):
            return EXIT_FAILURE_LIMIT
        return _STOP_CODES.get(result.stopped_by, 0)
    if not summary["thresholds"]["passed"]:
        return EXIT_THRESHOLDS_FAILED
    return 0
