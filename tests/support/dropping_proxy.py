"""A reverse proxy that loses answers on the way back, for tests and benchmarks.

Every request is forwarded to the upstream server and handled there; for a keyed
share of them (``rate``) the proxy then closes the client's connection without
passing the answer on — the server did the work, the client cannot know. Whether
a request's answer is dropped is a pure function of the request (method, path,
body, auth, and the action's sequence number from its Idempotency-Key) and how
many times the proxy has seen that same request, so a retry is a fresh draw and
a run with a fixed ``backend.namespace`` meets the same drops every time.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

import aiohttp
from aiohttp import web

_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}


def _draw(identity: bytes, nth: int) -> float:
    digest = hashlib.blake2b(identity + f"#{nth}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") / 2.0**64


class DroppingProxy:
    """Forwards to ``upstream``; drops the answers of a keyed ``rate`` of requests."""

    def __init__(self, upstream: str, rate: float = 0.1) -> None:
        self.upstream = upstream.rstrip("/")
        self.rate = rate
        self.seen: Counter[bytes] = Counter()
        self.requests = 0
        self.dropped = 0
        self.dropped_by_method: Counter[str] = Counter()
        self._session: aiohttp.ClientSession | None = None

    async def _on_cleanup(self, _app: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    async def forward(self, request: web.Request) -> web.StreamResponse:
        if self._session is None:
            self._session = aiohttp.ClientSession(auto_decompress=False)
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        identity = b"\0".join(
            (
                request.method.encode(),
                request.path_qs.encode(),
                body,
                request.headers.get("Authorization", "").encode(),
                # the action's sequence number, without the run's random nonce
                request.headers.get("Idempotency-Key", "").rsplit("-", 1)[-1].encode(),
            )
        )
        nth = self.seen[identity]
        self.seen[identity] += 1
        self.requests += 1
        async with self._session.request(
            request.method, self.upstream + request.path_qs, data=body or None, headers=headers
        ) as answer:
            content = await answer.read()
            status = answer.status
            passed = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_HEADERS}
        if _draw(identity, nth) < self.rate:
            # the server handled it; the client never hears back
            self.dropped += 1
            self.dropped_by_method[request.method] += 1
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=500)
        return web.Response(body=content, status=status, headers=passed)

    def app(self) -> web.Application:
        """The proxy as an aiohttp application (serve it with tests.support.liveserver)."""
        app = web.Application(client_max_size=16 * 1024**2)
        app.router.add_route("*", "/{tail:.*}", self.forward)
        app.on_cleanup.append(self._on_cleanup)
        return app


def summary(proxy: DroppingProxy) -> dict[str, Any]:
    """The proxy's counters as plain data."""
    return {
        "requests": proxy.requests,
        "dropped": proxy.dropped,
        "by_method": dict(proxy.dropped_by_method),
    }


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.support.dropping_proxy UPSTREAM PORT [RATE]``: serve until killed."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    upstream, port = args[0], int(args[1])
    rate = float(args[2]) if len(args) > 2 else 0.1
    web.run_app(DroppingProxy(upstream, rate).app(), host="127.0.0.1", port=port, print=None)


if __name__ == "__main__":
    main()
