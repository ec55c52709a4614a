"""``simcore plan``: the load a run would put on a server, per real second, before it is sent."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from simcore.errors import UsageError
from simcore.run.clock import format_speed, parse_speed
from simcore.run.loading import load_config
from simcore.run.plan import LoadPlan, Stream
from simcore.run.rate import RATE_HELP, format_rate, parse_rate
from simcore.ui.dashboard import sparkline
from simcore.ui.run_command import apply_options


def duration_text(seconds: float) -> str:
    """``1h 02m 03s``, ``4m 05s`` or ``12.3s``."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


def _rate_text(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f}"


@click.command("plan")
@click.argument("config_file", metavar="CONFIG", type=click.Path(path_type=Path))
@click.option("--seed", type=int, help="Random seed (overrides the config's `seed`).")
@click.option("--duration", metavar="DURATION", help="How long to simulate: 6h, 2d, 90m, '1440 ticks'.")
@click.option("--users", type=int, metavar="N", help="Initial population (population.initial_users).")
@click.option(
    "--speed",
    "speed_text",
    metavar="N",
    help="Plan at this speed: simulated seconds per real second, e.g. 60 (with --rate: its upper bound).",
)
@click.option("--rate", "rate_text", metavar="N", help=f"Plan at this rate target: {RATE_HELP}.")
@click.option(
    "--peak-rate",
    "peak_text",
    metavar="R",
    help="Find the speed that puts the busiest simulated minute at R actions per real second "
    "(and plan at it, unless --speed or --rate is given).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def plan(
    config_file: Path,
    seed: int | None,
    duration: str | None,
    users: int | None,
    speed_text: str | None,
    rate_text: str | None,
    peak_text: str | None,
    as_json: bool,
) -> None:
    """Step CONFIG's core (no traffic, no backend) and print the real actions per second a run
    would send, hour by hour, at --speed N or --rate N, its real duration, and with --peak-rate R
    the speed that puts the busiest minute at R per second (the first tick holds the initial
    users' sign-ups, so the busiest minute after it is given too). Without any of them: real
    time (--speed 1).

    \b
    Then run it:  simcore run CONFIG --backend http --target URL --rate N   (or --speed S)
    """
    speed = parse_speed(speed_text)
    if speed_text is not None and speed is None:
        raise UsageError(
            f"--speed: got {speed_text!r}; a plan needs a number, at max speed the backend sets the pace"
        )
    rate = parse_rate(rate_text)
    peak_rate = parse_rate(peak_text, "--peak-rate")
    config = apply_options(load_config(config_file), seed, duration, users)
    stream = Stream.of(config)
    suggested = stream.speed_for_peak(peak_rate) if peak_rate is not None else None
    if speed is None and rate is None:
        speed = suggested if suggested is not None else 1.0
    load = LoadPlan(stream, speed, rate)
    if as_json:
        click.echo(json.dumps(load.as_json(peak_rate), indent=2))
        return
    console = Console(highlight=False, soft_wrap=True)
    pacing = (
        f"rate {format_rate(rate)} (speed up to {format_speed(speed)})"
        if rate
        else f"speed {format_speed(speed)}"
    )
    console.print(
        f"[bold]simcore plan[/] {config_file} seed {config.seed} · {config.duration_ticks:,} ticks of "
        f"{config.tick_seconds}s from {config.start:%a %Y-%m-%d %H:%M} · {pacing}"
    )
    console.print(_hours_table(load))
    _print_totals(console, load, peak_rate, suggested)


def _hours_table(load: LoadPlan) -> Table:
    hours = load.hours()
    table = Table(title="per simulated hour", box=None, pad_edge=False)
    for name in ("hour", "actions", "real duration", "actions/s", "speed", ""):
        table.add_column(name, justify="left" if name in ("hour", "") else "right")
    rates = [h["actions_per_second"] or 0.0 for h in hours]
    top = max(rates, default=0.0)
    for h, value in zip(hours, rates):
        bar = sparkline([value, top], 2)[0] if top > 0 else ""
        table.add_row(
            f"{dt.datetime.fromisoformat(h['start']):%a %H:%M}",
            f"{h['actions']:,}",
            duration_text(h["real_seconds"]),
            _rate_text(h["actions_per_second"]),
            "max" if h["speed"] is None else f"{h['speed']:,.0f}x",
            bar,
        )
    return table


def _print_totals(
    console: Console, load: LoadPlan, peak_rate: float | None, suggested: float | None
) -> None:
    stream = load.stream
    real = load.real_seconds()
    overall = stream.actions / real if real > 0 else None
    hours = load.hours()
    line = sparkline([h["actions_per_second"] or 0.0 for h in hours], len(hours))
    console.print(f"actions/s by hour  {line}")
    console.print(
        f"[bold]total[/]  {stream.actions:,} actions in {duration_text(real)} real time  "
        f"({_rate_text(overall)} actions/s overall)"
    )
    for label, after in (("busiest minute", 0), ("after the first tick", stream.first_tick_minutes())):
        minute, actions = stream.busiest_minute(after)
        when = stream.start + dt.timedelta(minutes=minute)
        line = (
            f"{label}  {when:%a %H:%M}: {actions:,} actions → "
            f"{_rate_text(load.busiest_minute_rate(after))} actions/s at this pacing"
        )
        speed = stream.speed_for_peak(peak_rate, after) if peak_rate is not None else None
        if speed is not None:
            line += f"; [bold]--speed {speed:.4g}[/] puts it at {format_rate(peak_rate)}"
        console.print(line)
    if peak_rate is not None and suggested is None:
        console.print("[yellow]the run sends no actions: no speed reaches a peak rate[/]")
