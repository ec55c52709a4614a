"""A real simcore run through the http backend, measured from the inside.

What ``simcore run CONFIG --backend http --target URL --log none`` does (the
:class:`~simcore.run.controller.Controller` stepping the simulation and handing each batch
to the http backend), timed around the run loop with the wall clock and this
process's CPU time, so requests per client CPU-second are exact. Run as a script::

    python benchmarks/simclient.py CONFIG http://127.0.0.1:PORT [--client aiohttp] [--max-seconds 120]

It prints one JSON object: actions, requests (actions sent, retries included),
skipped, errors, seconds, cpu_seconds, rps, p50_ms, p99_ms, statuses.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from simcore.core.actions import ActionBatch
from simcore.core.simulation import Simulation
from simcore.run.controller import Controller
from simcore.run.loading import load_config
from simcore.scenario.parse import with_overrides
from simcore.seam.contract import ErrorKind, Outcomes
from simcore.seam.registry import load_backend


class LatencySink:
    """Keeps each batch's outcomes (a few bytes per action)."""

    def __init__(self) -> None:
        self.parts: list[Outcomes] = []

    def write(self, batch: ActionBatch, outcomes: Outcomes) -> None:
        """Keep the outcomes."""
        self.parts.append(outcomes)

    def close(self) -> None:
        """Nothing to flush."""

    def joined(self, name: str) -> NDArray[Any]:
        """One outcome field over the run."""
        return np.concatenate([getattr(p, name) for p in self.parts]) if self.parts else np.zeros(0)


def run(config_file: Path, target: str, max_seconds: float, client: str | None = None) -> dict[str, Any]:
    """Run the scenario against ``target``; stop early (between ticks) after ``max_seconds``."""
    config = with_overrides(load_config(config_file), backend__name="http", backend__target=target)
    options = {"target": target} | ({"client": client} if client else {})
    backend = load_backend("http", **options)
    sink = LatencySink()
    controller = Controller(Simulation(config), backend, [sink])
    controller.open()
    cpu0, began = time.process_time(), time.perf_counter()
    ticks = 0
    try:
        while ticks < config.duration_ticks and time.perf_counter() - began < max_seconds:
            controller.run_tick()
            ticks += 1
        seconds = time.perf_counter() - began
        cpu = time.process_time() - cpu0
    finally:
        controller.close()
    error = sink.joined("error")
    attempts = sink.joined("attempts").astype(np.int64)
    status = sink.joined("status")
    sent = (error != ErrorKind.SKIPPED) & (error != ErrorKind.INJECTED)
    latency = sink.joined("latency_ms").astype(np.float64)[sent]
    codes, counts = np.unique(status, return_counts=True)
    failed = (error == ErrorKind.CONNECTION) | (error == ErrorKind.TIMEOUT)
    requests = int(attempts[sent].sum())
    return {
        "client": getattr(backend, "client", "?"),
        "ticks": ticks,
        "complete": ticks == config.duration_ticks,
        "actions": len(status),
        "requests": requests,
        "skipped": int((error == ErrorKind.SKIPPED).sum()),
        "errors": int(failed.sum()),  # no answer; 4xx answers are the API's (e.g. 404 after a delete)
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rps": requests / seconds if seconds > 0 else 0.0,
        "p50_ms": float(np.percentile(latency, 50)) if latency.size else None,
        "p99_ms": float(np.percentile(latency, 99)) if latency.size else None,
        "statuses": dict(zip(map(str, codes.tolist()), counts.tolist())),
    }


def main() -> None:
    """Parse the command line, run, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("config", type=Path, help="a simcore TOML config")
    parser.add_argument("target", help="base URL of a 127.0.0.1 server")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=120.0,
        help="stop between ticks after this long (default 120)",
    )
    parser.add_argument(
        "--client",
        choices=("auto", "lean", "aiohttp"),
        help="the http backend's client (backend.client)",
    )
    args = parser.parse_args()
    print(json.dumps(run(args.config, args.target, args.max_seconds, args.client)))


if __name__ == "__main__":
    main()
