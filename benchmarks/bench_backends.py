"""Backend benchmark: one scenario through mock, testclient and http, then requests/s per client core.

Part 1, "scenario": the same config and seed run through the mock, testclient and http
backends (http against the reference app under uvicorn on a free 127.0.0.1 port,
started and stopped here), with actions/s and p50/p99 latency per backend. The three
runs must produce the same action stream (checked) and should get the same statuses.

Part 2, "throughput": request throughput per client core against the same fast server
(nginx from Debian's packages with a fixed JSON body, then the reference app), client
and server pinned to different cores (``taskset``), the same concurrency for every client:
simcore's http backend with the simulation running (a real ``simcore run``), a raw
aiohttp loop (asyncio and uvloop), Locust's FastHttpUser, and wrk as the C ceiling.
Clients run in rounds, interleaved, and the median round counts, because other work on
the machine moves single numbers. Target: simcore http >= 1.3x Locust against nginx.

Every load is bounded in requests and in time and goes only to 127.0.0.1. The tables are
printed and written to the "Backends" section of benchmarks/RESULTS.md (--no-record: not).
The exit code is 1 if simcore misses the target against nginx (or the streams differ), else 0.
Needs: nginx (apt-get install -y nginx), locust and py-spy (pip), wrk optional (apt).

    python benchmarks/bench_backends.py            # both parts, 3 rounds: ~8 minutes
    python benchmarks/bench_backends.py --quick    # smaller and one round: < 60 s
    python benchmarks/bench_backends.py --part throughput --rounds 5 --seconds 15
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.console import Console
from rich.table import Table

import servers
import throughput
from clients import ClientError
from simcore.core.actions import ActionBatch
from simcore.core.simulation import Simulation
from simcore.run.controller import Controller
from simcore.scenario.kinds import KIND_NAMES
from simcore.scenario.schema import Config
from simcore.seam.contract import ErrorKind, Outcomes
from simcore.seam.registry import available_backends, load_backend
from throughput import CLIENTS, scenario_config

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
SECTION = "## Backends"

HOW_TO_READ = (
    "- how to read: *req/s per client core* is requests per second of client CPU time (simcore "
    "and the raw clients time their own CPU; Locust's and wrk's is sampled from /proc). It is "
    "the robust figure when other work shares the machine; plain req/s is also bounded by the "
    "server's core and by latency. *each round* shows the spread; the verdict is the median of "
    "per-round simcore/Locust ratios (neighbouring runs).",
    "- the machine is shared with other jobs (see the load average): rerun for your own numbers.",
)

console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)


# --------------------------------------------------------------------------- part 1: scenario


class OutcomeSink:
    """Keeps every outcome (a few bytes per action) for percentiles and status counts."""

    def __init__(self) -> None:
        self.parts: list[Outcomes] = []
        self.kinds: list[NDArray[np.uint8]] = []
        self.digest = hashlib.sha256()  # of the action stream, outcome fields left out

    def write(self, batch: ActionBatch, outcomes: Outcomes) -> None:
        """Keep the batch's kinds and outcomes; fold its actions into the digest."""
        self.parts.append(outcomes)
        self.kinds.append(batch.kind)
        self.digest.update(np.array([batch.tick, batch.seq0], dtype=np.int64).tobytes())
        for name in ActionBatch.ARRAYS:
            self.digest.update(np.ascontiguousarray(getattr(batch, name)).tobytes())

    def close(self) -> None:
        """Nothing to flush."""

    def joined(self, name: str) -> NDArray[Any]:
        """One outcome field over the whole run."""
        arrays = [getattr(p, name) for p in self.parts]
        return np.concatenate(arrays) if arrays else np.zeros(0)


@dataclass
class ScenarioRow:
    """One backend's run of the scenario."""

    backend: str
    actions: int
    seconds: float
    kinds: dict[str, int]
    statuses: dict[int, int]
    p50_ms: float | None = None
    p99_ms: float | None = None
    sent: int = 0
    digest: str = ""

    @property
    def rate(self) -> float:
        """Actions per wall-clock second of the run loop (stepping included)."""
        return self.actions / self.seconds if self.seconds > 0 else 0.0


def run_scenario(name: str, config: Config, options: dict[str, Any], timeout: float) -> ScenarioRow:
    """Run ``config`` through the backend ``name`` in this process and measure it."""
    backend = load_backend(name, **options)
    sink = OutcomeSink()
    controller = Controller(Simulation(config), backend, [sink])
    began = time.perf_counter()
    try:
        controller.open()
        for _ in range(config.duration_ticks):
            controller.run_tick()
            if time.perf_counter() - began > timeout:
                raise ClientError(f"{name}: scenario took over {timeout:.0f} s; stopped")
    finally:
        controller.close()
    seconds = time.perf_counter() - began
    latency = sink.joined("latency_ms").astype(np.float64)
    error = sink.joined("error")
    status = sink.joined("status")
    sent = (error != ErrorKind.SKIPPED) & (error != ErrorKind.INJECTED)
    measured = latency[sent]
    has_latency = bool(measured.size) and bool(measured.max() > 0)
    codes, counts = np.unique(status, return_counts=True)
    kinds = np.bincount(np.concatenate(sink.kinds or [np.zeros(0, np.uint8)]), minlength=len(KIND_NAMES))
    return ScenarioRow(
        backend=name,
        actions=len(status),
        seconds=seconds,
        kinds=dict(zip(KIND_NAMES, [int(k) for k in kinds])),
        statuses=dict(zip(codes.tolist(), counts.tolist())),
        p50_ms=float(np.percentile(measured, 50)) if has_latency else None,
        p99_ms=float(np.percentile(measured, 99)) if has_latency else None,
        sent=int(sent.sum()),
        digest=sink.digest.hexdigest(),
    )


def part_scenario(args: argparse.Namespace) -> tuple[Table, list[str]]:
    """Part 1: the scenario through mock, testclient and http; returns the table and notes."""
    config = scenario_config(args.users, args.duration, args.seed)
    installed = available_backends()
    rows: list[ScenarioRow] = []
    notes: list[str] = []
    for name in ("mock", "testclient", "http"):
        if name not in installed:
            notes.append(f"backend '{name}' is not installed (yet); skipped")
            continue
        console.print(f"[dim]scenario: {name} …[/]")
        try:
            if name == "http":
                with servers.RefApp(core=args.server_core) as app:
                    rows.append(run_scenario(name, config, {"target": app.url}, args.timeout))
            else:
                rows.append(run_scenario(name, config, {}, args.timeout))
        except (ClientError, RuntimeError) as exc:
            notes.append(f"{name}: {exc}")
    if rows:
        reference = rows[0]
        for row in rows[1:]:
            if row.digest != reference.digest:
                raise SystemExit(
                    f"the action streams of {reference.backend} and {row.backend} differ: "
                    f"{reference.kinds} vs {row.kinds}"
                )
            if row.statuses != reference.statuses:
                notes.append(
                    f"statuses differ: {reference.backend} {reference.statuses} vs {row.backend} {row.statuses}"
                )
        notes.append(
            f"the same action stream (sha256 {reference.digest[:12]}) through "
            f"{', '.join(r.backend for r in rows)}: {reference.actions:,} actions "
            + ", ".join(f"{k} {v:,}" for k, v in reference.kinds.items())
        )
    table = Table(
        title=f"scenario: default profile, {args.users:,} users from Mon 19:00 for {args.duration}, seed {args.seed}"
    )
    for column in ("backend", "actions", "wall s", "actions/s", "p50 ms", "p99 ms", "statuses"):
        table.add_column(column, justify="left" if column in ("backend", "statuses") else "right")
    for row in rows:
        table.add_row(
            row.backend,
            f"{row.actions:,}",
            f"{row.seconds:.2f}",
            f"{row.rate:,.0f}",
            _ms(row.p50_ms),
            _ms(row.p99_ms),
            " ".join(f"{k}:{v:,}" for k, v in sorted(row.statuses.items())),
        )
    return table, notes


# --------------------------------------------------------------------------- output


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _core(core: int | None) -> str:
    return "any" if core is None else str(core)


def machine() -> str:
    """CPU model and core count (from lscpu), Python version, load when the run started."""
    model = platform.processor() or "unknown CPU"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; load average at start {load}"
    )


def markdown(table: Table) -> str:
    """A rich table as a GitHub-flavoured markdown table (title as a bold line above)."""
    header = [str(c.header) for c in table.columns]
    cells = [[str(cell) for cell in column.cells] for column in table.columns]
    lines = [f"**{table.title}**", "", "| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---" if c.justify == "left" else "---:" for c in table.columns) + "|")
    for row in zip(*cells):
        lines.append("| " + " | ".join(row) + " |")
    if table.caption:
        lines += ["", f"_{table.caption}_"]
    return "\n".join(lines)


def record(section: str, path: Path = RESULTS) -> None:
    """Replace (or append) the "## Backends" section of ``path``, atomically."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    start = text.find(SECTION + "\n")
    if start >= 0:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + section + ("\n" + text[end + 1 :] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text if text.endswith("\n") else text + "\n")
    tmp.replace(path)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="bench_backends.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small sizes and one round: < 60 s")
    parser.add_argument(
        "--part",
        choices=("scenario", "throughput", "all"),
        default="all",
        help="what to run (default all)",
    )
    parser.add_argument("--seed", type=int, default=42, help="simulation seed (default 42)")
    g = parser.add_argument_group("part 1: scenario through mock, testclient, http")
    g.add_argument("--users", type=int, help="initial users (default 1000; quick 300)")
    g.add_argument("--duration", help="simulated time from Mon 19:00 (default 1h; quick 20m)")
    g = parser.add_argument_group("part 2: throughput per client core")
    g.add_argument("--servers", help="comma-separated: nginx, refapp (default both; quick: nginx)")
    g.add_argument(
        "--clients",
        default=",".join(CLIENTS),
        help=(
            "comma-separated, in this order by default: simcore (a real simcore run, the http "
            "backend's default client), locust (FastHttpUser), simcore-aiohttp (simcore with "
            "backend.client = aiohttp), aiohttp and uvloop (raw aiohttp loop on asyncio / uvloop), lean "
            "(bare asyncio protocol on uvloop: Python without an HTTP library), wrk (the C ceiling)"
        ),
    )
    g.add_argument(
        "--concurrency", type=int, default=64, help="requests in flight, every client (default 64)"
    )
    g.add_argument(
        "--requests",
        type=int,
        help="request budget of raw/locust per run vs nginx (default 200000; quick 40000)",
    )
    g.add_argument(
        "--seconds", type=float, help="time bound of raw/locust/wrk per run (default 10; quick 3)"
    )
    g.add_argument(
        "--sim-users", type=int, help="simcore's initial users vs nginx (default 40000; quick 10000)"
    )
    g.add_argument("--sim-duration", help="simcore's simulated time (default 1h; quick 30m)")
    g.add_argument(
        "--app-scale",
        type=int,
        default=10,
        help="divide requests and sim users by this against the slower reference app (default 10)",
    )
    g.add_argument(
        "--rounds",
        type=int,
        help="interleaved rounds per client; the median counts (default 3; quick 1)",
    )
    g.add_argument("--locust-processes", type=int, default=1, help="locust --processes (default 1)")
    g.add_argument("--server-core", type=int, default=0, help="core for the server (default 0)")
    g.add_argument("--client-core", type=int, default=1, help="core for the client (default 1)")
    g.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="bound on any single run, in seconds (default 300)"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="also run simcore http once under py-spy per server; write raw stacks + summary to DIR",
    )
    parser.add_argument("--no-record", action="store_true", help="do not update benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {
        "users": 300 if quick else 1000,
        "duration": "20m" if quick else "1h",
        "requests": 40_000 if quick else 200_000,
        "seconds": 3.0 if quick else 10.0,
        "sim_users": 10_000 if quick else 40_000,
        "sim_duration": "30m" if quick else "1h",
        "rounds": 1 if quick else 3,
        "servers": "nginx" if quick else "nginx,refapp",
    }
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    args.clients = [c.strip() for c in args.clients.split(",") if c.strip()]
    unknown = (set(args.servers) - {"nginx", "refapp"}) | (set(args.clients) - set(CLIENTS))
    if unknown:
        parser.error(f"unknown server or client: {', '.join(sorted(unknown))}")
    if args.no_pin or not servers.can_pin(args.server_core, args.client_core):
        if not args.no_pin:
            console.print("[yellow]taskset or the cores are not available: running unpinned[/]")
        args.server_core = args.client_core = None
    return args


@contextlib.contextmanager
def _on_core(core: int | None) -> Iterator[None]:
    """Run this process on ``core`` inside the block (children started there inherit it)."""
    if core is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen parts, print the tables, record them; exit 1 if simcore misses the target."""
    args = parse_args(argv)
    started = dt.datetime.now(dt.timezone.utc)
    about = machine()
    console.print(f"[bold]backend benchmark[/] · {about}")
    tables: list[Table] = []
    notes: list[str] = []
    verdicts: list[throughput.Verdict] = []
    if args.part in ("scenario", "all"):
        # in-process clients (testclient, http) run on the client core, the served app on the other
        with _on_core(args.client_core):
            table, found = part_scenario(args)
        tables.append(table)
        notes += found
        console.print(table)
    if args.part in ("throughput", "all"):
        # this process only starts and watches: keep it off the client's core
        with tempfile.TemporaryDirectory(prefix="simcore-bench-") as tmp, _on_core(args.server_core):
            for server_name in args.servers:
                try:
                    plan = throughput.run_server(args, server_name, Path(tmp), console, notes)
                except (RuntimeError, OSError) as exc:  # no nginx, a server that does not start
                    notes.append(f"{server_name}: skipped: {exc}")
                    continue
                tables.append(throughput.table(args, plan))
                console.print(tables[-1])
                found_verdict = throughput.verdict(plan)
                if found_verdict is not None:
                    verdicts.append(found_verdict)
    lines = notes + [v.line() for v in verdicts]
    for line in lines:
        console.print(("[red]" if "MISSED" in line else "[dim]") + line + "[/]")
    if not args.no_record:
        command = "python benchmarks/bench_backends.py " + " ".join(
            shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
        )
        body = [
            SECTION,
            "",
            f"- date: {started:%Y-%m-%d %H:%M} UTC",
            f"- machine: {about}",
            f"- command: `{command.strip()}`",
            *HOW_TO_READ,
            "",
        ]
        for table in tables:
            body += [markdown(table), ""]
        body += [f"- {line}" for line in lines]
        record("\n".join(body) + "\n")
        console.print(f"[dim]recorded in {RESULTS.relative_to(ROOT)}[/]")
    return 0 if all(v.met() for v in verdicts if v.server == "nginx") else 1


if __name__ == "__main__":
    sys.exit(main())
