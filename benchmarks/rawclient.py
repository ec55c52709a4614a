"""The baseline client: one aiohttp session, N tasks, a fixed number of GETs to one URL.

Run as a script (the benchmark starts it pinned to the client core)::

    python benchmarks/rawclient.py http://127.0.0.1:8080/posts --requests 100000 \\
        --concurrency 64 [--uvloop] [--header 'Authorization: Bearer x'] [--max-seconds 60]

It prints one JSON object: requests, errors, seconds, rps, cpu_seconds, p50_ms, p99_ms.
The load is bounded by ``--requests`` and ``--max-seconds``, and goes only where it is told
(the benchmark only ever tells it 127.0.0.1).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import aiohttp


async def _worker(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    budget: list[int],
    deadline: float,
    latencies: list[float],
    errors: list[int],
) -> None:
    clock = time.perf_counter
    while budget[0] > 0 and clock() < deadline:
        budget[0] -= 1
        began = clock()
        try:
            async with session.get(url, headers=headers) as response:
                await response.read()
                if response.status >= 400:
                    errors[0] += 1
        except (aiohttp.ClientError, asyncio.TimeoutError):
            errors[0] += 1
        latencies.append(clock() - began)


async def run(
    url: str, requests: int, concurrency: int, headers: dict[str, str], max_seconds: float
) -> dict[str, Any]:
    """Send ``requests`` GETs with ``concurrency`` in flight; return the measurements."""
    connector = aiohttp.TCPConnector(limit=concurrency, ttl_dns_cache=None)
    timeout = aiohttp.ClientTimeout(total=30)
    latencies: list[float] = []
    errors = [0]
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        # warm the pool: one request per connection, not counted
        warm = [0]
        warm_budget = [concurrency]
        await asyncio.gather(
            *(
                _worker(session, url, headers, warm_budget, time.perf_counter() + 10, [], warm)
                for _ in range(concurrency)
            )
        )
        budget = [requests]
        cpu0, began = time.process_time(), time.perf_counter()
        deadline = began + max_seconds
        await asyncio.gather(
            *(
                _worker(session, url, headers, budget, deadline, latencies, errors)
                for _ in range(concurrency)
            )
        )
        seconds = time.perf_counter() - began
        cpu = time.process_time() - cpu0
    latencies.sort()
    n = len(latencies)
    return {
        "requests": n,
        "errors": errors[0],
        "seconds": seconds,
        "rps": n / seconds if seconds > 0 else 0.0,
        "cpu_seconds": cpu,
        "p50_ms": 1000 * latencies[n // 2] if n else None,
        "p99_ms": 1000 * latencies[min(n - 1, int(n * 0.99))] if n else None,
    }


def main() -> None:
    """Parse the command line, run, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("url", help="a 127.0.0.1 URL to GET")
    parser.add_argument(
        "--requests", type=int, default=100_000, help="requests to send (default 100000)"
    )
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight (default 64)")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop's event loop")
    parser.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    parser.add_argument(
        "--max-seconds", type=float, default=60.0, help="stop after this long (default 60)"
    )
    args = parser.parse_args()
    headers = dict(h.split(": ", 1) for h in args.header)
    coro = run(args.url, args.requests, args.concurrency, headers, args.max_seconds)
    if args.uvloop:
        import uvloop

        result = uvloop.run(coro)
    else:
        result = asyncio.run(coro)
    result["loop"] = "uvloop" if args.uvloop else "asyncio"
    print(json.dumps(result))


if __name__ == "__main__":
    main()
