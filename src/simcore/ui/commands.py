"""The other commands: ``report``, ``ctl``, ``serve``, ``config check|show`` and ``backends``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console

from simcore.analysis.thresholds import EXIT_THRESHOLDS_FAILED
from simcore.errors import UsageError
from simcore.logs.read import fastest_log
from simcore.run import control, rundir
from simcore.run.clock import SPEED_HELP
from simcore.run.loading import load_config
from simcore.run.rate import RATE_HELP
from simcore.run.runfiles import REPORT_FILE, analyse, load_metrics
from simcore.scenario.parse import dump_config
from simcore.scenario.routes import LOG_IN, LOG_IN_PLACEHOLDERS
from simcore.seam.registry import available_backends
from simcore.ui.summary import crowd_table, print_thresholds


@click.command("report")
@click.argument("run_dir", metavar="RUN_DIR", type=click.Path(path_type=Path))
def report_command(run_dir: Path) -> None:
    """(Re)build RUN_DIR/report.html, summary.json and the CSVs from a run directory.

    Exits with code 3, as ``simcore run`` does, when the config's thresholds fail."""
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
        fastest_log(logs),
    )
    rundir.write_summary(run_dir, summary)
    console = Console(highlight=False, soft_wrap=True)
    crowd = crowd_table(summary)
    if crowd is not None:
        console.print(crowd)
    print_thresholds(console, summary)
    console.print(f"report: {run_dir / REPORT_FILE}")
    if not summary["thresholds"]["passed"]:
        sys.exit(EXIT_THRESHOLDS_FAILED)


@click.command("ctl")
@click.argument("run_dir", metavar="RUN_DIR", type=click.Path(path_type=Path))
@click.argument(
    "command", type=click.Choice(["pause", "resume", "stop", "speed", "rate", "snapshot", "status"])
)
@click.argument("value", required=False, metavar="[N]")
@click.option("--json", "as_json", is_flag=True, help="Print the run's status as JSON.")
def ctl(run_dir: Path, command: str, value: str | None, as_json: bool) -> None:
    """Control a live run from another terminal: pause, resume, stop, speed N (or max), rate N
    (actions per real second, or off), snapshot (now, at the next tick boundary, or at once
    while paused), status."""
    if command == "speed" and value is None:
        raise UsageError(f"simcore ctl {run_dir} speed: give the new speed, {SPEED_HELP}")
    if command == "rate" and value is None:
        raise UsageError(f"simcore ctl {run_dir} rate: give the new rate, {RATE_HELP}")
    status = control.send(run_dir, command, value)
    if as_json:
        click.echo(json.dumps(status, indent=2))
        return
    for key, item in status.items():
        click.echo(f"{key:16} {item}")


@click.command()
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("simcore-app.db"),
    show_default=True,
    help="SQLite database file (created if missing, readable by its owner only).",
)
@click.option(
    "--max-body",
    default=64 * 1024,
    show_default=True,
    type=click.IntRange(1, 2**31),
    metavar="BYTES",
    help="Largest request body accepted; larger ones are refused with 413 before being read.",
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
@click.option(
    "--slow",
    "slow_specs",
    multiple=True,
    metavar="'METHOD /path=DELAY'",
    help="Add a fixed latency to one route, e.g. 'GET /posts/{id}=20ms' (repeatable): "
    "a slower build, to try simcore compare on.",
)
def serve(
    db_path: Path, max_body: int, host: str, port: int, log_level: str, slow_specs: tuple[str, ...]
) -> None:
    """Serve the reference social app with uvicorn (stop with Ctrl-C).

    \b
    Then, in another terminal:
      simcore run profiles/default.toml --backend http --target http://HOST:PORT
    """
    try:
        import uvicorn

        from simcore_backends.refapp import create_app
        from simcore_backends.refapp.slow import parse_slow, slow_down
    except ImportError as exc:
        raise UsageError(
            f"simcore serve needs FastAPI and uvicorn ({exc}); install them with pip install 'simcore[app]'"
        ) from None
    try:
        slow = [parse_slow(spec) for spec in slow_specs]
    except ValueError as exc:
        raise UsageError(f"--slow: {exc}") from None
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
        app = create_app(db_path, max_body=max_body)
    except Exception as exc:  # sqlite3 errors: not a database, read-only, locked
        raise UsageError(f"--db {db_path}: cannot open the database: {exc}") from None
    try:
        slow_down(app, slow)
    except ValueError as exc:
        raise UsageError(f"--slow: {exc}") from None
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    console.print(
        f"[bold]simcore serve[/]  reference app on http://{host}:{port}  database {db_path}  "
        "(Ctrl-C stops; API docs at /docs)"
    )
    for item in slow:
        console.print(f"  slowed: {item.method} {item.path} +{item.seconds * 1000:g} ms")
    uvicorn.run(app, host=host, port=port, log_level=log_level, lifespan="on")
    console.print("[dim]stopped[/]")


@click.group()
def config() -> None:
    """Check or show a configuration file."""


@config.command("check")
@click.argument("config_file", metavar="FILE", type=click.Path(path_type=Path))
def config_check(config_file: Path) -> None:
    """Validate FILE; exit 2 with every problem's key path if it is invalid. Print each kind's
    route and the placeholders its route may use."""
    cfg = load_config(config_file)
    click.echo(
        f"{config_file}: ok ({len(cfg.profiles)} profiles, {len(cfg.routine.states)} states, "
        f"{cfg.duration_ticks:,} ticks)"
    )
    click.echo("routes (kind: method path; placeholders it may use):")
    lacks = set(cfg.backend.lacks)
    for spec in cfg.kind_set.specs:
        route = cfg.backend.routes.get(spec.name)
        where = f"{route.method.upper()} {route.path}" if route else "(no route)"
        custom = f", behaves as {spec.kind.label}" if spec.custom_name else ""
        note = "  (lacked: never done)" if spec.name in lacks else ""
        names = " ".join(f"{{{n}}}" for n in spec.placeholders)
        click.echo(f"  {spec.name}{custom}: {where}; {names}{note}")
    log_in = cfg.backend.routes.get(LOG_IN)
    if log_in is not None:
        names = " ".join(f"{{{n}}}" for n in LOG_IN_PLACEHOLDERS)
        click.echo(
            f"  {LOG_IN} (for sign-ups answered {list(cfg.backend.routes['sign_up'].exists)}): "
            f"{log_in.method.upper()} {log_in.path}; {names}"
        )


@config.command("show")
@click.argument("config_file", metavar="FILE", type=click.Path(path_type=Path))
def config_show(config_file: Path) -> None:
    """Print FILE fully resolved (every default filled in) as TOML."""
    click.echo(dump_config(load_config(config_file)), nl=False)


@click.command("backends")
def backends_command() -> None:
    """List the installed backends (entry-point group simcore.backends)."""
    for name, ep in sorted(available_backends().items()):
        click.echo(f"{name:12} {ep.value}")
