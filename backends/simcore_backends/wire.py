"""A lean HTTP/1.1 keep-alive client on asyncio protocols, for the http backend's hot path.

aiohttp's ``ClientSession`` spends most of a request's client CPU in general-purpose
machinery (cookies, traces, redirects, per-request timeout contexts, header
multidicts). The http backend needs far less: one persistent connection per
worker, one request at a time on it, a few answer headers (``Location``,
``Retry-After``), and the body. :class:`Connection` does that with llhttp's C
parser (``httptools``) and one ``transport.write`` per request; :class:`Wire`
owns the connections. The http backend uses it when ``httptools`` is installed
and falls back to aiohttp otherwise (``backend.client`` picks explicitly).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any, cast

try:
    import httptools
except ImportError:  # pragma: no cover - the http extra installs it
    httptools = None  # type: ignore[assignment]

AVAILABLE = httptools is not None
_WANTED = {b"location": "Location", b"retry-after": "Retry-After", b"content-type": "Content-Type"}


class Connection(asyncio.Protocol):
    """One keep-alive connection that carries one request at a time."""

    def __init__(self) -> None:
        assert httptools is not None
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[tuple[int, dict[str, str], bytes]] | None = None
        self.headers: dict[str, str] = {}
        self.body: list[bytes] = []
        self.closed = False

    # -- asyncio.Protocol ----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except Exception as exc:  # httptools.HttpParserError and friends
            self._fail(ConnectionError(f"bad HTTP answer: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(ConnectionResetError("the server closed the connection"))

    # -- httptools callbacks -------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        key = _WANTED.get(name.lower())
        if key is not None:
            self.headers[key] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        waiter = self.waiter
        self.waiter = None
        status = self.parser.get_status_code()
        if not self.parser.should_keep_alive():
            self.close()
        if waiter is not None and not waiter.done():
            waiter.set_result((status, self.headers, b"".join(self.body)))

    # -- use -----------------------------------------------------------------------

    def _fail(self, exc: Exception) -> None:
        waiter = self.waiter
        self.waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def close(self) -> None:
        """Close the connection (its answer, if any, is abandoned)."""
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    @property
    def usable(self) -> bool:
        """Open and not being closed."""
        return not self.closed and self.transport is not None and not self.transport.is_closing()

    def send(
        self, data: bytes, loop: asyncio.AbstractEventLoop
    ) -> asyncio.Future[tuple[int, dict[str, str], bytes]]:
        """Write one request; the future resolves to (status, some headers, body)."""
        assert self.transport is not None
        self.headers = {}
        self.body = []
        waiter: asyncio.Future[tuple[int, dict[str, str], bytes]] = loop.create_future()
        self.waiter = waiter
        self.transport.write(data)
        return waiter


class Wire:
    """Connections to one server, one per worker slot, opened on first use and on breakage."""

    def __init__(self, host: str, port: int, tls: bool, timeout: float, slots: int) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.ssl: ssl.SSLContext | None = ssl.create_default_context() if tls else None
        default = 443 if tls else 80
        self.host_header = host if port == default else f"{host}:{port}"
        if ":" in host and not host.startswith("["):
            self.host_header = f"[{host}]" if port == default else f"[{host}]:{port}"
        self.connections: list[Connection | None] = [None] * slots
        self.opened = 0  # connections opened so far (reconnects included)

    async def _connect(self, slot: int) -> Connection:
        loop = asyncio.get_running_loop()
        _, protocol = await asyncio.wait_for(
            loop.create_connection(Connection, self.host, self.port, ssl=self.ssl), self.timeout
        )
        self.connections[slot] = protocol
        self.opened += 1
        return protocol

    def head(self, method: str, path: str, headers: dict[str, str], length: int | None) -> bytes:
        """The request line and headers, ready to write."""
        lines = [f"{method} {path} HTTP/1.1\r\nHost: {self.host_header}\r\nUser-Agent: simcore\r\n"]
        lines.extend(f"{k}: {v}\r\n" for k, v in headers.items())
        if length is not None:
            lines.append(f"Content-Length: {length}\r\n")
        lines.append("\r\n")
        return "".join(lines).encode("latin-1")

    async def request(
        self, slot: int, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, dict[str, str], bytes]:
        """Send one request on ``slot``'s connection; raise TimeoutError or ConnectionError."""
        loop = asyncio.get_running_loop()
        conn = self.connections[slot]
        if conn is None or not conn.usable:
            conn = await self._connect(slot)
        data = self.head(
            method, path, headers, None if body is None and method == "GET" else len(body or b"")
        )
        if body:
            data += body
        waiter = conn.send(data, loop)
        timer = loop.call_later(self.timeout, _expire, waiter, self.timeout)
        try:
            return await waiter
        except BaseException:  # timeout, connection lost, cancelled: the connection is spent
            conn.close()
            raise
        finally:
            timer.cancel()

    def close(self) -> None:
        """Close every connection."""
        for conn in self.connections:
            if conn is not None:
                conn.close()
        self.connections = [None] * len(self.connections)


def _expire(waiter: asyncio.Future[Any], timeout: float) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError(f"no answer within {timeout} s"))
