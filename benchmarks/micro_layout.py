"""Micro-measurements behind the core's layout choices (one tick's access pattern).

    python benchmarks/micro_layout.py    # about 10 s

25,000 sorted users out of 1,000,000 (a busy tick's actors), on this machine:
separate int32 arrays against one structured record per user; the due scan over
all users; a scatter that converts dtype against one that does not; sorting
int32 against int64 ids (np.unique of 10,000 read targets).
"""

from __future__ import annotations

import argparse
import timeit

import numpy as np

from common import Table

N, ACTING, REPEAT = 1_000_000, 25_000, 50


def per_tick(fn: object, ticks: list[np.ndarray], number: int = 5) -> float:
    """Milliseconds per tick of ``fn(users)`` over ``ticks``."""
    run = lambda: [fn(u) for u in ticks]  # noqa: E731
    return timeit.timeit(run, number=number) / number / len(ticks) * 1e3


def main() -> None:
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    g = np.random.default_rng(0)
    ticks = [np.sort(g.choice(N, ACTING, replace=False)) for _ in range(REPEAT)]
    separate = [np.zeros(N, np.int32) for _ in range(12)]
    record = np.zeros(N, np.dtype([(f"f{i}", np.int32) for i in range(8)]))

    def soa(u: np.ndarray) -> None:
        for a in separate[:8]:
            a[u]
        for a in separate[:4]:
            a[u] = 1

    def aos(u: np.ndarray) -> None:
        r = record[u]
        for f in ("f0", "f1", "f2", "f3"):
            record[f][u] = r[f] + 1

    rows = [
        ("8 gathers + 4 scatters, separate int32 arrays", per_tick(soa, ticks)),
        ("1 structured gather + 4 field scatters", per_tick(aos, ticks)),
    ]
    due = g.integers(0, 1440, N).astype(np.int32)
    rows.append(
        (
            "due scan: flatnonzero(next_event <= t)",
            timeit.timeit(lambda: np.flatnonzero(due <= 20), number=200) / 200 * 1e3,
        )
    )
    target = np.zeros(N, np.int32)
    x64, x32 = np.arange(ACTING, dtype=np.int64), np.arange(ACTING, dtype=np.int32)
    rows.append(
        ("scatter int64 values into int32", per_tick(lambda u: target.__setitem__(u, x64), ticks))
    )
    rows.append(
        ("scatter int32 values into int32", per_tick(lambda u: target.__setitem__(u, x32), ticks))
    )
    reads = g.integers(0, 300_000, 10_000)
    rows.append(
        (
            "np.unique of 10k int64 ids",
            timeit.timeit(lambda: np.unique(reads, return_counts=True), number=500) / 500 * 1e3,
        )
    )
    reads32 = reads.astype(np.int32)
    rows.append(
        (
            "np.unique of 10k int32 ids",
            timeit.timeit(lambda: np.unique(reads32, return_counts=True), number=500) / 500 * 1e3,
        )
    )
    table = Table(title="layout micro-measurements (1M users, 25k acting)", columns=["<operation", "ms"])
    for label, ms in rows:
        table.add(label, f"{ms:.3f}")
    table.print()


if __name__ == "__main__":
    main()
