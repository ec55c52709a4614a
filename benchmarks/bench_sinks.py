"""Log sink throughput (JSONL, SQLite, Parquet) on a 1M-action run, and what metrics cost.

    python benchmarks/bench_sinks.py                       # 1M actions from 50,000 users
    python benchmarks/bench_sinks.py --actions 20000 --users 2000 --sinks jsonl

1. Runs the core with the mock backend until ``--actions`` actions exist, keeping
   every batch and its outcomes (lognormal latencies, so floats are realistic);
   the time of ``Simulation.step`` is the core's time.
2. Writes all of them to each sink (closing included: SQLite builds its indexes,
   Parquet writes its footer) and reports actions/s against the targets
   (Parquet >= 1M/s, JSONL and SQLite >= 300k/s); checks every log holds every row.
3. Feeds them to :class:`simcore.analysis.metrics.Metrics` (with the hourly population
   probe) and reports its time as a share of the core's (target <= 10%), at
   ``--users`` and on the default profile's 1,000 users (small batches, where
   per-batch overhead shows most); then both again with outcomes as a backend that
   sends requests records them (a send time, one real second per tick, and an
   answer size), which adds the wall-time series and the users-in-a-session probe.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from common import Table, default_config, machine, missed_note
from simcore.analysis.metrics import Metrics
from simcore.core.actions import ActionBatch
from simcore.core.simulation import Simulation
from simcore.logs.jsonl import JsonlSink
from simcore.logs.parquet import ParquetSink
from simcore.logs.sqlite import SqliteSink
from simcore.scenario.parse import with_overrides
from simcore.scenario.schema import Config
from simcore.seam.contract import Outcomes
from simcore_backends.mock import MockBackend

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


def with_real_time(pairs: list[tuple[ActionBatch, Outcomes]]) -> list[tuple[ActionBatch, Outcomes]]:
    """The same outcomes with a send time (tick ``t`` sent during real second ``t``) and a size."""
    t0_ms = 1_764_561_600_000
    rng = np.random.default_rng(2)
    out = []
    for batch, o in pairs:
        n = len(batch)
        sent = t0_ms + batch.tick * 1000 + (batch.offset_ms.astype(np.int64) * 1000) // 60_000
        real = Outcomes(
            status=o.status,
            latency_ms=o.latency_ms,
            attempts=o.attempts,
            error=o.error,
            server_id=o.server_id,
            sent_at=sent.astype(np.int64),
            response_bytes=rng.integers(50, 5000, n).astype(np.int64),
            sent_path=np.full(n, "/posts", dtype=object),
        )
        out.append((batch, real))
    return out


def time_metrics(sim: Simulation, pairs: list[tuple[ActionBatch, Outcomes]]) -> float:
    """Seconds to feed every batch to a Metrics sink (population probes included)."""
    cfg = sim.config
    m = Metrics(cfg.tick_seconds, cfg.start, sim.routine.state_names, sim.profile_names)
    m.population_states = lambda: sim.population.state[: sim.population.n]
    m.population_sessions = lambda: int(
        np.count_nonzero(sim.population.session_left[: sim.population.n])
    )
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
) -> tuple[float, int]:
    """Seconds to write every batch to a new ``fmt`` log and close it, and the file's size."""
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
    size = path.stat().st_size
    path.unlink()
    return elapsed, size


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--actions", type=int, default=1_000_000, help="actions to log (default 1000000)"
    )
    parser.add_argument("--users", type=int, default=50_000, help="initial users (default 50000)")
    parser.add_argument(
        "--sinks", default="jsonl,sqlite,parquet", help="comma-separated (default all three)"
    )
    args = parser.parse_args()
    print(f"log sinks and metrics · {machine()}")
    default = default_config()
    big = with_overrides(default, population__initial_users=args.users, duration="7d")
    sim, pairs, core = generate(big, args.actions, big.duration_ticks)
    n = sum(len(b) for b, _ in pairs)
    missed: list[str] = []
    sinks = Table(
        title=(
            f"log sinks (write + close): {args.users:,} users, {sim.tick:,} ticks, {n:,} actions; "
            f"core {core:.2f} s ({n / core:,.0f} actions/s)"
        ),
        columns=["<sink", "actions", "s", "actions/s", "target", "<met", "file size"],
    )
    with tempfile.TemporaryDirectory(prefix="bench-sinks-") as tmp:
        for fmt in filter(None, args.sinks.split(",")):
            elapsed, size = time_sink(fmt, sim, pairs, Path(tmp))
            sinks.add(
                fmt,
                f"{n:,}",
                f"{elapsed:.2f}",
                f"{n / elapsed:,.0f}",
                f"≥ {TARGETS[fmt]:,}/s",
                "ok" if n / elapsed >= TARGETS[fmt] else _missed(missed, f"{fmt} sink"),
                f"{size / 2**20:.1f} MiB",
            )
    sinks.print()

    metrics = Table(
        title="metrics (logging off): the Metrics sink's time as a share of the core's Simulation.step time (best of 3)",
        columns=["<run", "ticks", "actions", "core s", "metrics s", "µs/tick", "share", "<target ≤ 10%"],
    )
    small = generate(default, 10**9, default.duration_ticks)
    for label, (s, p, c) in (
        (f"{args.users:,} users", (sim, pairs, core)),
        ("default profile, 1,000 users, 1 day", small),
        (f"{args.users:,} users, real time", (sim, with_real_time(pairs), core)),
        ("default profile, real time", (small[0], with_real_time(small[1]), small[2])),
    ):
        m = min(time_metrics(s, p) for _ in range(3))
        actions = sum(len(b) for b, _ in p)
        metrics.add(
            label,
            f"{len(p):,}",
            f"{actions:,}",
            f"{c:.2f}",
            f"{m:.2f}",
            f"{m / len(p) * 1e6:.0f}",
            f"{100 * m / c:.1f}%",
            "ok" if m <= 0.10 * c else _missed(missed, f"metrics ({label})"),
        )
    metrics.print()
    note = missed_note(missed)
    if note:
        print(note)


def _missed(missed: list[str], what: str) -> str:
    missed.append(what)
    return "MISSED"


if __name__ == "__main__":
    main()
