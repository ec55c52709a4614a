"""The run's results on the terminal: the summary table, thresholds, and how a stop ended."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from simcore.analysis.numbers import human
from simcore.analysis.thresholds import EXIT_THRESHOLDS_FAILED
from simcore.run.controller import Controller
from simcore.run.rate import format_rate
from simcore.run.session import RunResult, RunSession
from simcore.scenario.kinds import SHORT


def summary_table(summary: dict[str, Any]) -> Table:
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
    pacing: dict[str, Any] = summary.get("pacing") or {}
    paced = bool(pacing) and (pacing["speed"] != "max" or bool(pacing.get("rate")))
    if paced and pacing.get("actions_per_second") is not None:
        table.add_row("real rate", real_rate(pacing["actions_per_second"], pacing.get("rate")))
    if pacing and (paced or pacing["max_lag_seconds"] > 0):
        how = f"speed {pacing['speed']}"
        if pacing.get("rate"):
            how = f"rate {format_rate(pacing['rate'])} (speed up to {pacing['speed']})"
        table.add_row(
            "pacing",
            f"{how}  lag {pacing['lag_seconds']:.2f} s (max {pacing['max_lag_seconds']:.2f} s)"
            f"  paused {pacing['paused_seconds']:.1f} s",
        )
    if summary.get("snapshot"):
        table.add_row("snapshot", str(summary["snapshot"]))
    return table


def real_rate(actions_per_second: float, target: float | None) -> str:
    """``1,012 actions/s`` and, with a target, ``(target 1,000/s, +1.2 %)``."""
    text = f"{actions_per_second:,.1f} actions/s"
    if target:
        text += f"  (target {format_rate(target)}, {(actions_per_second / target - 1) * 100:+.1f} %)"
    return text


def stop_message(result: RunResult, controller: Controller, log_file: Path | None) -> str:
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


def snapshot_warning(session: RunSession) -> str | None:
    if session.snapshot_error is None:
        return None
    return f"a snapshot could not be written: {session.snapshot_error}"


def print_thresholds(console: Console, summary: dict[str, Any]) -> None:
    results = summary["thresholds"]["results"]
    if not results:
        return
    table = Table(title="thresholds", box=None, pad_edge=False)
    for column in ("metric", "condition", "value", "result"):
        table.add_column(column)
    for r in results:
        value = human(r["value"])
        verdict = "[green]pass[/]" if r["passed"] else "[bold red]FAIL[/]"
        table.add_row(r["metric"], r["condition"], value, verdict)
    console.print(table)
    if not summary["thresholds"]["passed"]:
        console.print(f"[bold red]thresholds failed[/]: exit code {EXIT_THRESHOLDS_FAILED}")
