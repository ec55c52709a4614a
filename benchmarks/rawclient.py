"""The baseline clients: N tasks sending a fixed number of GETs to one URL, as fast as they can.

- ``--mode aiohttp`` (default): one aiohttp session, N tasks: the plain aiohttp loop;
- ``--mode lean``: N keep-alive connections, each an :class:`asyncio.Protocol` writing a
  pre-rendered request and cutting the answer by its Content-Length: no HTTP library,
  what a Python client costs without one (a reference point, not a general client: no
  chunked bodies, no redirects, no TLS).

Run as a script (the benchmark starts it pinned to the client core)::

    python benchmarks/rawclient.py http://127.0.0.1:8080/posts --requests 100000 \\
        --concurrency 64 [--uvloop] [--mode lean] [--header 'Authorization: Bearer x']

It prints one JSON object: requests, errors, seconds, rps, cpu_seconds, p50_ms, p99_ms.
The load is bounded by ``--requests`` and ``--max-seconds``, and goes only where it is told
(the benchmark only ever tells it 127.0.0.1).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any, cast
from urllib.parse import urlsplit

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


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection with one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        buffer = self.buffer
        end = buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        head = bytes(buffer[:end]).lower()
        at = head.find(b"\r\ncontent-length:")
        length = int(head[at + 17 : head.find(b"\r\n", at + 2) % (len(head) + 1)]) if at >= 0 else 0
        if len(buffer) < end + 4 + length:
            return
        status = int(buffer[9:12])
        del buffer[: end + 4 + length]
        waiter, self.waiter = self.waiter, None
        waiter.set_result(status)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed"))

    def send(self, request: bytes) -> asyncio.Future[int]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.waiter


async def run_lean(
    url: str, requests: int, concurrency: int, headers: dict[str, str], max_seconds: float
) -> dict[str, Any]:
    """Like :func:`run`, over bare protocol connections and pre-rendered requests."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target or '/'} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    loop = asyncio.get_running_loop()
    connections = [
        (await loop.create_connection(_Connection, host, port))[1] for _ in range(concurrency)
    ]
    latencies: list[float] = []
    errors = [0]

    async def worker(
        connection: _Connection, budget: list[int], deadline: float, keep: list[float]
    ) -> None:
        clock = time.perf_counter
        while budget[0] > 0 and clock() < deadline:
            budget[0] -= 1
            began = clock()
            status = await connection.send(request)
            if status >= 400:
                errors[0] += 1
            keep.append(clock() - began)

    warm = [concurrency]
    await asyncio.gather(*(worker(c, warm, time.perf_counter() + 10, []) for c in connections))
    budget = [requests]
    cpu0, began = time.process_time(), time.perf_counter()
    deadline = began + max_seconds
    await asyncio.gather(*(worker(c, budget, deadline, latencies) for c in connections))
    seconds = time.perf_counter() - began
    cpu = time.process_time() - cpu0
    for connection in connections:
        if connection.transport is not None:
            connection.transport.close()
    return _result(latencies, errors[0], seconds, cpu)


def _result(latencies: list[float], errors: int, seconds: float, cpu: float) -> dict[str, Any]:
    latencies.sort()
    n = len(latencies)
    return {
        "requests": n,
        "errors": errors,
        "seconds": seconds,
        "rps": n / seconds if seconds > 0 else 0.0,
        "cpu_seconds": cpu,
        "p50_ms": 1000 * latencies[n // 2] if n else None,
        "p99_ms": 1000 * latencies[min(n - 1, int(n * 0.99))] if n else None,
    }


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
    return _result(latencies, errors[0], seconds, cpu)


def main() -> None:
    """Parse the command line, run, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("url", help="a 127.0.0.1 URL to GET")
    parser.add_argument(
        "--requests", type=int, default=100_000, help="requests to send (default 100000)"
    )
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight (default 64)")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop's event loop")
    parser.add_argument(
        "--mode", choices=("aiohttp", "lean"), default="aiohttp", help="the client (default aiohttp)"
    )
    parser.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    parser.add_argument(
        "--max-seconds", type=float, default=60.0, help="stop after this long (default 60)"
    )
    args = parser.parse_args()
    headers = dict(h.split(": ", 1) for h in args.header)
    runner = run_lean if args.mode == "lean" else run
    coro = runner(args.url, args.requests, args.concurrency, headers, args.max_seconds)
    if args.uvloop:
        import uvloop

        result = uvloop.run(coro)
    else:
        result = asyncio.run(coro)
    result["loop"] = "uvloop" if args.uvloop else "asyncio"
    result["mode"] = args.mode
    print(json.dumps(result))


if __name__ == "__main__":
    main()
