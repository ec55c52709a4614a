"""HTTP throughput per client core: simcore's http backend against Locust, raw clients and wrk.

Reproduces the "HTTP throughput per client core" tables of benchmarks/RESULTS.md. For each
server (nginx from Debian's packages with a fixed JSON body, then the reference app under
uvicorn), client and server pinned to different cores (``taskset``), the same concurrency
for every client: simcore's http backend with the simulation running (``clients.py``, a
real simcore run built by :func:`common.run_simcore`), a raw aiohttp loop (asyncio and
uvloop), a bare asyncio protocol, Locust's FastHttpUser, and wrk as the C ceiling.
Target: simcore http >= 1.3x Locust against nginx.

For each server (nginx with a fixed JSON body, then the reference app) every chosen
client runs in interleaved rounds against the same server, pinned to the client core,
with the same number of requests in flight. simcore runs a real simulation (its
requests are whatever its users do); the other clients GET ``/posts?limit=20`` (with a
signed-up user's token on the reference app).

The verdict compares simcore with Locust within each round (adjacent runs, so slow
drifts of the machine's load cancel) and takes the median over rounds, both for
requests/s and for requests per client CPU-second ("per client core").

Every load is bounded in requests and in time and goes only to 127.0.0.1. The tables are
printed and written to their section of benchmarks/RESULTS.md (--no-record: not). The
exit code is 1 if simcore misses the target against nginx, else 0.
Needs: nginx (apt-get install -y nginx), locust and py-spy (pip), wrk optional (apt).

    python benchmarks/bench_throughput.py            # 3 rounds against nginx and the reference app
    python benchmarks/bench_throughput.py --quick    # nginx only, smaller, one round: < 60 s
    python benchmarks/bench_throughput.py --rounds 5 --seconds 15
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import clients
import profile_http
import servers
from clients import ClientError, Measurement
from common import Table, machine, ms, record_section, run_simcore, scenario_config
from simcore.scenario.parse import dump_config, with_overrides
from simcore.scenario.schema import Config

HEADING = "### HTTP throughput per client core"
TARGET = 1.3  # simcore http / Locust FastHttpUser against nginx, same machine, same run
CLIENTS = ("simcore", "locust", "simcore-aiohttp", "aiohttp", "uvloop", "lean", "wrk")
HOW_TO_READ = (
    "- how to read: *req/s per client core* is requests per second of client CPU time (simcore "
    "and the raw clients time their own CPU; Locust's and wrk's is sampled from /proc). It is "
    "the robust figure when other work shares the machine; plain req/s is also bounded by the "
    "server's core and by latency. *each round* shows the spread; the verdict is the median of "
    "per-round simcore/Locust ratios (neighbouring runs).",
    "- the machine is shared with other jobs (see the load average): rerun for your own numbers.",
)


def say(text: str) -> None:
    """Progress, on stderr so stdout holds only the tables."""
    print(text, file=sys.stderr, flush=True)


@dataclass
class Plan:
    """What every client sends to one server, and what they measured."""

    server: str
    base_url: str
    path: str
    headers: dict[str, str]
    requests: int
    seconds: float
    sim_config: Path
    sim_users: int
    sim_actions: int
    rounds: list[dict[str, Measurement]] = field(default_factory=list)

    def runs(self, key: str) -> list[Measurement]:
        """Every round's measurement of one client."""
        return [r[key] for r in self.rounds if key in r]


@dataclass
class Verdict:
    """simcore http against Locust on one server: medians of the per-round ratios."""

    server: str
    rps_ratio: float
    per_core_ratio: float | None

    def met(self) -> bool:
        """Whether simcore reaches the target by both measures (the target is set for nginx only)."""
        return self.rps_ratio >= TARGET and (self.per_core_ratio or 0.0) >= TARGET

    def line(self) -> str:
        """A one-line statement of the result."""
        per_core = "–" if self.per_core_ratio is None else f"{self.per_core_ratio:.2f}×"
        ratios = (
            f"{self.server}: simcore http / Locust FastHttpUser = {self.rps_ratio:.2f}× in req/s, "
            f"{per_core} per client core (median of per-round ratios)"
        )
        if self.server != "nginx":
            return ratios + "; no target here: this server, not the client, sets the pace"
        return ratios + f"; target ≥ {TARGET}×: " + ("met" if self.met() else "MISSED")


def _planned_actions(config: Config) -> int:
    """How many actions the scenario has (the mock backend runs it in well under a second)."""
    return int(run_simcore(config, "mock").controller.totals.actions)


def _runners(args: argparse.Namespace, plan: Plan) -> list[tuple[str, Callable[[], Measurement]]]:
    core, n, url = args.client_core, args.concurrency, plan.base_url + plan.path
    token = plan.headers.get("Authorization", "").removeprefix("Bearer ")

    def raw(uvloop: bool, mode: str) -> Callable[[], Measurement]:
        return lambda: clients.raw_client(
            plan.server, url, plan.requests, n, plan.seconds, core, uvloop, plan.headers, mode
        )

    every: dict[str, Callable[[], Measurement]] = {
        "simcore": lambda: clients.simcore_http(
            plan.server, plan.base_url, plan.sim_config, core, args.timeout
        ),
        "simcore-aiohttp": lambda: clients.simcore_http(
            plan.server, plan.base_url, plan.sim_config, core, args.timeout, "aiohttp"
        ),
        "locust": lambda: clients.locust_fast(
            plan.server,
            plan.base_url,
            plan.path,
            plan.requests,
            n,
            plan.seconds,
            core,
            token,
            args.locust_processes,
        ),
        "aiohttp": raw(False, "aiohttp"),
        "uvloop": raw(True, "aiohttp"),
        "lean": raw(True, "lean"),
        "wrk": lambda: clients.wrk(
            plan.server, url, plan.requests * 10, n, plan.seconds, core, plan.headers
        ),
    }
    return [(key, every[key]) for key in args.clients]


def _run_rounds(args: argparse.Namespace, plan: Plan, notes: list[str]) -> None:
    chosen = _runners(args, plan)
    for number in range(args.rounds):
        # rotate the order from round to round; simcore and locust stay neighbours
        shift = number % len(chosen)
        results: dict[str, Measurement] = {}
        for key, run in chosen[shift:] + chosen[:shift]:
            say(f"throughput: {plan.server} · {key} · round {number + 1}/{args.rounds} …")
            try:
                results[key] = run()
                if results[key].note:
                    notes.append(f"{plan.server} · {key} · round {number + 1}: {results[key].note}")
            except ClientError as exc:
                notes.append(f"{plan.server} · {key}: {exc}")
        plan.rounds.append(results)


def _profile(args: argparse.Namespace, plan: Plan) -> str:
    """One more simcore run against this server, under py-spy (not timed); where the report is."""
    out: Path = args.profile
    raw = out / f"simcore-http-{plan.server}.txt"
    say(f"profiling simcore http against {plan.server} with py-spy …")
    command = clients.simcore_command(plan.sim_config, plan.base_url, args.timeout)
    profile_http.record(command, raw, args.client_core, timeout=args.timeout + 60)
    report = out / f"simcore-http-{plan.server}-summary.txt"
    report.write_text(profile_http.summarize(raw) + "\n")
    return f"{plan.server}: py-spy profile of simcore http in {raw}, summary in {report}"


def median_of(runs: list[Measurement]) -> Measurement:
    """The run with the median throughput (the lower middle one for an even count)."""
    ranked = sorted(runs, key=lambda m: m.rps)
    return ranked[(len(ranked) - 1) // 2]


def per_core(m: Measurement) -> float | None:
    """Requests per client CPU-second."""
    return m.rps / m.busy if m.busy else None


def verdict(plan: Plan) -> Verdict | None:
    """simcore vs Locust, the median of per-round ratios (None if either is missing)."""
    pairs = [(r["simcore"], r["locust"]) for r in plan.rounds if "simcore" in r and "locust" in r]
    pairs = [(s, lo) for s, lo in pairs if lo.rps > 0]
    if not pairs:
        return None
    core_ratios = [a / b for a, b in ((per_core(s), per_core(lo)) for s, lo in pairs) if a and b]
    return Verdict(
        server=plan.server,
        rps_ratio=statistics.median(s.rps / lo.rps for s, lo in pairs),
        per_core_ratio=statistics.median(core_ratios) if core_ratios else None,
    )


def run_server(args: argparse.Namespace, server_name: str, tmp: Path, notes: list[str]) -> Plan:
    """Start one server, run every client against it in rounds, stop it."""
    scale = 1 if server_name == "nginx" else args.app_scale
    sim_users = max(100, args.sim_users // scale)
    sim = with_overrides(
        scenario_config(sim_users, args.sim_duration, args.seed), backend__concurrency=args.concurrency
    )
    sim_file = tmp / f"sim-{server_name}.toml"
    sim_file.write_text(dump_config(sim))
    server: servers.Server = (
        servers.Nginx(args.server_core) if server_name == "nginx" else servers.RefApp(args.server_core)
    )
    with server:
        token = server.sign_up() if isinstance(server, servers.RefApp) else ""
        plan = Plan(
            server=server_name,
            base_url=server.url,
            path="/posts?limit=20",
            headers={"Authorization": f"Bearer {token}"} if token else {},
            requests=max(1000, args.requests // scale),
            seconds=args.seconds,
            sim_config=sim_file,
            sim_users=sim_users,
            sim_actions=_planned_actions(sim),
        )
        _run_rounds(args, plan, notes)
        if args.profile is not None and "simcore" in args.clients:
            notes.append(_profile(args, plan))
    return plan


def table(args: argparse.Namespace, plan: Plan) -> Table:
    """The server's side-by-side: the median round of each client, and every round's req/s."""
    what = "nginx, fixed JSON body" if plan.server == "nginx" else "reference app (uvicorn, SQLite)"
    result = Table(
        title=(
            f"throughput vs {what}: {args.concurrency} in flight, server on core "
            f"{_core(args.server_core)}, client on core {_core(args.client_core)}, "
            f"median of {len(plan.rounds)} round(s)"
        ),
        columns=[
            *("<client", "requests", "req/s", "client CPU", "req/s per client core"),
            *("p50 ms", "p99 ms", "errors", "<each round (req/s)"),
        ],
    )
    for key in args.clients:
        runs = plan.runs(key)
        if not runs:
            continue
        m = median_of(runs)
        core_rate = per_core(m)
        result.add(
            m.client,
            f"{m.requests:,}",
            f"{m.rps:,.0f}",
            f"{100 * m.busy:.0f}%" if m.busy is not None else "–",
            f"{core_rate:,.0f}" if core_rate else "–",
            ms(m.p50_ms),
            ms(m.p99_ms),
            f"{m.errors:,}",
            " ".join(f"{r.rps:,.0f}" for r in runs),
        )
    result.caption = (
        f"simcore: default profile, {plan.sim_users:,} users from Mon 19:00 for {args.sim_duration} "
        f"({plan.sim_actions:,} actions incl. sign-ups); others: GET {plan.path}"
        + (" with a user's bearer token" if plan.headers else "")
        + ". client CPU: cores' worth used by the client while it ran (1 = all of its core)."
    )
    return result


def _core(core: int | None) -> str:
    return "any" if core is None else str(core)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="bench_throughput.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="nginx only, small sizes and one round: < 60 s"
    )
    parser.add_argument("--seed", type=int, default=42, help="simulation seed (default 42)")
    parser.add_argument("--servers", help="comma-separated: nginx, refapp (default both; quick: nginx)")
    parser.add_argument(
        "--clients",
        default=",".join(CLIENTS),
        help=(
            "comma-separated, in this order by default: simcore (a real simcore run, the http "
            "backend's default client), locust (FastHttpUser), simcore-aiohttp (simcore with "
            "backend.client = aiohttp), aiohttp and uvloop (raw aiohttp loop on asyncio / uvloop), lean "
            "(bare asyncio protocol on uvloop: Python without an HTTP library), wrk (the C ceiling)"
        ),
    )
    parser.add_argument(
        "--concurrency", type=int, default=64, help="requests in flight, every client (default 64)"
    )
    parser.add_argument(
        "--requests",
        type=int,
        help="request budget of raw/locust per run vs nginx (default 200000; quick 40000)",
    )
    parser.add_argument(
        "--seconds", type=float, help="time bound of raw/locust/wrk per run (default 10; quick 3)"
    )
    parser.add_argument(
        "--sim-users", type=int, help="simcore's initial users vs nginx (default 40000; quick 10000)"
    )
    parser.add_argument("--sim-duration", help="simcore's simulated time (default 1h; quick 30m)")
    parser.add_argument(
        "--app-scale",
        type=int,
        default=10,
        help="divide requests and sim users by this against the slower reference app (default 10)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        help="interleaved rounds per client; the median counts (default 3; quick 1)",
    )
    parser.add_argument("--locust-processes", type=int, default=1, help="locust --processes (default 1)")
    parser.add_argument("--server-core", type=int, default=0, help="core for the server (default 0)")
    parser.add_argument("--client-core", type=int, default=1, help="core for the client (default 1)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
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
            say("taskset or the cores are not available: running unpinned")
        args.server_core = args.client_core = None
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run every client against every server, print the tables, record them; exit 1 on a miss."""
    args = parse_args(argv)
    about = machine()
    print(f"HTTP throughput per client core · {about}")
    tables: list[Table] = []
    notes: list[str] = []
    verdicts: list[Verdict] = []
    # this process only starts and watches: keep it off the client's core
    with tempfile.TemporaryDirectory(prefix="simcore-bench-") as tmp, servers.on_core(args.server_core):
        for server_name in args.servers:
            try:
                plan = run_server(args, server_name, Path(tmp), notes)
            except (RuntimeError, OSError) as exc:  # no nginx, a server that does not start
                notes.append(f"{server_name}: skipped: {exc}")
                continue
            tables.append(table(args, plan))
            tables[-1].print()
            found = verdict(plan)
            if found is not None:
                verdicts.append(found)
    lines = notes + [v.line() for v in verdicts]
    print("\n" + "\n".join(f"- {line}" for line in lines))
    if not args.no_record:
        command = "python benchmarks/bench_throughput.py " + " ".join(
            shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
        )
        body = [f"- machine: {about}", f"- command: `{command.strip()}`", *HOW_TO_READ, ""]
        body += [t.markdown() + "\n" for t in tables] + [f"- {line}" for line in lines]
        record_section(HEADING, "\n".join(body))
        say("recorded in benchmarks/RESULTS.md")
    return 0 if all(v.met() for v in verdicts if v.server == "nginx") else 1


if __name__ == "__main__":
    sys.exit(main())
