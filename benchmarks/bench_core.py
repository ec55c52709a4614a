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
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


SOCIAL_KINDS = ("like_post", "repost", "quote_post", "follow_user", "unfollow_user", "browse_following")


def benchmark_config(users: int, days: float, profile: str, plain: bool = False) -> Any:
    """The benchmark's config: ``profile`` with ``users`` initial users for ``days``; with
    ``plain`` the community behaviours' weights and read shares set to zero."""
    import attrs

    from simcore.run.loading import load_config
    from simcore.scenario.parse import with_overrides

    config = with_overrides(
        load_config(profile), population__initial_users=users, duration=f"{days * 24:g}h"
    )
    if plain:
        profiles = {
            name: attrs.evolve(
                p,
                weights={
                    s: {k: v for k, v in row.items() if k not in SOCIAL_KINDS}
                    for s, row in p.weights.items()
                },
            )
            for name, p in config.profiles.items()
        }
        targets = attrs.evolve(config.targets, trending_share=0.0, following_share=0.0)
        config = attrs.evolve(config, profiles=profiles, targets=targets)
    return config


def measure(users: int, days: float, profile: str, plain: bool = False) -> dict[str, float]:
    """Run one size in this process and return its numbers."""
    import numpy as np

    from simcore.core.simulation import Simulation
    from simcore.core.world import POST_FIELDS
    from simcore.run.controller import Controller
    from simcore_backends.mock import MockBackend

    config = benchmark_config(users, days, profile, plain)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sim = Simulation(config)
    core_s = [0.0]
    step = sim.step

    def timed_step(shards: int = 1) -> object:
        began = time.process_time()
        try:
            return step(shards)
        finally:
            core_s[0] += time.process_time() - began

    sim.step = timed_step  # type: ignore[method-assign]
    mock = MockBackend()
    controller = Controller(sim, mock, sinks=[])
    began, cpu_began = time.perf_counter(), time.process_time()
    controller.run(config.duration_ticks)
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu_began
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


def _commit() -> str:
    """The checked-out commit (with "+changes" if the tree differs), so a row names its code."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=ROOT, check=False).returncode
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if dirty else "")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument("--profile", default=str(ROOT / "profiles" / "default.toml"))
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
    print(
        f"\nsimcore core benchmark — {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, {args.days:g} simulated day(s), 60 s ticks, mock backend, "
        f"logging off, community behaviours {'off (--plain)' if args.plain else 'on'}; commit {_commit()}; "
        f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n"
    )
    head = (
        f"| {'users':>9} | {'actions':>11} | {'wall s':>7} | {'CPU s':>6} | {'load':>4} "
        f"| {'user-ticks/s':>13} | {'actions/s':>10} "
        f"| {'core CPU s':>10} | {'peak RSS MB':>11} | {'B/user':>6} | {'B/post':>6} | {'edges MB':>8} "
        f"| {'likes':>10} | {'follows':>9} |"
    )
    print(head)
    print("|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|")
    for r in rows:
        print(
            f"| {r['users']:>9,} | {r['actions']:>11,} | {r['wall_s']:>7.2f} | {r['cpu_s']:>6.2f} "
            f"| {r['load_avg']:>4.1f} | {r['user_ticks_per_s'] / 1e6:>11.1f} M "
            f"| {r['actions_per_s'] / 1e6:>8.2f} M | {r['core_s']:>10.2f} | {r['peak_rss_mb']:>11.0f} "
            f"| {r['core_bytes_per_user']:>6} | {r['post_bytes']:>6} | {r['edge_mb']:>8.1f} "
            f"| {r['likes']:>10,} | {r['follows']:>9,} |"
        )


if __name__ == "__main__":
    main()
