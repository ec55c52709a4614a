"""Workers benchmark: one process against ``--workers N`` on a local Ray runtime, core + mock.

Each run is ``simcore run --log none --speed max`` (the run builder, metrics on) of the
default profile with N initial users for one simulated day, in a fresh process (so peak
memory is that run's own). For worker runs it also prints each worker's peak memory (VmHWM
of its process), the driver's, and where a tick's exchange goes: waiting for the workers'
decisions, merging them, living the tick in the driver, sending the batch; with the bytes
exchanged per tick. It checks that the worker run made exactly the one-process actions
(the same count and the same digest of the action stream).

    python benchmarks/bench_workers.py                          # 1M and 5M users, 1 vs 2 workers
    python benchmarks/bench_workers.py --users 1000000 --workers 2 3
    python benchmarks/bench_workers.py --users 200000 --days 0.25    # a quick look
    python benchmarks/bench_workers.py --http                   # http against nginx, 1 vs 2 workers
    python benchmarks/bench_workers.py --phases 500000          # CPU per tick of each role, no Ray
    python benchmarks/bench_workers.py --phases 500000 --blocks 4096   # the same, block shards
    python benchmarks/bench_workers.py --users 10000000 --workers 2 --no-single   # the scale run

``--phases USERS``: without Ray, in one process, CPU ms per tick of each role in the
evening's busy hour (18:00-19:00 after a day's run): the one-process step, each shard's
decide and commit (what a worker does), the driver's merge and follow (what the driver
adds), and the mock on the whole batch (which runs in the driver): the ceiling of the
speedup whatever Ray costs, on free cores and packed on this machine's cores, for this
design and for a driver that keeps no state; then each phase of the tick in the one
process against the slowest shard, to show which part of deciding does not split.
``--blocks B`` shards the users in blocks of B ids instead of by id modulo N (an
experiment: runs on workers shard by id modulo N).

``--http``: the http backend against nginx (a fixed JSON body, benchmarks/servers.py), the
default profile with 40,000 users from Monday 19:00 for one simulated hour at max speed:
actions per second of the one process and of ``--workers 2`` (each worker sends its own
users' requests), the same action stream (digest checked); with the whole machine's CPU
per action (the run, nginx and Ray) and from it the most any design could reach here.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from common import PROFILE, OutcomeSink, Stopwatch, Table, core_config, machine, scenario_config


def _hwm_mb(pid: int) -> float:
    """Peak resident memory of a local process (VmHWM), MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a local process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_cpu_s() -> float:
    """CPU seconds every process on the machine has used so far (busy time of /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def measure(users: int, days: float, workers: int, target: str = "") -> dict[str, Any]:
    """One run in this process; its numbers (``target``: the http backend against it)."""
    import tempfile

    import numpy as np

    from simcore.core.simulation import Decision
    from simcore.run.builder import build_run
    from simcore.run.sharded import ShardedSimulation
    from simcore.scenario.parse import with_overrides

    if target:
        config = with_overrides(
            scenario_config(users, f"{days * 24:g}h"), backend__name="http", backend__target=target
        )
    else:
        config = core_config(users, days, PROFILE)
    digest = OutcomeSink()
    with tempfile.TemporaryDirectory(prefix="simcore-bench-workers-") as directory:
        began = time.perf_counter()
        run = build_run(
            config,
            run_dir=Path(directory) / "run",
            logs=["none"],
            sinks=[digest],
            control_socket=False,
            handle_signals=False,
            workers=workers or None,
        )
        start_s = time.perf_counter() - began
        sim = run.simulation
        parts = {"decide": 0.0, "merge": 0.0, "follow": 0.0, "send": 0.0}
        sizes = {"decisions": 0, "batch": 0}
        if isinstance(sim, ShardedSimulation):
            pool = sim.pool

            def step(shards: int = 1) -> Any:
                t0 = time.perf_counter()
                decisions: list[Decision] = pool.decide(sim.tick)
                t1 = time.perf_counter()
                batch = sim.merge(decisions)
                t2 = time.perf_counter()
                # as ShardedSimulation.step: the batch sent (with the next tick's decisions asked
                # for) before the driver lives the tick
                ahead = sim.decide_ahead and sim.tick + 1 < sim.config.duration_ticks
                pool.commit(batch, ahead=ahead)
                t3 = time.perf_counter()
                sim.follow(decisions, batch)
                t4 = time.perf_counter()
                for name, seconds in zip(parts, (t1 - t0, t2 - t1, t4 - t3, t3 - t2)):
                    parts[name] += seconds
                sizes["decisions"] += sum(
                    sum(getattr(d.batch, n).nbytes for n in d.batch.ARRAYS)
                    + d.users.nbytes
                    + sum(v.nbytes for v in d.rows.values())
                    for d in decisions
                )
                sizes["batch"] += sum(getattr(batch, n).nbytes for n in batch.ARRAYS)
                return batch

            sim.step = step  # type: ignore[method-assign]
        pids = [pid for _, pid in sim.pool.places] if isinstance(sim, ShardedSimulation) else []
        cpu_before = [_cpu_s(pid) for pid in pids]
        with run, Stopwatch() as watch:
            machine_before = _machine_cpu_s()
            run.execute()
            machine_cpu = _machine_cpu_s() - machine_before  # the run, a server, Ray: all of it
            worker_mb = [_hwm_mb(pid) for pid in pids]
            worker_cpu = [_cpu_s(pid) - before for pid, before in zip(pids, cpu_before)]
    ticks = run.controller.ticks_done
    actions = run.controller.totals.actions
    return {
        "users": users,
        "workers": workers,
        "actions": actions,
        "digest": digest.digest.hexdigest(),
        "start_s": start_s,
        "wall_s": watch.wall,
        "driver_cpu_s": watch.cpu,
        "machine_cpu_s": machine_cpu,
        "driver_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_mb": worker_mb,
        "worker_cpu_s": worker_cpu,
        "ticks": ticks,
        "per_tick_ms": {k: 1000 * v / max(ticks, 1) for k, v in parts.items()},
        "per_tick_kb": {k: v / 1024 / max(ticks, 1) for k, v in sizes.items()},
        "load": os.getloadavg()[0],
        "np": np.__version__,
    }


def in_subprocess(users: int, days: float, workers: int, target: str = "") -> dict[str, Any]:
    """:func:`measure` in a fresh Python process."""
    out = subprocess.run(
        [sys.executable, __file__, "--one", str(users), str(days), str(workers), target],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--workers", type=int, nargs="+", default=[2])
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument("--http", action="store_true", help="the http backend against nginx")
    parser.add_argument("--phases", type=int, metavar="USERS", help="CPU per tick of each role")
    parser.add_argument(
        "--blocks", type=int, default=0, metavar="B",
        help="with --phases: shard users in blocks of B ids (id // B %% N) instead of by id %% N",
    )  # fmt: skip
    parser.add_argument(
        "--no-single", action="store_true", help="workers only (a scale run: time, memory per user)"
    )
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one = args.one
        print(json.dumps(measure(int(one[0]), float(one[1]), int(one[2]), one[3])))
        return
    if args.http:
        http(args.workers)
        return
    if args.phases:
        phases(args.phases, args.workers, args.blocks)
        return
    print(f"- machine: {machine()}")
    print(
        f"- command: python benchmarks/bench_workers.py --users {' '.join(map(str, args.users))} "
        f"--workers {' '.join(map(str, args.workers))} --days {args.days:g}\n"
    )
    runs = Table(
        f"one simulated day ({args.days:g} d), default profile, mock backend, --log none",
        ["users", "workers", "actions", "start s", "wall s", "speedup", "driver CPU s",
        "driver peak MB", "CPU s per worker", "peak MB per worker", "load"],
    )  # fmt: skip
    exchange = Table(
        "per tick, in the driver (averages over the run)",
        ["users", "workers", "wait for decisions ms", "merge ms", "driver lives the tick ms",
        "send batch ms", "decisions KB", "batch KB"],
    )  # fmt: skip
    for users in args.users:
        single = None if args.no_single else in_subprocess(users, args.days, 0)
        if single is not None:
            runs.add(
                f"{users:,}", "one process", f"{single['actions']:,}", "–", f"{single['wall_s']:.2f}",
                "1.00×", f"{single['driver_cpu_s']:.2f}", f"{single['driver_mb']:.0f}", "–", "–",
                f"{single['load']:.1f}",
            )  # fmt: skip
        for workers in args.workers:
            r = in_subprocess(users, args.days, workers)
            if single is not None:
                assert r["actions"] == single["actions"] and r["digest"] == single["digest"], (
                    "the worker run made other actions than the one process"
                )
            else:
                total_mb = r["driver_mb"] + sum(r["worker_mb"])
                print(
                    f"{users:,} users on {workers} workers: {r['wall_s']:.0f} s, "
                    f"{1e6 * r['wall_s'] / users:.1f} µs per user-day, {total_mb:,.0f} MB peak in all "
                    f"({total_mb * 2**20 / users:,.0f} B per user, summed over driver and workers)"
                )
            speedup = f"{single['wall_s'] / r['wall_s']:.2f}×" if single is not None else "–"
            runs.add(
                f"{users:,}", str(workers), f"{r['actions']:,}", f"{r['start_s']:.1f}",
                f"{r['wall_s']:.2f}", speedup,
                f"{r['driver_cpu_s']:.2f}", f"{r['driver_mb']:.0f}",
                " / ".join(f"{c:.1f}" for c in r["worker_cpu_s"]),
                " / ".join(f"{mb:.0f}" for mb in r["worker_mb"]), f"{r['load']:.1f}",
            )  # fmt: skip
            t, kb = r["per_tick_ms"], r["per_tick_kb"]
            exchange.add(
                f"{users:,}", str(workers), f"{t['decide']:.2f}", f"{t['merge']:.2f}",
                f"{t['follow']:.2f}", f"{t['send']:.2f}", f"{kb['decisions']:.0f}",
                f"{kb['batch']:.0f}",
            )  # fmt: skip
        print(f"({users:,} users done)", flush=True)
    runs.print()
    exchange.print()


def phases(users: int, workers: list[int], blocks: int = 0) -> None:
    """CPU ms per tick of each role of a run on workers, in one process (no Ray)."""
    from simcore.core.simulation import Simulation
    from simcore.scenario.parse import with_overrides
    from simcore_backends.mock import MockBackend

    print(f"- machine: {machine()}")
    print(
        f"- command: python benchmarks/bench_workers.py --phases {users} --workers {' '.join(map(str, workers))}"
        + (f" --blocks {blocks}" if blocks else "")
    )
    cores = os.cpu_count() or 1
    table = Table(
        f"CPU ms per tick, {users:,} users, 18:00-19:00 after a day (default profile, no Ray)",
        ["shards", "actions/tick", "one-process step", "worker: decide", "of which rows",
         "worker: commit", "driver: merge", "driver: follow", "mock (driver)", "ceiling",
         "ceiling, free driver", f"{cores}-core bound", f"{cores}-core bound, lean driver",
         f"{cores}-core bound, any driver"],
    )  # fmt: skip
    config = with_overrides(core_config(users, 1.0, PROFILE), duration="2d")
    whole = Simulation(config)
    for _ in range(18 * 60):
        whole.step()
    state = {k: v.copy() for k, v in whole.state_arrays().items()}
    split = Table(
        f"CPU ms per tick of each phase, {users:,} users: the one process against the slowest shard",
        ["phase", "one process", *(f"shard of {n}" for n in workers), *(f"share, {n}" for n in workers)],
    )
    in_one: dict[str, float] = {}
    in_shard: dict[int, dict[str, float]] = {}
    for n in workers:
        base = Simulation(config)
        base.load_state({k: v.copy() for k, v in state.items()})
        if n == workers[0]:
            in_one = _time_phases(base)
        owners, timings = [], []
        for k in range(n):
            owner = _block_shard(config, blocks) if blocks else Simulation(config)
            owner.own(k, n)
            owner.load_state({k2: v.copy() for k2, v in state.items()})
            owners.append(owner)
            timings.append(_time_phases(owner))
        mirror = Simulation(config)
        mirror.load_state({k: v.copy() for k, v in state.items()})
        mock = MockBackend()
        t = dict.fromkeys(("step", "decide", "rows", "commit", "merge", "follow", "mock"), 0.0)
        actions = 0
        for _ in range(60):
            c = time.process_time()
            expected = base.step()
            t["step"] += time.process_time() - c
            decisions, worst_decide, worst_commit, worst_rows = [], 0.0, 0.0, 0.0
            for owner in owners:
                c = time.process_time()
                decisions.append(owner.decide())
                worst_decide = max(worst_decide, time.process_time() - c)
                c = time.process_time()  # the rows part of decide, gathered once more to time it
                owner.population.rows(decisions[-1].users)
                worst_rows = max(worst_rows, time.process_time() - c)
            c = time.process_time()
            batch = mirror.merge(decisions)
            t["merge"] += time.process_time() - c
            c = time.process_time()
            mirror.follow(decisions, batch)
            t["follow"] += time.process_time() - c
            for owner, timing in zip(owners, timings):
                c = time.process_time()
                owner.commit(batch)
                spent = time.process_time() - c
                timing["apply"] = timing.get("apply", 0.0) + spent  # a worker's commit is its apply
                worst_commit = max(worst_commit, spent)
            c = time.process_time()
            mock.execute(batch)
            t["mock"] += time.process_time() - c
            t["decide"] += worst_decide
            t["rows"] += worst_rows
            t["commit"] += worst_commit
            assert batch.equals(expected)
            actions += len(batch)
        ms = {k: 1000 * v / 60 for k, v in t.items()}
        in_shard[n] = {name: 1000 * max(tm.get(name, 0.0) for tm in timings) / 60 for name in in_one}
        one = ms["step"] + ms["mock"]
        worker = ms["decide"] + ms["commit"]
        driver = ms["merge"] + ms["follow"] + ms["mock"]
        lean_worker = worker - ms["rows"]  # a driver that keeps no state needs no rows
        lean_driver = ms["merge"] + ms["mock"]  # the least a driver does: merge, run the mock
        table.add(
            str(n), f"{actions // 60:,}", f"{ms['step']:.1f}", f"{ms['decide']:.1f}",
            f"{ms['rows']:.1f}", f"{ms['commit']:.1f}", f"{ms['merge']:.1f}", f"{ms['follow']:.1f}",
            f"{ms['mock']:.1f}", f"{one / max(worker, driver):.2f}×", f"{one / worker:.2f}×",
            f"{one / max(worker, driver, (n * worker + driver) / cores):.2f}×",
            f"{one / max(lean_worker, lean_driver, (n * lean_worker + lean_driver) / cores):.2f}×",
            f"{one / max(lean_worker, ms['mock'], (n * lean_worker + ms['mock']) / cores):.2f}×",
        )  # fmt: skip
    for name, cpu in in_one.items():
        one_ms = 1000 * cpu / 60
        shard_ms = [in_shard[n][name] for n in workers]
        split.add(
            name, f"{one_ms:.2f}", *(f"{v:.2f}" for v in shard_ms),
            *(f"{v / one_ms:.0%}" if one_ms else "–" for v in shard_ms),
        )  # fmt: skip
    table.print()
    split.print()
    print(
        "\n_phases: deciding (wake to order) as `Simulation.step` runs it in one process and as a"
        " worker's `decide` runs it on its shard; apply: the one process's, against a worker's"
        " `commit` of the whole merged batch. A shard's figure is its slowest worker's."
        " share: the shard's cost as a part of the one process's (1/N if it split perfectly)._"
    )
    print(
        "\n_ceiling: (one-process step + mock) / max(a worker's decide + commit, the driver's merge +"
        " follow + mock), as if the driver and the workers overlapped perfectly on free cores and"
        " Ray cost nothing; a worker's figures are the slowest shard's; metrics and logs, in the"
        " driver either way, left out. ceiling, free driver: the same with a driver that costs"
        " nothing (any driver design, while every worker applies the whole tick). core bound:"
        " the CPU of the workers and the driver packed perfectly on this machine's cores."
        " core bound, lean driver: the same for a driver that keeps no state (no follow, no"
        " rows from the workers: it only merges and runs the mock). core bound, any driver: the"
        " same with nothing in the driver but the mock, the server's work that the one process"
        " also does: the most any design reaches here while every worker applies the whole"
        " world's changes of each tick._"
    )


def _block_shard(config: Any, blocks: int) -> Any:
    """A shard owner whose shards are blocks of ``blocks`` ids (``id // blocks % N``): its
    users share fewer cache lines with the other shards' than ``id % N`` ones (an experiment:
    the runs on workers shard by ``id % N``)."""
    from simcore.core.simulation import Simulation

    class BlockShard(Simulation):
        def shard_of(self, users: Any, shards: int) -> Any:
            return users.astype(np.int64, copy=False) // blocks % shards

    return BlockShard(config)


def _time_phases(sim: Any) -> dict[str, float]:
    """Time each phase of ``sim``'s plan from now on: CPU seconds by phase name, summed."""
    from simcore.core.step import Phase, TickWork, wrap_phases

    spent: dict[str, float] = {}

    def wrap(name: str, phase: Phase) -> Phase:
        def timed(work: TickWork) -> None:
            c = time.process_time()
            phase(work)
            spent[name] = spent.get(name, 0.0) + time.process_time() - c

        return timed

    sim.plan = wrap_phases(sim.plan, wrap)
    return spent


def http(workers: list[int]) -> None:
    """Actions per second through the http backend against nginx: one process vs workers."""
    import servers

    users, days = 40_000, 1 / 24
    cores = os.cpu_count() or 1
    print(f"- machine: {machine()}")
    print(
        f"- command: python benchmarks/bench_workers.py --http --workers {' '.join(map(str, workers))}"
    )
    table = Table(
        "http backend against nginx (fixed JSON body), 40,000 users from Mon 19:00 for 1 h, max speed",
        ["workers", "actions", "wall s", "actions/s", "speedup", "driver CPU s", "CPU s per worker",
         "machine CPU s", "CPU µs per action", "cores busy", f"{cores}-core bound", "load"],
    )  # fmt: skip
    with servers.Nginx() as nginx:
        single = in_subprocess(users, days, 0, nginx.url)
        per_action = single["machine_cpu_s"] / single["actions"]
        bound = cores / per_action / (single["actions"] / single["wall_s"])
        for n, r in [(0, single), *((n, in_subprocess(users, days, n, nginx.url)) for n in workers)]:
            assert r["digest"] == single["digest"], "the worker run sent another action stream"
            table.add(
                str(n) if n else "one process", f"{r['actions']:,}", f"{r['wall_s']:.2f}",
                f"{r['actions'] / r['wall_s']:,.0f}", f"{single['wall_s'] / r['wall_s']:.2f}×",
                f"{r['driver_cpu_s']:.2f}", " / ".join(f"{c:.2f}" for c in r["worker_cpu_s"]) or "–",
                f"{r['machine_cpu_s']:.2f}", f"{1e6 * r['machine_cpu_s'] / r['actions']:.1f}",
                f"{r['machine_cpu_s'] / r['wall_s']:.2f}", f"{bound:.2f}×" if not n else "",
                f"{r['load']:.1f}",
            )  # fmt: skip
    table.print()
    print(
        f"\n_machine CPU: busy time of all {cores} cores while the run executed (/proc/stat: its "
        "processes, nginx, Ray's, anything else). core bound: the speedup if every core did the "
        "one process's CPU per action (client + server) all the time: what no number of workers "
        "on this machine can pass, whatever the design._"
    )


if __name__ == "__main__":
    main()
