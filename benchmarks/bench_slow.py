"""How precise ``simcore serve --slow`` is: the wait it adds to a request, against the delay asked.

    python benchmarks/bench_slow.py            # prints a table and records it in RESULTS.md

For each delay, ``wait_precisely`` (what the ``--slow`` middleware awaits) and a plain
``asyncio.sleep`` are each awaited 200 times on an idle event loop; the table gives the
median and p90 of the time taken minus the delay asked (the overshoot), in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import numpy as np

from common import Table, machine, record_section
from simcore_backends.refapp.slow import wait_precisely

HEADING = "## `serve --slow` precision: `python benchmarks/bench_slow.py`"
DELAYS_MS = (0.1, 0.3, 0.6, 1.0, 1.5, 3.0, 20.0)


async def overshoot_ms(wait: object, seconds: float, times: int) -> np.ndarray:
    """Time taken minus ``seconds``, in ms, over ``times`` awaits of ``wait(seconds)``."""
    took = np.empty(times)
    for i in range(times):
        began = time.perf_counter()
        await wait(seconds)  # type: ignore[operator]
        took[i] = time.perf_counter() - began
    return (took - seconds) * 1000


async def measure(times: int) -> Table:
    """The table of overshoots, one row per delay."""
    table = Table(
        f"overshoot of the wait over the delay asked, ms ({times} awaits each, idle event loop)",
        ["delay ms", "precise: median", "precise: p90", "asyncio.sleep: median", "asyncio.sleep: p90"],
    )
    for ms in DELAYS_MS:
        precise = await overshoot_ms(wait_precisely, ms / 1000, times)
        plain = await overshoot_ms(asyncio.sleep, ms / 1000, times)
        table.add(
            f"{ms:g}",
            *(f"{np.percentile(x, q):.3f}" for x in (precise, plain) for q in (50, 90)),
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--times", type=int, default=200)
    parser.add_argument("--no-record", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    header = machine()
    table = asyncio.run(measure(args.times))
    table.print()
    print(f"\n_{header}_")
    if not args.no_record:
        record_section(HEADING, f"{table.markdown()}\n\n_{header}_")


if __name__ == "__main__":
    main()
