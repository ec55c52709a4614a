"""One scenario through the mock, testclient and http backends: actions/s and latency.

Reproduces the "Same scenario through each backend" table of benchmarks/RESULTS.md: the
same config and seed run through the mock, testclient and http backends (http against
the reference app under uvicorn on a free 127.0.0.1 port, started and stopped here), with
actions/s and p50/p99 latency per backend. The three runs must produce the same action
stream (checked: the exit code is 1 if they differ) and should get the same statuses.
The table is printed and written to its section of RESULTS.md (--no-record: not).

    python benchmarks/bench_backends.py               # 1,000 users for 1h from Mon 19:00
    python benchmarks/bench_backends.py --quick       # 300 users for 20 min
    python benchmarks/bench_backends.py --users 2000 --duration 30m

Request throughput per client core (simcore against Locust, raw clients and wrk) is
bench_throughput.py.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

import servers
from common import OutcomeSink, Table, machine, ms, record_section, run_simcore, scenario_config
from simcore.scenario.kinds import KIND_NAMES
from simcore.scenario.schema import Config
from simcore.seam.registry import available_backends

HEADING = "### Same scenario through each backend"
BACKENDS = ("mock", "testclient", "http")


@dataclass
class ScenarioRow:
    """One backend's run of the scenario."""

    backend: str
    actions: int
    seconds: float
    kinds: dict[str, int]
    statuses: dict[int, int]
    p50_ms: float | None
    p99_ms: float | None
    digest: str

    @property
    def rate(self) -> float:
        """Actions per wall-clock second of the run loop (stepping included)."""
        return self.actions / self.seconds if self.seconds > 0 else 0.0


def run_scenario(name: str, config: Config, options: dict[str, str], timeout: float) -> ScenarioRow:
    """Run ``config`` through the backend ``name`` in this process and measure it."""
    sink = OutcomeSink()
    run = run_simcore(config, name, options, [sink], max_seconds=timeout)
    if not run.complete:
        raise RuntimeError(f"{name}: scenario took over {timeout:.0f} s; stopped at tick {run.ticks}")
    kinds = np.bincount(np.concatenate(sink.kinds or [np.zeros(0, np.uint8)]), minlength=len(KIND_NAMES))
    p50, p99 = sink.latency_percentiles()
    return ScenarioRow(
        backend=name,
        actions=len(sink.joined("status")),
        seconds=run.wall,
        kinds=dict(zip(KIND_NAMES, [int(k) for k in kinds])),
        statuses=sink.statuses(),
        p50_ms=p50,
        p99_ms=p99,
        digest=sink.digest.hexdigest(),
    )


def run_backends(args: argparse.Namespace, notes: list[str]) -> list[ScenarioRow]:
    """The scenario through every installed backend (http against a fresh reference app)."""
    config = scenario_config(args.users, args.duration, args.seed)
    installed = available_backends()
    rows: list[ScenarioRow] = []
    for name in BACKENDS:
        if name not in installed:
            notes.append(f"backend '{name}' is not installed; skipped")
            continue
        print(f"scenario: {name} …", file=sys.stderr, flush=True)
        try:
            if name == "http":
                with servers.RefApp(core=args.server_core) as app:
                    rows.append(run_scenario(name, config, {"target": app.url}, args.timeout))
            else:
                rows.append(run_scenario(name, config, {}, args.timeout))
        except RuntimeError as exc:
            notes.append(f"{name}: {exc}")
    return rows


def compare(rows: list[ScenarioRow], notes: list[str]) -> bool:
    """Note how the runs compare; False if their action streams differ."""
    if not rows:
        return True
    reference = rows[0]
    same = True
    for row in rows[1:]:
        if row.digest != reference.digest:
            notes.append(f"the action streams of {reference.backend} and {row.backend} DIFFER")
            same = False
        elif row.statuses != reference.statuses:
            notes.append(
                f"statuses differ: {reference.backend} {reference.statuses} vs {row.backend} {row.statuses}"
            )
    if same:
        notes.append(
            f"the same action stream (sha256 {reference.digest[:12]}) through "
            f"{', '.join(r.backend for r in rows)}: {reference.actions:,} actions "
            + ", ".join(f"{k} {v:,}" for k, v in reference.kinds.items())
        )
    return same


def table(args: argparse.Namespace, rows: list[ScenarioRow]) -> Table:
    """One row per backend."""
    result = Table(
        title=f"scenario: default profile, {args.users:,} users from Mon 19:00 for {args.duration}, seed {args.seed}",
        columns=["<backend", "actions", "wall s", "actions/s", "p50 ms", "p99 ms", "<statuses"],
    )
    for row in rows:
        result.add(
            row.backend,
            f"{row.actions:,}",
            f"{row.seconds:.2f}",
            f"{row.rate:,.0f}",
            ms(row.p50_ms),
            ms(row.p99_ms),
            " ".join(f"{k}:{v:,}" for k, v in sorted(row.statuses.items())),
        )
    return result


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="bench_backends.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="300 users for 20 min")
    parser.add_argument("--seed", type=int, default=42, help="simulation seed (default 42)")
    parser.add_argument("--users", type=int, help="initial users (default 1000; quick 300)")
    parser.add_argument("--duration", help="simulated time from Mon 19:00 (default 1h; quick 20m)")
    parser.add_argument(
        "--server-core", type=int, default=0, help="core for the reference app (default 0)"
    )
    parser.add_argument("--client-core", type=int, default=1, help="core for this process (default 1)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="bound on each backend's run, s (default 300)"
    )
    parser.add_argument("--no-record", action="store_true", help="do not update benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    args.users = args.users or (300 if args.quick else 1000)
    args.duration = args.duration or ("20m" if args.quick else "1h")
    if args.no_pin or not servers.can_pin(args.server_core, args.client_core):
        args.server_core = args.client_core = None
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the scenario through each backend, print the table, record it; 1 if the streams differ."""
    args = parse_args(argv)
    about = machine()
    print(f"backends: one scenario through {', '.join(BACKENDS)} · {about}")
    notes: list[str] = []
    with servers.on_core(args.client_core):  # testclient and http run here; the served app on the other
        rows = run_backends(args, notes)
    same = compare(rows, notes)
    result = table(args, rows)
    result.print()
    print("\n" + "\n".join(f"- {line}" for line in notes))
    if not args.no_record:
        command = "python benchmarks/bench_backends.py " + " ".join(
            shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
        )
        body = [f"- machine: {about}", f"- command: `{command.strip()}`", "", result.markdown(), ""]
        record_section(HEADING, "\n".join(body + [f"- {line}" for line in notes]))
        print("recorded in benchmarks/RESULTS.md", file=sys.stderr)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
