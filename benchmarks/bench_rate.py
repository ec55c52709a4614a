"""How close `simcore run --rate N` keeps the real actions per second to N (issue 12).

    python benchmarks/bench_rate.py                          # nginx and the reference app, 200/1000/3000
    python benchmarks/bench_rate.py --servers nginx --rates 500 --seconds 20 --no-record

Each (server, N) pair starts the server on a free 127.0.0.1 port (nginx with a fixed
answer, or the reference app under uvicorn; pinned to core 0 and the client to core 1
when the machine allows), runs the default profile through the http backend with
``rate=N`` for ``--seconds`` real seconds (built by ``build_run`` as ``simcore run
--rate N --log none`` builds it), and stops it as ``simcore ctl stop`` would.

What is measured: the real time at which each batch or slice is handed to the http
backend (a thin subclass stamps ``time.monotonic()`` and the number of actions at each
``execute_async`` call), so the figures do not depend on the log's time columns.
After ``--warmup`` seconds the stamps are cut into ``--window``-second windows; the
table gives the mean, min and max of the windows' actions/s and the share of windows
within ±10 % of N (the issue's target: all of them, once warmed up).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from common import OutcomeSink, Table, machine, record_section, scenario_config
from servers import Nginx, RefApp, Server, can_pin, on_core
from simcore.core.actions import ActionBatch
from simcore.run.builder import build_run
from simcore.scenario.parse import with_overrides
from simcore.seam.contract import Outcomes
from simcore_backends.http import HttpBackend

SERVERS: dict[str, type[Server]] = {"nginx": Nginx, "refapp": RefApp}
HEADING = "## Load at a rate target (issue 12): `python benchmarks/bench_rate.py`"
ACTIONS_PER_USER_DAY = 40  # the default profile, roughly (39,903 actions for 1,000 users' day)


class StampedHttp(HttpBackend):
    """The http backend, noting when each call hands it actions (real time, count)."""

    def __init__(self, target: str) -> None:
        super().__init__(target=target)
        self.stamps: list[tuple[float, int]] = []

    async def execute_async(self, batch: ActionBatch) -> Outcomes:
        """Stamp, then execute as the http backend does."""
        self.stamps.append((time.monotonic(), len(batch)))
        return await super().execute_async(batch)


def windows(stamps: list[tuple[float, int]], warmup: float, window: float) -> np.ndarray:
    """Actions per second in each whole ``window`` after ``warmup`` seconds from the first stamp."""
    if not stamps:
        return np.zeros(0)
    times = np.array([t for t, _ in stamps]) - stamps[0][0]
    counts = np.array([n for _, n in stamps], dtype=np.float64)
    keep = times >= warmup
    index = ((times[keep] - warmup) // window).astype(np.int64)
    whole = int((times[-1] - warmup) // window)  # the last window is cut short by the stop
    if whole <= 0:
        return np.zeros(0)
    per = np.bincount(index, weights=counts[keep], minlength=whole)[:whole]
    return per / window


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (nginx's master and its worker)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            todo.extend(int(c) for c in task.read_text().split())
    return found


def runqueue_wait(pids: list[int]) -> float:
    """Seconds the threads of ``pids`` have spent runnable but waiting for a CPU (schedstat)."""
    total = 0
    for pid in pids:
        for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
            with contextlib.suppress(OSError, IndexError, ValueError):  # a thread that ended meanwhile
                total += int(stat.read_text().split()[1])
    return total / 1e9


def run_at(server: Server, rate: float, seconds: float, client_core: int | None) -> dict[str, Any]:
    """One run at ``rate`` against ``server`` for ``seconds``; the stamps and the summary."""
    users = max(1000, int(rate * seconds * 1.5 / ACTIONS_PER_USER_DAY))
    config = with_overrides(
        scenario_config(users, "1d"), backend__name="http", backend__target=server.url
    )
    backend = StampedHttp(server.url)
    outcomes = OutcomeSink()
    with tempfile.TemporaryDirectory(prefix="simcore-bench-rate-") as directory, on_core(client_core):
        run = build_run(
            config,
            run_dir=Path(directory) / "run",
            backend=backend,
            logs=["none"],
            rate=rate,
            sinks=[outcomes],
            control_socket=False,
            handle_signals=False,
        )
        limit = threading.Timer(seconds, run.control.request_stop, ["time limit"])
        limit.daemon = True
        assert server.process is not None
        server_pids, client_pids = process_tree(server.process.pid), [os.getpid()]
        waited = (runqueue_wait(client_pids), runqueue_wait(server_pids))
        began = time.monotonic()
        with run:
            limit.start()
            try:
                run.execute()
            finally:
                limit.cancel()
                wall = time.monotonic() - began
                waited = (
                    (runqueue_wait(client_pids) - waited[0]) / wall,
                    (runqueue_wait(server_pids) - waited[1]) / wall,
                )
    _, p99 = outcomes.latency_percentiles()
    return {
        "users": users,
        "stamps": backend.stamps,
        "summary": run.summary,
        "p99": p99,
        "waited": waited,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--servers", default="nginx,refapp", help="comma-separated: nginx, refapp")
    parser.add_argument("--rates", default="200,1000,3000", help="comma-separated rate targets N")
    parser.add_argument("--seconds", type=float, default=45.0, help="real seconds per run")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds left out at the start")
    parser.add_argument("--window", type=float, default=5.0, help="window length in seconds")
    parser.add_argument("--no-record", action="store_true", help="print only; leave RESULTS.md alone")
    parser.add_argument("--no-pin", action="store_true", help="leave server and client to the scheduler")
    args = parser.parse_args()
    pin = not args.no_pin and can_pin(0, 1)
    server_core, client_core = (0, 1) if pin else (None, None)
    about = machine()
    table = Table(
        title=f"real actions/s per {args.window:g}-second window after {args.warmup:g} s of warm-up",
        columns=[
            "<server",
            "N",
            "load",
            "windows",
            "mean",
            "min",
            "max",
            "within ±10 %",
            "overall",
            "max lag s",
            "p99 ms",
            "errors",
            "client waits",
            "server waits",
        ],
        caption=f"default profile from Mon 19:00, seed 42, http backend (lean client, concurrency 64, "
        f"pipeline 4), {args.seconds:g} s per run; users = max(1000, N × seconds × 1.5 / 40) so the run "
        f"never runs out of actions; {'server on core 0, client on core 1' if pin else 'not pinned'}. "
        "*overall*: the summary's pacing.actions_per_second (the whole run, warm-up included); "
        "*load*: the 1-minute load average as the run started (2 = both cores busy); *client waits*, "
        "*server waits*: the share of the run its threads spent ready to run but waiting for a CPU "
        "(/proc/PID/task/*/schedstat; other jobs on the machine take it).",
    )
    for name in args.servers.split(","):
        for rate in (float(r) for r in args.rates.split(",")):
            load = os.getloadavg()[0]
            with SERVERS[name](server_core) as server:
                got = run_at(server, rate, args.seconds, client_core)
            per = windows(got["stamps"], args.warmup, args.window)
            summary = got["summary"]
            within = float(np.mean(np.abs(per / rate - 1) <= 0.10)) if len(per) else 0.0
            p99 = got["p99"]
            table.add(
                name,
                f"{rate:,.0f}",
                f"{load:.1f}",
                str(len(per)),
                f"{per.mean():,.0f}" if len(per) else "–",
                f"{per.min():,.0f}" if len(per) else "–",
                f"{per.max():,.0f}" if len(per) else "–",
                f"{within:.0%}",
                f"{summary['pacing']['actions_per_second'] or 0:,.0f}",
                f"{summary['pacing']['max_lag_seconds']:.2f}",
                "–" if p99 is None else f"{p99:.1f}",
                f"{sum(summary['errors'].values()):,}",
                f"{got['waited'][0]:.0%}",
                f"{got['waited'][1]:.0%}",
            )
            print(f"{name} N={rate:g}: windows {np.round(per).astype(int).tolist()}", flush=True)
    table.print()
    print(f"\n_{about}_")
    if not args.no_record:
        command = "python benchmarks/bench_rate.py " + " ".join(
            f"--{k} {v}"
            for k, v in (("servers", args.servers), ("rates", args.rates), ("seconds", args.seconds))
        )
        record_section(HEADING, f"`{command}`\n\nMachine: {about}.\n\n{table.markdown()}\n")


if __name__ == "__main__":
    main()
