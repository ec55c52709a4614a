"""Run-control benchmarks: snapshot cost, paced-dispatch accuracy, and control overhead.

    python benchmarks/bench_control.py            # all three tables (about a minute)
    python benchmarks/bench_control.py --quick    # smaller sizes

Each table checks what it measures (a snapshot restores to the same state;
paced calls are never early) and prints the figures recorded in RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from simcore.core.actions import ActionBatch
from simcore.core.simulation import Simulation
from simcore.run import snapshot
from simcore.run.clock import Pacer, RealTime
from simcore.run.control import RunControl, RunGate
from simcore.run.controller import Controller
from simcore.run.loading import load_config
from simcore.scenario.parse import with_overrides
from simcore.scenario.schema import Config
from simcore.seam.contract import BackendContext, Outcomes
from simcore_backends.mock import MockBackend

ROOT = Path(__file__).resolve().parent.parent


def _config(users: int, hour: int = 19, duration: str = "1d") -> Config:
    base = load_config(ROOT / "profiles" / "default.toml")
    return with_overrides(
        base,
        population__initial_users=users,
        population__max_users=max(users * 2, 1000),
        duration=duration,
        start=dt.datetime(2026, 1, 5, hour, 0),
    )


def bench_snapshots(sizes: list[int]) -> None:
    print("\nsnapshot save / load+restore (after 30 evening ticks)")
    print(f"{'users':>10} {'posts':>9} {'file MB':>8} {'save ms':>8} {'load ms':>8} {'B/user':>7}")
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
        print(
            f"{users:>10,} {c.sim.world.n:>9,} {size / 1e6:>8.1f} {(t1 - t0) * 1e3:>8.1f} "
            f"{(t2 - t1) * 1e3:>8.1f} {size / users:>7.0f}"
        )


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
    print(f"\npaced dispatch on the real clock ({users:,} evening users, ~{seconds:g} s per speed)")
    print(
        f"{'speed':>7} {'ticks':>6} {'calls':>7} {'late p50 ms':>12} {'p99 ms':>8} {'max ms':>8} {'early':>6}"
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
        print(
            f"{speed:>6g}x {ticks:>6} {len(late):>7} {p50:>12.2f} {p99:>8.2f} {worst:>8.2f} {early:>6}"
        )


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
    print(f"\ncontrol overhead at max speed (one simulated day, {users:,} users, best of {repeats})")
    print(f"{'setup':>28} {'wall s':>8} {'actions/s':>10}")
    best = {False: float("inf"), True: float("inf")}
    actions = {False: 0, True: 0}
    for _ in range(repeats):  # interleaved, so machine noise hits both alike
        for controlled in (False, True):
            took, actions[controlled] = _overhead_run(users, controlled)
            best[controlled] = min(best[controlled], took)
    assert actions[False] == actions[True]
    for controlled, label in ((False, "plain controller"), (True, "pacer + gate (max speed)")):
        took = best[controlled]
        print(f"{label:>28} {took:>8.2f} {actions[controlled] / took:>10,.0f}")
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
    print(f"{'gate + dispatch per tick':>28} {per_tick:>8.2f} µs (the added cost, independent of users)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, shorter pacing runs")
    args = parser.parse_args()
    print(
        f"simcore run-control benchmarks · {platform.node()} · {platform.processor() or platform.machine()}"
    )
    print(
        f"python {sys.version.split()[0]} · numpy {np.__version__} · {dt.datetime.now():%Y-%m-%d %H:%M}"
    )
    bench_snapshots([10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000])
    bench_pacing(1000, [60.0, 600.0, 3600.0], 1.0 if args.quick else 3.0)
    bench_overhead(1000 if args.quick else 10_000)


if __name__ == "__main__":
    main()
