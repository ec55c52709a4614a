"""Core benchmark: N users over one simulated day of 1-minute ticks, mock backend, logging off.

Prints user-ticks/s, actions/s, wall time, peak memory and core bytes per user, and
checks what it measures (every action answered, the mock's world equal to the core's).
Each size runs in a fresh process so peak memory is that run's own.

    python benchmarks/bench_core.py                   # 10k, 100k, 1M users
    python benchmarks/bench_core.py --users 100000 --days 2
    python benchmarks/bench_core.py --users 1000000 --plain   # without the community behaviours

The default profile has every behaviour on (likes, reposts, quotes, follows,
unfollows, the following feed, trending and follow-driven reads, tags); ``--plain``
sets those weights and read shares to zero, to show what they cost.
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

from common import PROFILE, Stopwatch, Table, core_config, machine


def measure(users: int, days: float, profile: str, plain: bool = False) -> dict[str, float]:
    """Run one size in this process and return its numbers."""
    import numpy as np

    from simcore.core.actions import ActionBatch
    from simcore.core.simulation import Simulation
    from simcore.core.world import POST_FIELDS
    from simcore.run.controller import Controller
    from simcore_backends.mock import MockBackend

    config = core_config(users, days, Path(profile), plain)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sim = Simulation(config)
    core_s = [0.0]
    step = sim.step

    def timed_step(shards: int = 1) -> ActionBatch:
        began = time.process_time()
        try:
            return step(shards)
        finally:
            core_s[0] += time.process_time() - began

    sim.step = timed_step  # type: ignore[method-assign]
    mock = MockBackend()
    controller = Controller(sim, mock, sinks=[])
    with Stopwatch() as watch:
        controller.run(config.duration_ticks)
    wall, cpu = watch.wall, watch.cpu
    controller.close()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # the benchmark checks its result, not only its time
    statuses = controller.totals.statuses
    ok = sum(v for k, v in statuses.items() if k < 400)
    assert ok >= 0.999 * controller.totals.actions, statuses
    n = sim.world.n
    assert mock.n_posts == n and np.array_equal(mock.author[:n], sim.world.author[:n])
    pop = sim.population
    user_ticks = float(np.clip(config.duration_ticks - pop.created_tick[: pop.n], 0, None).sum())
    return {
        "users": users,
        "users_end": pop.n,
        "ticks": config.duration_ticks,
        "actions": controller.totals.actions,
        "posts": n,
        "likes": len(sim.community.likes),
        "follows": len(sim.community.follows),
        "wall_s": wall,
        "cpu_s": cpu,
        "load_avg": os.getloadavg()[0],
        "user_ticks_per_s": user_ticks / wall,
        "actions_per_s": controller.totals.actions / wall,
        "peak_rss_mb": rss_after / 1024,
        "rss_growth_mb": (rss_after - rss_before) / 1024,
        "core_bytes_per_user": pop.nbytes_per_user(),
        "post_bytes": sum(np.dtype(d).itemsize for _, d in POST_FIELDS),
        # the edge sets (8 B a like or follow) and the likes' per-user index (8 B a liker)
        "edge_mb": sum(
            a.nbytes
            for edges in (sim.community.likes, sim.community.follows)
            for a in (edges.main, edges.buffer, edges._offsets)
        )
        / 1e6,
        "core_s": core_s[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument("--profile", default=str(PROFILE))
    parser.add_argument("--plain", action="store_true", help="community behaviours off")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.one, args.days, args.profile, args.plain)))
        return
    rows = []
    for users in args.users:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                str(users),
                "--days",
                str(args.days),
                "--profile",
                args.profile,
                *(["--plain"] if args.plain else []),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        print(f"  {users:>9,} users done in {r['wall_s']:.2f} s", file=sys.stderr)
    table = Table(
        title=(
            f"core: {args.days:g} simulated day(s), 60 s ticks, mock backend, logging off, "
            f"community behaviours {'off (--plain)' if args.plain else 'on'}; {machine()}"
        ),
        columns=[
            *("users", "actions", "wall s", "CPU s", "load", "user-ticks/s", "actions/s"),
            *("core CPU s", "peak RSS MB", "B/user", "B/post", "edges MB", "likes", "follows"),
        ],
    )
    for r in rows:
        table.add(
            f"{r['users']:,}",
            f"{r['actions']:,}",
            f"{r['wall_s']:.2f}",
            f"{r['cpu_s']:.2f}",
            f"{r['load_avg']:.1f}",
            f"{r['user_ticks_per_s'] / 1e6:.1f} M",
            f"{r['actions_per_s'] / 1e6:.2f} M",
            f"{r['core_s']:.2f}",
            f"{r['peak_rss_mb']:.0f}",
            f"{r['core_bytes_per_user']}",
            f"{r['post_bytes']}",
            f"{r['edge_mb']:.1f}",
            f"{r['likes']:,}",
            f"{r['follows']:,}",
        )
    table.print()


if __name__ == "__main__":
    main()
