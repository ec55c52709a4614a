"""Part 2 of the backend benchmark: request throughput per client core, client and server pinned.

For each server (nginx with a fixed JSON body, then the reference app) every chosen
client runs in interleaved rounds against the same server, pinned to the client core,
with the same number of requests in flight. simcore runs a real simulation (its
requests are whatever its users do); the other clients GET ``/posts?limit=20`` (with a
signed-up user's token on the reference app).

The verdict compares simcore with Locust within each round (adjacent runs, so slow
drifts of the machine's load cancel) and takes the median over rounds, both for
requests/s and for requests per client CPU-second ("per client core").
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

import clients
import profile_http
import servers
from clients import ClientError, Measurement
from simcore.core.simulation import Simulation
from simcore.run.controller import Controller
from simcore.run.loading import load_config
from simcore.scenario.parse import dump_config, with_overrides
from simcore.scenario.schema import Config
from simcore.seam.registry import load_backend

ROOT = Path(__file__).resolve().parent.parent
PROFILE = ROOT / "profiles" / "default.toml"
EVENING = dt.datetime(2026, 1, 5, 19, 0)  # a Monday evening: most users are relaxing and active
TARGET = 1.3  # simcore http / Locust FastHttpUser against nginx, same machine, same run
CLIENTS = ("simcore", "locust", "simcore-aiohttp", "aiohttp", "uvloop", "lean", "wrk")


def scenario_config(users: int, duration: str, seed: int = 42) -> Config:
    """The default profile from a Monday 19:00, with ``users`` initial users for ``duration``."""
    return with_overrides(
        load_config(PROFILE),
        seed=seed,
        start=EVENING,
        duration=duration,
        population__initial_users=users,
        population__max_users=max(users * 2, 1000),
    )


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


def _sign_up(base_url: str) -> str:
    """Sign one user up on the reference app; return its token."""
    request = urllib.request.Request(
        base_url + "/users",
        data=b'{"name":"bench"}',
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        token: str = json.loads(response.read())["token"]
        return token


def _planned_actions(config: Config) -> int:
    """How many actions the scenario has (the mock backend runs it in well under a second)."""
    controller = Controller(Simulation(config), load_backend("mock"))
    controller.run(config.duration_ticks)
    controller.close()
    return int(controller.totals.actions)


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


def _run_rounds(args: argparse.Namespace, plan: Plan, notes: list[str], console: Console) -> None:
    chosen = _runners(args, plan)
    for number in range(args.rounds):
        # rotate the order from round to round; simcore and locust stay neighbours
        shift = number % len(chosen)
        results: dict[str, Measurement] = {}
        for key, run in chosen[shift:] + chosen[:shift]:
            console.print(
                f"[dim]throughput: {plan.server} · {key} · round {number + 1}/{args.rounds} …[/]"
            )
            try:
                results[key] = run()
            except ClientError as exc:
                notes.append(f"{plan.server} · {key}: {exc}")
        plan.rounds.append(results)


def _profile(args: argparse.Namespace, plan: Plan, console: Console) -> str:
    """One more simcore run against this server, under py-spy (not timed); where the report is."""
    out: Path = args.profile
    raw = out / f"simcore-http-{plan.server}.txt"
    console.print(f"[dim]profiling simcore http against {plan.server} with py-spy …[/]")
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


def run_server(
    args: argparse.Namespace, server_name: str, tmp: Path, console: Console, notes: list[str]
) -> Plan:
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
        token = _sign_up(server.url) if server_name == "refapp" else ""
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
        _run_rounds(args, plan, notes, console)
        if args.profile is not None and "simcore" in args.clients:
            notes.append(_profile(args, plan, console))
    return plan


def table(args: argparse.Namespace, plan: Plan) -> Table:
    """The server's side-by-side: the median round of each client, and every round's req/s."""
    what = "nginx, fixed JSON body" if plan.server == "nginx" else "reference app (uvicorn, SQLite)"
    result = Table(
        title=(
            f"throughput vs {what}: {args.concurrency} in flight, server on core "
            f"{_core(args.server_core)}, client on core {_core(args.client_core)}, "
            f"median of {len(plan.rounds)} round(s)"
        )
    )
    columns = ["client", "requests", "req/s", "client CPU", "req/s per client core"]
    columns += ["p50 ms", "p99 ms", "errors", "each round (req/s)"]
    for column in columns:
        result.add_column(
            column, justify="left" if column in ("client", "each round (req/s)") else "right"
        )
    for key in args.clients:
        runs = plan.runs(key)
        if not runs:
            continue
        m = median_of(runs)
        core_rate = per_core(m)
        result.add_row(
            m.client,
            f"{m.requests:,}",
            f"{m.rps:,.0f}",
            f"{100 * m.busy:.0f}%" if m.busy is not None else "–",
            f"{core_rate:,.0f}" if core_rate else "–",
            _ms(m.p50_ms),
            _ms(m.p99_ms),
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


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _core(core: int | None) -> str:
    return "any" if core is None else str(core)
