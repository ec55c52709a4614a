"""``simcore run … --web``: a live page served by the run itself (Starlette under uvicorn, in a
thread of its own).

Routes:

- ``GET /``: the page (:mod:`simcore.ui.webpage`);
- ``GET /events``: the run's state as server-sent events, one document a second
  (the last one says ``"status": "ended"``);
- ``GET /state``: the same document once;
- ``POST /control/COMMAND`` (``{"value": …}`` as a JSON body, or ``?value=``): pause, resume, toggle,
  stop, speed, faster, slower, snapshot, status — what ``simcore ctl`` sends;
- ``GET /metrics``: the Prometheus exposition (:mod:`simcore.ui.webmetrics`);
- ``GET /report``: the run's report.html once the run has ended.

It binds to 127.0.0.1:8089 unless told otherwise; binding elsewhere prints a
warning, since anyone who reaches the port can pause and stop the run.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from simcore.errors import SimcoreError, UsageError
from simcore.ui.webfeed import WebFeed
from simcore.ui.webmetrics import prometheus_text
from simcore.ui.webpage import page

if TYPE_CHECKING:
    from rich.console import Console

    from simcore.run.builder import Run

DEFAULT_BIND = "127.0.0.1:8089"
#: Seconds between two state documents on ``/events``.
PUSH_EVERY = 1.0


def parse_bind(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8089`` for IPv6) into its parts; :class:`UsageError` if malformed."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--web-bind: got {text!r}, expected HOST:PORT such as {DEFAULT_BIND}")
    return host, int(port)


def is_loopback(host: str) -> bool:
    """Whether ``host`` only reaches this machine."""
    return host in ("localhost", "::1") or host.startswith("127.")


class WebView:
    """The live page of one run: start it before the run, :meth:`finish` after."""

    def __init__(self, run: Run, bind: str = DEFAULT_BIND, linger: float = 0.0) -> None:
        try:
            import uvicorn  # noqa: F401
            from starlette.applications import Starlette  # noqa: F401
        except ImportError as exc:
            raise UsageError(
                f"--web needs Starlette and uvicorn ({exc}); pip install 'simcore[web]'"
            ) from None
        self.run = run
        self.host, self.port = parse_bind(bind)
        self.linger = linger
        self.feed = WebFeed(run)
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where the page is."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def app(self) -> Any:
        """The Starlette application."""
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import (
            FileResponse,
            HTMLResponse,
            JSONResponse,
            Response,
            StreamingResponse,
        )
        from starlette.routing import Route

        feed, run = self.feed, self.run
        html = page(str(run.directory))

        async def index(_: Request) -> Response:
            return HTMLResponse(html)

        async def state(_: Request) -> Response:
            return JSONResponse(feed.state())

        async def events(request: Request) -> Response:
            async def stream() -> AsyncIterator[str]:
                while True:
                    document = feed.state()
                    yield f"data: {json.dumps(document, default=str)}\n\n"
                    if document["status"] == "ended" or await request.is_disconnected():
                        return
                    await asyncio.sleep(PUSH_EVERY)

            headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
            return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

        async def control(request: Request) -> Response:
            value = request.query_params.get("value")
            body = await request.body()
            try:
                if body:
                    data = json.loads(body)
                    value = data.get("value", value) if isinstance(data, dict) else value
                status = run.control.apply(
                    request.path_params["command"], None if value is None else str(value)
                )
            except (SimcoreError, ValueError) as exc:
                return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
            return JSONResponse({"ok": True, "status": status})

        async def metrics(_: Request) -> Response:
            return Response(prometheus_text(run), media_type="text/plain; version=0.0.4; charset=utf-8")

        async def report(_: Request) -> Response:
            path = run.directory / "report.html"
            if not feed.ended or not path.is_file():
                return JSONResponse(
                    {"error": "the report is written when the run ends"}, status_code=404
                )
            return FileResponse(path)

        return Starlette(
            routes=[
                Route("/", index),
                Route("/state", state),
                Route("/events", events),
                Route("/control/{command}", control, methods=["POST"]),
                Route("/metrics", metrics),
                Route("/report", report),
            ]
        )

    def start(self) -> WebView:
        """Serve in a thread; :class:`UsageError` if the address cannot be bound."""
        import uvicorn

        try:  # fail here, clearly, rather than in the server's thread
            with socket.create_server((self.host, self.port), reuse_port=False):
                pass
        except OSError as exc:
            raise UsageError(
                f"--web: cannot listen on {self.host}:{self.port} ({exc.strerror or exc}); "
                "pass --web-bind HOST:PORT with a free port"
            ) from None
        config = uvicorn.Config(
            self.app(), host=self.host, port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # the run handles signals
        self._thread = threading.Thread(target=self._server.run, name="simcore-web", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        self._sampler = threading.Thread(target=self._sample, name="simcore-web-sampler", daemon=True)
        self._sampler.start()
        return self

    def _sample(self) -> None:
        while not self.feed.ended:
            time.sleep(1.0)
            self.feed.sample()

    def finish(self, report: bool = True) -> None:
        """Say the run has ended (linking its report); the page stays up until :meth:`close`."""
        self.feed.sample()
        self.feed.report = "report" if report else None
        self.feed.ended = True

    def close(self) -> None:
        """Serve ``linger`` seconds more (Ctrl-C ends that at once), then stop."""
        try:
            if self.linger > 0:
                time.sleep(self.linger)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        self.feed.ended = True
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


@contextmanager
def exported(
    run: Run, console: Console, web: bool, bind: str | None, linger: float, otel_endpoint: str | None
) -> Iterator[WebView | None]:
    """Around a run: its live page (``web``) and its OpenTelemetry export, if asked for. The
    page is left up, saying the run has ended: :meth:`WebView.close` it once the summary is
    printed (it lingers there, where Ctrl-C is no longer held)."""
    view = otel = None
    if web:
        view = WebView(run, bind or DEFAULT_BIND, linger).start()
        run.watch(sink=view.feed)
        console.print(f"web view: {view.url}  (metrics: {view.url}metrics)")
        if not is_loopback(view.host):
            console.print(
                f"[yellow]warning: the web view listens on {view.host}, not on loopback: anyone who "
                "reaches it can pause and stop this run[/]"
            )
    if otel_endpoint is not None:
        from simcore.ui.webmetrics import OtelExport

        otel = OtelExport(run, otel_endpoint)
    try:
        yield view
    finally:
        if otel is not None:
            otel.close()
        if view is not None:
            view.finish(report=(run.directory / "report.html").is_file())
