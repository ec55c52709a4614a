"""A fixed extra latency on chosen routes of an ASGI app: a build made slower on purpose.

``parse_slow("GET /posts/{id}=20ms")`` reads one spec; :func:`slow_down` adds a
:class:`SlowRoutes` middleware to a FastAPI app. A request is delayed when its
method and path match a route's template (FastAPI's route path; placeholder names
do not matter: ``/posts/{id}`` is ``/posts/{post_id}``). The delay is waited before the
app answers, without holding up other requests (:func:`wait_precisely`): an
``asyncio.sleep`` for all but its last 2 ms, whose timers wake up to a millisecond late,
then a ``time.sleep`` in a thread to the deadline, so that a slowdown of a fraction of a
millisecond is one (about 0.15 ms more: the thread's hand-over).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from attrs import frozen

__all__ = ["SlowRoute", "SlowRoutes", "parse_slow", "slow_down"]

_SPEC = re.compile(r"^\s*([A-Za-z]+)\s+(/\S*)\s*=\s*([0-9]*\.?[0-9]+)\s*(ms|s)\s*$")
_PLACEHOLDER = re.compile(r"\{[^}]*\}")


@frozen
class SlowRoute:
    """Requests of ``method`` to ``path`` (a route template) wait ``seconds`` more."""

    method: str
    path: str
    seconds: float


def parse_slow(spec: str) -> SlowRoute:
    """``"GET /posts/{id}=20ms"`` (or ``=0.5s``) as a :class:`SlowRoute`; ``ValueError`` if malformed."""
    match = _SPEC.match(spec)
    if match is None:
        raise ValueError(
            f"got {spec!r}, expected 'METHOD /path/template=DELAY' with DELAY in ms or s, "
            "e.g. 'GET /posts/{id}=20ms'"
        )
    method, path, value, unit = match.groups()
    seconds = float(value) / (1000.0 if unit == "ms" else 1.0)
    return SlowRoute(method.upper(), path, seconds)


#: threads that sleep out the last 2 ms of a delay (each holds one for 2 ms at most)
_SLEEPERS = ThreadPoolExecutor(max_workers=32, thread_name_prefix="simcore-slow")
_COARSE_SLACK = 0.002  # the event loop's timers wake up to ~1 ms late: stop 2 ms short


async def wait_precisely(seconds: float) -> None:
    """Wait ``seconds`` without blocking the event loop (about 0.15 ms more)."""
    deadline = time.perf_counter() + seconds
    if seconds > _COARSE_SLACK:
        await asyncio.sleep(seconds - _COARSE_SLACK)
    left = deadline - time.perf_counter()
    if left > 0:
        await asyncio.get_running_loop().run_in_executor(_SLEEPERS, time.sleep, left)


def _shape(path: str) -> str:
    return _PLACEHOLDER.sub("{}", path.rstrip("/") or "/")


class SlowRoutes:
    """ASGI middleware: the requests matching a slowed route wait before the app answers them.

    ``routes`` holds, per slowed route, its method, a compiled pattern of its path
    template (``starlette.routing.compile_path``) and its delay in seconds.
    """

    def __init__(self, app: Any, routes: Sequence[tuple[str, re.Pattern[str], float]]) -> None:
        self.app = app
        self.routes = list(routes)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            for method, pattern, seconds in self.routes:
                if scope["method"] == method and pattern.match(scope["path"]):
                    await wait_precisely(seconds)
                    break
        await self.app(scope, receive, send)


def slow_down(app: Any, slow: Sequence[SlowRoute]) -> None:
    """Add a :class:`SlowRoutes` middleware to the FastAPI ``app`` for the routes ``slow`` names
    (looked up among the app's OpenAPI paths); ``ValueError`` naming the app's routes if one
    is not among them."""
    if not slow:
        return
    from starlette.routing import compile_path

    known = {
        (method.upper(), _shape(path)): path
        for path, operations in app.openapi().get("paths", {}).items()
        for method in operations
    }
    chosen = []
    for item in slow:
        template = known.get((item.method, _shape(item.path)))
        if template is None:
            names = ", ".join(f"{m} {p}" for (m, _), p in sorted(known.items(), key=lambda kv: kv[1]))
            raise ValueError(f"no route {item.method} {item.path} in the app; its routes: {names}")
        pattern, _, _ = compile_path(template)
        chosen.append((item.method, pattern, item.seconds))
    app.add_middleware(SlowRoutes, routes=chosen)
