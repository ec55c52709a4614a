"""What keeps the reference app standing under abuse: a request-body limit, 503 when the
database is busy, and error answers that never fail to render.

- :class:`BodyLimit` (pure ASGI middleware) answers 413 before reading a body whose
  ``Content-Length`` is over the limit, and stops reading a chunked body as soon as it
  passes the limit, so a large upload costs the server at most the limit.
- A :class:`~.records.StoreBusyError` (the SQLite file locked elsewhere past the busy
  timeout) is a 503 with ``Retry-After``.
- Validation errors are rendered ASCII-escaped: a request holding a lone UTF-16
  surrogate is a 422, not a crash while echoing it back.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .records import StoreBusyError

#: Default request-body limit: the largest valid body (2,000 characters of content, each
#: up to a 12-byte JSON escape pair) fits with room to spare.
DEFAULT_MAX_BODY = 64 * 1024
#: Seconds a client is told to wait when the database is busy.
BUSY_RETRY_AFTER = 1

__all__ = ["BUSY_RETRY_AFTER", "DEFAULT_MAX_BODY", "BodyLimit", "install_guards"]


class BodyLimit:
    """ASGI middleware: 413 for request bodies over ``max_body`` bytes."""

    def __init__(self, app: ASGIApp, max_body: int = DEFAULT_MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0 or declared > self.max_body:
                    await self._refuse(send, 400 if declared < 0 else 413)
                    return
        seen = 0
        started = refused = False

        async def limited_receive() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:  # answer now; the app sees the client go away
                    refused = True
                    if not started:
                        await self._refuse(send, 413)
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except Exception:
            if not refused:
                raise

    async def _refuse(self, send: Send, status: int) -> None:
        detail = (
            f"request body over {self.max_body} bytes" if status == 413 else "invalid Content-Length"
        )
        body = json.dumps({"detail": detail}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class _AsciiJSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


async def _busy(_request: Request, _exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"detail": "the database is busy; retry shortly"},
        status_code=503,
        headers={"Retry-After": str(BUSY_RETRY_AFTER)},
    )


async def _invalid(_request: Request, exc: Exception) -> JSONResponse:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return _AsciiJSON({"detail": jsonable_encoder(errors)}, status_code=422)


def install_guards(app: FastAPI, max_body: int = DEFAULT_MAX_BODY) -> None:
    """Add the body limit and the busy and validation handlers to ``app``."""
    app.add_middleware(BodyLimit, max_body=max_body)
    app.add_exception_handler(StoreBusyError, _busy)
    app.add_exception_handler(RequestValidationError, _invalid)
