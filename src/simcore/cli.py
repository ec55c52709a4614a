"""The ``simcore`` command line (the only module that imports click and rich)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from simcore import __version__, rundir
from simcore.actionlog import JsonlSink
from simcore.backend import BackendContext, available_backends, load_backend
from simcore.config import Config, dump_config, load_config, with_overrides
from simcore.controller import Controller, HourReport, Sink
from simcore.durations import DURATION_HELP, parse_ticks
from simcore.errors import SimcoreError, UsageError
from simcore.simulation import Simulation
from simcore.validate import target_problem

SHORT = {
    "sign_up": "signup",
    "browse_feed": "feed",
    "read_post": "read",
    "create_post": "post",
    "update_post": "edit",
    "delete_post": "delete",
}


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


def _hour_line(console: Console, report: HourReport) -> None:
    kinds = "  ".join(f"{SHORT.get(k, k)} {v:,}" for k, v in report.actions.items() if v)
    failed = f"  [red]failed {report.failed:,}[/]" if report.failed else ""
    console.print(
        f"[dim]{report.time:%a %Y-%m-%d %H:%M}[/]  users [bold]{report.users:,}[/]  "
        f"posts {report.posts:,}  actions {sum(report.actions.values()):,}  [dim]{kinds}[/]{failed}",
        highlight=False,
    )


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
    return table


@main.command()
@click.argument("config_file", metavar="CONFIG", type=click.Path(path_type=Path))
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
    help="Run directory (default: output.directory/PROFILE-seedN).",
)
@click.option(
    "--log",
    "log_path",
    metavar="PATH|none",
    help="Action log file, or 'none' (default: RUN_DIR/actions.jsonl).",
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
def run(
    config_file: Path,
    seed: int | None,
    backend_name: str | None,
    duration: str | None,
    users: int | None,
    out_dir: Path | None,
    log_path: str | None,
    target: str | None,
    app_spec: str | None,
    quiet: bool,
) -> None:
    """Run the simulation described by CONFIG (a TOML profile)."""
    config = _apply_options(load_config(config_file), seed, duration, users)
    config = _backend_options(config, backend_name, target, app_spec)
    options = {"target": target} if target is not None else {}
    if app_spec is not None:
        options["app"] = app_spec
    backend = load_backend(config.backend.name, **options)
    sim = Simulation(config)
    # open the backend first: an unreachable target or an app that does not import is
    # reported before anything is written
    backend.open(BackendContext(config, sim.seed))
    try:
        directory = out_dir or rundir.choose(
            Path(config.output.directory), config_file.stem, config.seed
        )
        rundir.prepare(directory, config)
    except BaseException:
        backend.close()
        raise
    console = Console(highlight=False, soft_wrap=True)
    sinks: list[Sink] = []
    log_choice = log_path if log_path is not None else config.output.log
    log_file: Path | None = None
    if log_choice.lower() != "none":
        log_file = Path(log_choice) if log_path is not None else directory / log_choice
        sinks.append(
            JsonlSink(
                log_file,
                config.start,
                config.tick_seconds,
                sim.profile_names,
                sim.routine.state_names,
            )
        )
    on_hour = None if quiet else (lambda report: _hour_line(console, report))
    controller = Controller(sim, backend, sinks, on_hour=on_hour, opened=True)
    if not quiet:
        console.print(
            f"[bold]simcore[/] {config_file} seed {config.seed} · backend {backend.name} · "
            f"{config.duration_ticks:,} ticks of {config.tick_seconds}s · run dir {directory}"
        )
    interrupted = False
    try:
        controller.run(config.duration_ticks)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        controller.close()
        summary = controller.summary()
        summary["log"] = str(log_file) if log_file else None
        summary_path = rundir.write_summary(directory, summary)
    console.print(_summary_table(summary))
    console.print(f"[dim]summary: {summary_path}" + (f"   log: {log_file}" if log_file else "") + "[/]")
    if interrupted:
        console.print(
            f"[yellow]stopped by Ctrl-C after tick {controller.ticks_done - 1}; "
            "everything up to it is in the log[/]"
        )
        sys.exit(130)


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
