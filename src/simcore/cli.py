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
from simcore.backend import available_backends, load_backend
from simcore.config import Config, dump_config, with_overrides
from simcore.controller import Controller, HourReport, Sink
from simcore.durations import DURATION_HELP, parse_ticks
from simcore.errors import SimcoreError, UsageError
from simcore.loading import load_config
from simcore.logsinks import log_targets, open_sink
from simcore.metrics import Metrics
from simcore.runfiles import MetricsSink, analyse, load_metrics
from simcore.simulation import Simulation
from simcore.thresholds import EXIT_THRESHOLDS_FAILED

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
    "log_choices",
    multiple=True,
    metavar="jsonl|sqlite|parquet|none|PATH",
    help="Action log format(s), repeatable or comma-separated, or a file whose suffix picks the "
    "format, or 'none' (default: the config's output.log, RUN_DIR/actions.jsonl).",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only the final summary.")
def run(
    config_file: Path,
    seed: int | None,
    backend_name: str | None,
    duration: str | None,
    users: int | None,
    out_dir: Path | None,
    log_choices: tuple[str, ...],
    quiet: bool,
) -> None:
    """Run the simulation described by CONFIG (a TOML profile)."""
    config = _apply_options(load_config(config_file), seed, duration, users)
    backend = load_backend(backend_name or config.backend.name)
    directory = out_dir or rundir.choose(Path(config.output.directory), config_file.stem, config.seed)
    rundir.prepare(directory, config)
    sim = Simulation(config)
    console = Console(highlight=False, soft_wrap=True)
    targets = log_targets(
        list(log_choices) or [config.output.log], directory, Path.cwd() if log_choices else None
    )
    sinks: list[Sink] = [
        open_sink(
            fmt, path, config.start, config.tick_seconds, sim.profile_names, sim.routine.state_names
        )
        for fmt, path in targets
    ]
    log_files = [path for _, path in targets]
    log_file = log_files[0] if log_files else None
    metrics = Metrics(config.tick_seconds, config.start, sim.routine.state_names, sim.profile_names)
    metrics.population_states = lambda: sim.population.state[: sim.population.n]
    sinks.append(MetricsSink(metrics, directory))
    on_hour = None if quiet else (lambda report: _hour_line(console, report))
    controller = Controller(sim, backend, sinks, on_hour=on_hour)
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
        summary["logs"] = [str(p) for p in log_files]
        summary = analyse(
            directory,
            metrics,
            summary,
            dict(config.thresholds),
            dump_config(config),
            _fastest(log_files),
        )
        summary_path = rundir.write_summary(directory, summary)
    console.print(_summary_table(summary))
    _print_thresholds(console, summary)
    logs = "   log: " + ", ".join(map(str, log_files)) if log_files else ""
    console.print(f"[dim]summary: {summary_path}{logs}   report: {directory / 'report.html'}[/]")
    if interrupted:
        console.print(
            f"[yellow]stopped by Ctrl-C after tick {sim.tick - 1}; everything up to it is in the log[/]"
        )
        sys.exit(130)
    if not summary["thresholds"]["passed"]:
        sys.exit(EXIT_THRESHOLDS_FAILED)


def _fastest(logs: list[Path]) -> Path | None:
    """The log quickest to read back (parquet, then sqlite, then jsonl)."""
    rank = {".parquet": 0, ".pq": 0, ".sqlite": 1, ".sqlite3": 1, ".db": 1}
    return min(logs, key=lambda p: rank.get(p.suffix.lower(), 2), default=None)


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
    import json

    metrics = load_metrics(run_dir)
    config_path = run_dir / rundir.CONFIG_FILE
    config = load_config(config_path)
    summary_path = run_dir / rundir.SUMMARY_FILE
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.is_file() else {}
    logs = [Path(p) for p in summary.get("logs", []) if Path(p).is_file()]
    summary = analyse(
        run_dir,
        metrics,
        summary,
        dict(config.thresholds),
        config_path.read_text(encoding="utf-8"),
        _fastest(logs),
    )
    rundir.write_summary(run_dir, summary)
    console = Console(highlight=False, soft_wrap=True)
    _print_thresholds(console, summary, exits=False)
    console.print(f"report: {run_dir / 'report.html'}")


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
