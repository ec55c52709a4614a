"""Log sink throughput (JSONL, SQLite, Parquet) on a 1M-action run, and what metrics cost.

    .venv/bin/python benchmarks/bench_sinks.py [--actions 1000000] [--users 50000]

1. Runs the core with the mock backend until ``--actions`` actions exist, keeping
   every batch and its outcomes (lognormal latencies, so floats are realistic);
   the time of ``Simulation.step`` is the core's time.
2. Writes all of them to each sink (closing included: SQLite builds its indexes,
   Parquet writes its footer) and reports actions/s against the targets
   (Parquet >= 1M/s, JSONL and SQLite >= 300k/s); checks every log holds every row.
3. Feeds them to :class:`simcore.analysis.metrics.Metrics` (with the hourly population
   probe) and reports its time as a share of the core's (target <= 10%), at
   ``--users`` and on the default profile's 1,000 users (small batches, where
   per-batch overhead shows most).
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from simcore.analysis.metrics import Metrics
from simcore.core.actions import ActionBatch
from simcore.core.simulation import Simulation
from simcore.logs.jsonl import JsonlSink
from simcore.logs.sinks import ParquetSink, SqliteSink
from simcore.run.loading import load_config
from simcore.scenario.parse import with_overrides
from simcore.scenario.schema import Config
from simcore.seam.contract import Outcomes
from simcore_backends.mock import MockBackend

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"jsonl": 300_000, "sqlite": 300_000, "parquet": 1_000_000}


def generate(
    config: Config, actions: int, max_ticks: int
) -> tuple[Simulation, list[tuple[ActionBatch, Outcomes]], float]:
    """Step until ``actions`` actions (or ``max_ticks``); return the batches and the core's seconds."""
    sim, backend = Simulation(config), MockBackend()
    rng = np.random.default_rng(1)
    pairs: list[tuple[ActionBatch, Outcomes]] = []
    core, n = 0.0, 0
    while n < actions and sim.tick < max_ticks:
        t0 = time.perf_counter()
        batch = sim.step()
        core += time.perf_counter() - t0
        out = backend.execute(batch)
        out.latency_ms = rng.lognormal(2.0, 0.8, len(batch)).astype(np.float32)
        pairs.append((batch, out))
        n += len(batch)
    return sim, pairs, core


def time_metrics(sim: Simulation, pairs: list[tuple[ActionBatch, Outcomes]]) -> float:
    """Seconds to feed every batch to a Metrics sink (population probe included)."""
    cfg = sim.config
    m = Metrics(cfg.tick_seconds, cfg.start, sim.routine.state_names, sim.profile_names)
    m.population_states = lambda: sim.population.state[: sim.population.n]
    t0 = time.perf_counter()
    for batch, out in pairs:
        m.write(batch, out)
    elapsed = time.perf_counter() - t0
    assert m.totals()["actions"] == sum(len(b) for b, _ in pairs)
    return elapsed


def count_rows(fmt: str, path: Path) -> int:
    """Rows in a log, read back independently of the sink."""
    if fmt == "jsonl":
        with open(path, "rb") as f:
            return sum(1 for _ in f)
    if fmt == "sqlite":
        db = sqlite3.connect(path)
        try:
            return int(db.execute("SELECT count(*) FROM actions").fetchone()[0])
        finally:
            db.close()
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def time_sink(
    fmt: str, sim: Simulation, pairs: list[tuple[ActionBatch, Outcomes]], directory: Path
) -> float:
    """Seconds to write every batch to a new ``fmt`` log and close it."""
    cfg = sim.config
    args = (cfg.start, cfg.tick_seconds, sim.profile_names, sim.routine.state_names)
    path = directory / f"actions.{fmt}"
    t0 = time.perf_counter()
    sink: Any = {"jsonl": JsonlSink, "sqlite": SqliteSink, "parquet": ParquetSink}[fmt](path, *args)
    for batch, out in pairs:
        sink.write(batch, out)
    sink.close()
    elapsed = time.perf_counter() - t0
    n = sum(len(b) for b, _ in pairs)
    assert count_rows(fmt, path) == n, f"{fmt} log lost rows"
    print(
        f"  {fmt:8} {n:>10,} actions {elapsed:7.2f} s {n / elapsed:>12,.0f} actions/s   "
        f"target {TARGETS[fmt]:>9,}/s  {'ok' if n / elapsed >= TARGETS[fmt] else 'MISSED'}   "
        f"{path.stat().st_size / 2**20:7.1f} MiB"
    )
    path.unlink()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--sinks", default="jsonl,sqlite,parquet")
    args = parser.parse_args()
    default = load_config(ROOT / "profiles" / "default.toml")

    big = with_overrides(default, population__initial_users=args.users, duration="7d")
    sim, pairs, core = generate(big, args.actions, big.duration_ticks)
    n = sum(len(b) for b, _ in pairs)
    print(
        f"run: {args.users:,} users, {sim.tick:,} ticks, {n:,} actions; core {core:.2f} s ({n / core:,.0f} actions/s)"
    )
    print("log sinks (write + close):")
    with tempfile.TemporaryDirectory(prefix="bench-sinks-") as tmp:
        for fmt in filter(None, args.sinks.split(",")):
            time_sink(fmt, sim, pairs, Path(tmp))

    print("metrics (logging off), time as a share of the core's Simulation.step time:")
    for label, cfg, limit in (
        (f"{args.users:,} users", big, big.duration_ticks),
        ("default profile, 1,000 users, 1 day", default, default.duration_ticks),
    ):
        s, p, c = (sim, pairs, core) if cfg is big else generate(cfg, 10**9, limit)
        m = min(time_metrics(s, p) for _ in range(3))
        actions = sum(len(b) for b, _ in p)
        per_tick = m / len(p) * 1e6
        print(
            f"  {label:38} {len(p):>6,} ticks {actions:>10,} actions  core {c:6.2f} s  "
            f"metrics {m:5.2f} s = {100 * m / c:4.1f}% ({per_tick:.0f} µs/tick)  "
            f"{'ok' if m <= 0.10 * c else 'MISSED'} (target <= 10%)"
        )


if __name__ == "__main__":
    main()
