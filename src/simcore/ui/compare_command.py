"""``simcore compare RUN_A RUN_B``: run B against run A, action by action; and the table both it
and ``simcore run --baseline`` print."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from simcore.analysis.compare import CompareOptions
from simcore.analysis.thresholds import EXIT_THRESHOLDS_FAILED
from simcore.errors import UsageError
from simcore.run.comparison import COMPARE_HTML, COMPARE_JSON, compare_runs

_VERDICT_STYLE = {"regressed": "bold red", "improved": "bold green", "unchanged": "dim"}


def _ratio(cell: dict[str, float] | None, interval: bool = False) -> str:
    if cell is None:
        return "–"
    text = f"{cell['value']:.3f}"
    return f"{text} [{cell['low']:.3f}, {cell['high']:.3f}]" if interval else text


def _p(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2g}" if value >= 1e-4 else "<1e-4"


def comparison_table(result: dict[str, Any]) -> Table:
    """The comparison as a table: one row per endpoint, its ratios, test, failures and verdict."""
    options = result["options"]
    table = Table(
        title=f"B against A: latency ratio B/A, {options['confidence']:.0%} bootstrap interval "
        f"(tolerance {options['tolerance']:g}, max new failures {options['max_new_failures']:g})",
        title_justify="left",
    )
    for name in ("endpoint", "n", "median ratio [CI]", "p95 ratio", "p99 ratio", "p-value"):
        table.add_column(name, justify="left" if name == "endpoint" else "right")
    table.add_column("new failures", justify="right")
    table.add_column("verdict")
    for e in result["endpoints"]:
        failures = f"{e['new_failures']:,}" + (
            f" ({e['new_failure_share']:.2%})" if e["new_failures"] else ""
        )
        table.add_row(
            escape(e["endpoint"]),
            f"{e['paired']:,}/{e['actions']:,}",
            _ratio(e["median_ratio"], interval=True) if e["median_ratio"] else "no latency",
            _ratio(e["p95_ratio"]),
            _ratio(e["p99_ratio"]),
            _p(e["p_value"]),
            failures,
            f"[{_VERDICT_STYLE[e['verdict']]}]{e['verdict']}[/]",
        )
    return table


def report_comparison(console: Console, result: dict[str, Any], out: Path) -> int:
    """Print the table, the throughput and the verdict; return the exit code (3: regressed)."""
    console.print(comparison_table(result))
    if not any(e["median_ratio"] for e in result["endpoints"]):
        console.print(
            "[yellow]no latency measured in both runs (the mock records none): latency not compared[/]"
        )
    else:
        for e in result["endpoints"]:
            if e["note"]:
                console.print(f"[dim]{escape(e['endpoint'])}: {escape(e['note'])}[/]")
    for note in result["notes"]:
        console.print(f"[yellow]note: {escape(note)}[/]")
    rates = result["throughput"]
    if rates["a"] is not None and rates["b"] is not None:
        console.print(f"throughput: A {rates['a']:,.1f} actions/s, B {rates['b']:,.1f} actions/s")
    console.print(f"[dim]{out / COMPARE_JSON}   {out / COMPARE_HTML}[/]")
    if result["regressed"]:
        console.print(f"[bold red]regressed:[/] {escape(', '.join(result['regressed']))}")
        return EXIT_THRESHOLDS_FAILED
    improved = f" (improved: {', '.join(result['improved'])})" if result["improved"] else ""
    console.print(f"[green]no endpoint regressed[/]{escape(improved)}")
    return 0


def options_from(tolerance: float, max_new_failures: float, seed: int) -> CompareOptions:
    """The comparison's options, checked."""
    if not 0 <= tolerance < 1:
        raise UsageError(f"--tolerance: got {tolerance}, expected a share in [0, 1) such as 0.05")
    if not 0 <= max_new_failures <= 1:
        raise UsageError(
            f"--max-new-failures: got {max_new_failures}, expected a share in [0, 1] such as 0.001"
        )
    return CompareOptions(tolerance=tolerance, max_new_failures=max_new_failures, seed=seed)


TOLERANCE_HELP = "A regression is a median ratio whose interval lies wholly above 1 + this share."
FAILURES_HELP = "A regression is also more than this share of an endpoint's actions failing in B only."


@click.command("compare")
@click.argument("run_a", metavar="RUN_A", type=click.Path(path_type=Path))
@click.argument("run_b", metavar="RUN_B", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Where compare.json and compare.html go (default: RUN_B).",
)
@click.option("--tolerance", default=0.05, show_default=True, type=float, help=TOLERANCE_HELP)
@click.option("--max-new-failures", default=0.001, show_default=True, type=float, help=FAILURES_HELP)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the bootstrap.")
def compare_command(
    run_a: Path, run_b: Path, out_dir: Path | None, tolerance: float, max_new_failures: float, seed: int
) -> None:
    """Compare run B with run A action by action (two runs of one config and seed, e.g. two builds).

    \b
    Exit 0: no endpoint regressed; 3: one or more did; 2: the runs cannot be
    compared (their action streams differ, a log is missing).
    """
    options = options_from(tolerance, max_new_failures, seed)
    out = out_dir if out_dir is not None else run_b
    result = compare_runs(run_a, run_b, out, options)
    code = report_comparison(Console(highlight=False, soft_wrap=True), result, out)
    sys.exit(code)
