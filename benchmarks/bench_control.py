"""Run-control benchmarks: snapshot cost, paced-dispatch accuracy, and control overhead.

    python benchmarks/bench_control.py            # all three tables (about a minute)
    python benchmarks/bench_control.py --quick    # smaller sizes
    python benchmarks/bench_control.py --part snapshots --sizes 2000

Each table checks what it measures (a snapshot restores to the same state;
paced calls are never early) and prints the figures recorded in RESULTS.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from common import EVENING, Table, machine, scenario_config
from simcore.core.actions import ActionBatch
from simcore.core.simulation import Simulation
from simcore.run import snapshot
from simcore.run.clock import Pacer
from simcore.run.control import RunControl, RunGate
from simcore.run.controller import Controller
from simcore.run.timesource import RealTime
from simcore.scenario.schema import Config
from simcore.seam.contract import BackendContext, Outcomes
from simcore_backends.mock import MockBackend

PARTS = ("snapshots", "pacing", "overhead")


def _config(users: int, hour: int = 19) -> Config:
    """The default profile for a day from a Monday at ``hour``:00 (seed 42)."""
    return scenario_config(users, "1d", start=EVENING.replace(hour=hour))


def bench_snapshots(sizes: list[int]) -> None:
    table = Table(
        title="snapshot save / load + restore (after 30 evening ticks)",
        columns=["users", "posts", "file", "save", "load + restore", "bytes/user"],
    )
    for users in sizes:
        config = _config(users)
        c = Controller(Simulation(config), MockBackend(), [])
        c.run(30)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "s.npz"
            t0 = time.perf_counter()
            snapshot.save(path, c)
            t1 = time.perf_counter()
            snap = snapshot.load(path)
            again = Controller(Simulation(snap.config), MockBackend(), [])
            snapshot.restore(snap, again)
            t2 = time.perf_counter()
            size = path.stat().st_size
        a, b = c.sim.state_arrays(), again.sim.state_arrays()
        assert all(np.array_equal(a[k], b[k]) for k in a), "restore is not exact"
        assert c.sim.step().equals(again.sim.step()), "the next tick differs after restore"
        table.add(
            f"{users:,}",
            f"{c.sim.world.n:,}",
            f"{size / 1e6:.1f} MB",
            f"{(t1 - t0) * 1e3:.1f} ms",
            f"{(t2 - t1) * 1e3:.1f} ms",
            f"{size / users:.0f}",
        )
    table.print()


class _Timed:
    """The mock, noting the real time of every call and the sub-tick offset of its first action."""

    name = "mock"

    def __init__(self) -> None:
        self.inner = MockBackend()
        self.calls: list[tuple[float, int, int]] = []

    def open(self, context: BackendContext) -> None:
        self.inner.open(context)

    def close(self) -> None:
        self.inner.close()

    def execute(self, batch: ActionBatch) -> Outcomes:
        self.calls.append((time.monotonic(), batch.tick, int(batch.offset_ms[0]) if len(batch) else 0))
        return self.inner.execute(batch)


def bench_pacing(users: int, speeds: list[float], seconds: float) -> None:
    table = Table(
        title=f"paced dispatch on the real clock ({users:,} evening users, ~{seconds:g} s per speed): how late each slice went out",
        columns=["speed", "ticks", "calls", "late p50", "p99", "max", "early"],
    )
    for speed in speeds:
        config = _config(users)
        backend = _Timed()
        pacer = Pacer(config.tick_seconds, speed, clock=RealTime())
        c = Controller(Simulation(config), backend, [], pacer=pacer)
        c.run_tick()  # the sign-up burst of tick 0 is not what we measure
        backend.calls.clear()
        ticks = max(1, int(seconds * speed / config.tick_seconds))
        began = time.monotonic()
        first_tick = c.sim.tick
        c.run(ticks)
        assert pacer._anchor_real is not None
        late = np.array(
            [
                when - pacer.due(tick * config.tick_seconds + offset / 1000.0)
                for when, tick, offset in backend.calls
            ]
        )
        early = int((late < -1e-4).sum())
        assert early == 0, "a slice went out before its due time"
        p50, p99, worst = (float(np.percentile(late, q)) * 1e3 for q in (50, 99, 100))
        took = time.monotonic() - began
        expected = ticks * config.tick_seconds / speed
        assert took >= expected * 0.99, (took, expected, first_tick)
        table.add(
            f"{speed:g}×",
            f"{ticks}",
            f"{len(late)}",
            f"{p50:.2f} ms",
            f"{p99:.2f} ms",
            f"{worst:.2f} ms",
            f"{early}",
        )
    table.print()


def _nothing(batch: ActionBatch) -> Outcomes:
    return Outcomes.ok(len(batch))


def _overhead_run(users: int, controlled: bool) -> tuple[float, int]:
    config = _config(users, hour=0)
    if controlled:
        control = RunControl()
        pacer = Pacer(config.tick_seconds, None, flags=control)
        c = Controller(Simulation(config), MockBackend(), [], pacer=pacer, gate=RunGate(control, pacer))
    else:
        c = Controller(Simulation(config), MockBackend(), [])
    t0 = time.perf_counter()
    c.run(config.duration_ticks)
    return time.perf_counter() - t0, c.totals.actions


def bench_overhead(users: int, repeats: int = 3) -> None:
    table = Table(
        title=f"control overhead at max speed (one simulated day, {users:,} users, best of {repeats}, interleaved)",
        columns=["<setup", "wall s", "actions/s"],
    )
    best = {False: float("inf"), True: float("inf")}
    actions = {False: 0, True: 0}
    for _ in range(repeats):  # interleaved, so machine noise hits both alike
        for controlled in (False, True):
            took, actions[controlled] = _overhead_run(users, controlled)
            best[controlled] = min(best[controlled], took)
    assert actions[False] == actions[True]
    for controlled, label in ((False, "plain controller"), (True, "pacer + gate (max speed)")):
        took = best[controlled]
        table.add(label, f"{took:.2f}", f"{actions[controlled] / took:,.0f}")
    config = _config(100)
    control = RunControl()
    pacer = Pacer(config.tick_seconds, None, flags=control)
    gate = RunGate(control, pacer)
    c = Controller(Simulation(config), MockBackend(), [], pacer=pacer, gate=gate)
    empty = ActionBatch(tick=0)
    n = 100_000
    t0 = time.perf_counter()
    for _ in range(n):
        gate.between_ticks(c)
        pacer.dispatch(empty, _nothing)
    per_tick = (time.perf_counter() - t0) / n * 1e6
    table.caption = (
        f"gate + dispatch wrapper: {per_tick:.2f} µs per tick (the added cost, independent of users)"
    )
    table.print()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, shorter pacing runs")
    parser.add_argument(
        "--part", choices=PARTS, action="append", help="only this table (repeatable; default all)"
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        help="snapshot sizes in users (default 10k 100k 1M; quick 10k 100k)",
    )
    parser.add_argument(
        "--users", type=int, help="users of the overhead run (default 10000; quick 1000)"
    )
    args = parser.parse_args()
    parts = args.part or PARTS
    print(f"run control · {machine()}")
    if "snapshots" in parts:
        bench_snapshots(
            args.sizes or ([10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000])
        )
    if "pacing" in parts:
        bench_pacing(1000, [60.0, 600.0, 3600.0], 1.0 if args.quick else 3.0)
    if "overhead" in parts:
        bench_overhead(args.users or (1000 if args.quick else 10_000))


if __name__ == "__main__":
    main()
