"""The ``simcore`` command line (the only module that imports click and rich)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from simcore import __version__
from simcore.analysis.thresholds import EXIT_THRESHOLDS_FAILED
from simcore.errors import SimcoreError, UsageError
from simcore.logs.read import READ_PREFERENCE
from simcore.logs.sinks import format_of
from simcore.run import control, rundir
from simcore.run import snapshot as snapshots
from simcore.run.builder import Run, build_run
from simcore.run.clock import SPEED_HELP, format_speed, parse_speed
from simcore.run.controller import Controller
from simcore.run.loading import load_config
from simcore.run.runfiles import REPORT_FILE, analyse, load_metrics
from simcore.run.session import RunResult, RunSession
from simcore.scenario.durations import DURATION_HELP, parse_ticks
from simcore.scenario.kinds import SHORT
from simcore.scenario.parse import dump_config, with_overrides
from simcore.scenario.schema import Config
from simcore.scenario.validate import target_problem
from simcore.seam.registry import available_backends
from simcore.ui.dashboard import Dashboard, KeyReader, LiveStats, PlainLines


def _fail(message: str, code: int = 2) -> NoReturn:
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold red]error:[/] {escape(message)}", markup=True
    )
    sys.exit(code)


class _Group(click.Group):
    """Turns every :class:`SimcoreError` into a clear message and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SimcoreError as exc:
            _fail(str(exc), exc.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="simcore")
def main() -> None:
    """simcore: simulate a social app's users and drive its API with what they do.

    \b
    Start with:  simcore run --seed 42 profiles/default.toml
    Check a config:  simcore config check profiles/default.toml
    """


def _apply_options(config: Config, seed: int | None, duration: str | None, users: int | None) -> Config:
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


def _summary_table(summary: dict[str, Any]) -> Table:
    table = Table(title="run summary", show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row(
        "simulated",
        f"{summary['simulated_start']} → {summary['simulated_end']} ({summary['ticks']:,} ticks)",
    )
    table.add_row("users", f"{summary['users']:,}")
    table.add_row("posts", f"{summary['posts_created']:,} created, {summary['posts_live']:,} live")
    table.add_row(
        "actions",
        f"{summary['actions']:,}  "
        + "  ".join(f"{SHORT.get(k, k)} {v:,}" for k, v in summary["actions_by_kind"].items()),
    )
    table.add_row("statuses", "  ".join(f"{k}: {v:,}" for k, v in summary["statuses"].items()))
    rate = summary["actions_per_second"]
    table.add_row(
        "wall time",
        f"{summary['wall_seconds']:.2f} s" + (f"  ({rate:,.0f} actions/s)" if rate else ""),
    )
    pacing = summary.get("pacing")
    if pacing and (pacing["speed"] != "max" or pacing["max_lag_seconds"] > 0):
        table.add_row(
            "pacing",
            f"speed {pacing['speed']}  lag {pacing['lag_seconds']:.2f} s (max {pacing['max_lag_seconds']:.2f} s)"
            f"  paused {pacing['paused_seconds']:.1f} s",
        )
    if summary.get("snapshot"):
        table.add_row("snapshot", str(summary["snapshot"]))
    return table


def _snapshot_every(text: str | None, tick_seconds: int) -> int | None:
    if text is None or text.lower() in ("none", "never", "0"):
        return None
    try:
        return max(1, parse_ticks(text, tick_seconds))
    except ValueError:
        raise UsageError(f"--snapshot-every: got {text!r}, expected {DURATION_HELP}") from None


def _stop_message(result: RunResult, controller: Controller, log_file: Path | None) -> str:
    last = result.tick - 1
    when = controller.sim_time(result.tick)
    how = "at once" if result.hard else "gracefully"
    lines = [
        f"stopped {how} by {result.stopped_by} after tick {last:,} (simulated {when:%Y-%m-%d %H:%M}); "
        + (f"every finished tick is in {log_file}" if log_file else "no action log was kept")
    ]
    if result.snapshot is not None:
        lines.append(f"snapshot: {result.snapshot}")
        lines.append(f"continue with: simcore run --resume {result.snapshot}")
    else:
        lines.append("no snapshot was written (a tick was cut short); resume from an earlier one if any")
    return "\n".join(lines)


def _snapshot_warning(session: RunSession) -> str | None:
    if session.snapshot_error is None:
        return None
    return f"a snapshot could not be written: {session.snapshot_error}"


_STOP_CODES = {"SIGINT": 130, "SIGTERM": 143}


@main.command()
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
@click.option("--speed", "speed_text", metavar="max|N", help=f"Pacing: {SPEED_HELP} (default max).")
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
    snapshot_every: str | None,
    resume_from: Path | None,
    force: bool,
    dashboard: bool | None,
    control_socket: bool,
) -> None:
    """Run the simulation described by CONFIG (a TOML profile), or continue one with --resume.

    \b
    While it runs: space pauses/resumes, +/- change the speed, q stops (dashboard);
    `simcore ctl RUN_DIR pause|resume|stop|speed N|status` from another terminal;
    Ctrl-C stops after the current tick and writes a snapshot (twice: at once).
    """
    if config_file is None and resume_from is None:
        raise UsageError("give a CONFIG file (e.g. profiles/default.toml), or --resume SNAPSHOT")
    snap = snapshots.load(resume_from) if resume_from is not None else None
    if config_file is not None:
        base = load_config(config_file)
    else:
        assert snap is not None
        base = snap.config
    config = _apply_options(base, seed, duration, users)
    config = _backend_options(config, backend_name, target, app_spec)
    changes = (
        snapshots.check_resume(snap, config, config.backend.name, force) if snap is not None else []
    )
    speed = parse_speed(speed_text)
    console = Console(highlight=False, soft_wrap=True)
    live = (console.is_terminal and not quiet) if dashboard is None else (dashboard and not quiet)
    stats = LiveStats()
    plain = PlainLines(console)
    on_hour = plain.hour if not (quiet or live) else None
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
        snapshot_every=_snapshot_every(snapshot_every, config.tick_seconds),
        control_socket=control_socket,
        sinks=[stats] if live else [],
        on_hour=on_hour,
    )
    plain.pacer = built.pacer
    if on_hour is not None:
        plain.controller = built.controller
        built.controller.sinks.append(plain)
    view: Dashboard | None = None
    if live:
        view = Dashboard(
            built.controller, stats, built.control, built.pacer, config.duration_ticks, console
        )
        built.notify(view.note)
    elif not quiet:
        built.notify(plain.event)
    if not quiet:
        _print_start(console, built, config_file, changes)
    keys = KeyReader(built.control)
    with built:
        if view is not None:
            view.start()
            keys.start()
        try:
            built.execute()
        finally:
            keys.stop()
            if view is not None:
                view.stop()
    _print_end(console, built)


def _print_start(console: Console, built: Run, config_file: Path | None, changes: list[str]) -> None:
    config, sim = built.config, built.simulation
    what = str(config_file) if config_file is not None else "resumed run"
    console.print(
        f"[bold]simcore[/] {what} seed {config.seed} · backend {built.backend.name} · "
        f"{config.duration_ticks:,} ticks of {config.tick_seconds}s · speed {format_speed(built.pacer.speed)} · "
        f"run dir {built.directory}"
    )
    if built.resumed_from is not None:
        console.print(
            f"resuming from {built.resumed_from.path} at tick {sim.tick:,} "
            f"({built.controller.sim_time(sim.tick)})"
        )
    for change in changes:
        console.print(f"[yellow]--force: continuing despite {escape(change)}[/]")


def _print_end(console: Console, built: Run) -> None:
    summary, result = built.summary, built.result
    console.print(_summary_table(summary))
    _print_thresholds(console, summary)
    logs = "   log: " + ", ".join(map(str, built.log_files)) if built.log_files else ""
    summary_path = built.directory / rundir.SUMMARY_FILE
    console.print(f"[dim]summary: {summary_path}{logs}   report: {built.directory / REPORT_FILE}[/]")
    warning = _snapshot_warning(built.session)
    if warning:
        console.print(f"[red]{escape(warning)}[/]")
    if result is not None and result.stopped_by is not None:
        console.print(f"[yellow]{escape(_stop_message(result, built.controller, built.log_file))}[/]")
        sys.exit(_STOP_CODES.get(result.stopped_by, 0))
    if not summary["thresholds"]["passed"]:
        sys.exit(EXIT_THRESHOLDS_FAILED)


def _print_thresholds(console: Console, summary: dict[str, Any], exits: bool = True) -> None:
    results = summary["thresholds"]["results"]
    if not results:
        return
    table = Table(title="thresholds", box=None, pad_edge=False)
    for column in ("metric", "condition", "value", "result"):
        table.add_column(column)
    for r in results:
        value = "–" if r["value"] is None else f"{r['value']:.4g}"
        verdict = "[green]pass[/]" if r["passed"] else "[bold red]FAIL[/]"
        table.add_row(r["metric"], r["condition"], value, verdict)
    console.print(table)
    if not summary["thresholds"]["passed"]:
        code = f": exit code {EXIT_THRESHOLDS_FAILED}" if exits else ""
        console.print(f"[bold red]thresholds failed[/]{code}")


@main.command("report")
@click.argument("run_dir", metavar="RUN_DIR", type=click.Path(path_type=Path))
def report_command(run_dir: Path) -> None:
    """(Re)build RUN_DIR/report.html, summary.json and the CSVs from a run directory."""
    metrics = load_metrics(run_dir)
    config_path = run_dir / rundir.CONFIG_FILE
    config = load_config(config_path)
    summary_path = run_dir / rundir.SUMMARY_FILE
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.is_file() else {}
    logs = [run_dir / p for p in summary.get("logs", []) if (run_dir / p).is_file()]
    summary = analyse(
        run_dir,
        metrics,
        summary,
        dict(config.thresholds),
        config_path.read_text(encoding="utf-8"),
        min(logs, key=lambda p: READ_PREFERENCE.index(format_of(p)), default=None),
    )
    rundir.write_summary(run_dir, summary)
    console = Console(highlight=False, soft_wrap=True)
    _print_thresholds(console, summary, exits=False)
    console.print(f"report: {run_dir / REPORT_FILE}")


@main.command("ctl")
@click.argument("run_dir", metavar="RUN_DIR", type=click.Path(path_type=Path))
@click.argument("command", type=click.Choice(["pause", "resume", "stop", "speed", "status"]))
@click.argument("value", required=False, metavar="[N]")
@click.option("--json", "as_json", is_flag=True, help="Print the run's status as JSON.")
def ctl(run_dir: Path, command: str, value: str | None, as_json: bool) -> None:
    """Control a live run from another terminal: pause, resume, stop, speed N (or max), status."""
    if command == "speed" and value is None:
        raise UsageError(f"simcore ctl {run_dir} speed: give the new speed, {SPEED_HELP}")
    status = control.send(run_dir, command, value)
    if as_json:
        click.echo(json.dumps(status, indent=2))
        return
    for key, item in status.items():
        click.echo(f"{key:16} {item}")


@main.command()
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("simcore-app.db"),
    show_default=True,
    help="SQLite database file (created if missing).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
@click.option(
    "--log-level",
    default="warning",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    help="uvicorn's log level (info logs every request).",
)
def serve(db_path: Path, host: str, port: int, log_level: str) -> None:
    """Serve the reference social app with uvicorn (stop with Ctrl-C).

    \b
    Then, in another terminal:
      simcore run profiles/default.toml --backend http --target http://HOST:PORT
    """
    try:
        import uvicorn

        from simcore_backends.refapp import create_app
    except ImportError as exc:
        raise UsageError(
            f"simcore serve needs FastAPI and uvicorn ({exc}); install them with pip install 'simcore[app]'"
        ) from None
    if db_path.parent != Path() and not db_path.parent.is_dir():
        raise UsageError(f"--db: the directory '{db_path.parent}' does not exist; create it first")
    import socket

    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --port or --host"
        ) from None
    try:
        app = create_app(db_path)
    except Exception as exc:  # sqlite3 errors: not a database, read-only, locked
        raise UsageError(f"--db {db_path}: cannot open the database: {exc}") from None
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    console.print(
        f"[bold]simcore serve[/]  reference app on http://{host}:{port}  database {db_path}  "
        "(Ctrl-C stops; API docs at /docs)"
    )
    uvicorn.run(app, host=host, port=port, log_level=log_level, lifespan="on")
    console.print("[dim]stopped[/]")


@main.group()
def config() -> None:
    """Check or show a configuration file."""


@config.command("check")
@click.argument("config_file", metavar="FILE", type=click.Path(path_type=Path))
def config_check(config_file: Path) -> None:
    """Validate FILE; exit 2 with every problem's key path if it is invalid."""
    cfg = load_config(config_file)
    click.echo(
        f"{config_file}: ok ({len(cfg.profiles)} profiles, {len(cfg.routine.states)} states, "
        f"{cfg.duration_ticks:,} ticks)"
    )


@config.command("show")
@click.argument("config_file", metavar="FILE", type=click.Path(path_type=Path))
def config_show(config_file: Path) -> None:
    """Print FILE fully resolved (every default filled in) as TOML."""
    click.echo(dump_config(load_config(config_file)), nl=False)


@main.command("backends")
def backends_command() -> None:
    """List the installed backends (entry-point group simcore.backends)."""
    for name, ep in sorted(available_backends().items()):
        click.echo(f"{name:12} {ep.value}")


if __name__ == "__main__":  # pragma: no cover
    main()
