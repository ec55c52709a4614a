"""A deliberately unreliable server speaking the reference API (aiohttp.web, in memory), for tests.

Whether a request fails, and how, is a pure function of the request's identity
(its Idempotency-Key, or method, path and token) and how many times that identity
was seen before, so a run against it is repeatable. First attempts may:

- ``drop``: the connection is closed before the request is handled;
- ``lost``: the request is handled (a post is created) but the connection is
  closed before the answer goes out — only an idempotent retry avoids a duplicate;
- ``503`` or ``429`` (with ``Retry-After``), and on second attempts some again;
- ``stall``: no answer until the client gives up.

Some creates and sign-ups fail for good (503 on every attempt), so later
actions on them must be skipped. The server counts requests in flight.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections import Counter
from typing import Any

from aiohttp import web

STALL_SECONDS = 30.0


def _draw(identity: str, nth: int) -> int:
    digest = hashlib.blake2b(f"{identity}#{nth}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") % 1000


class FlakyServer:
    """State and counters of one flaky server."""

    def __init__(self, retry_after: str = "1") -> None:
        self.retry_after = retry_after
        self.users: dict[str, int] = {}  # token -> id
        self.external: dict[int, int | None] = {}
        self.posts: dict[int, dict[str, Any]] = {}
        self.replies: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        self.created_by_key: Counter[str] = Counter()
        self.seen: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests = 0
        self.doomed_create: str | None = None

    # -- fault plan ----------------------------------------------------------------

    def fault(self, request: web.Request) -> str:
        key = request.headers.get("Idempotency-Key")
        if key is not None:
            key = key.rsplit("-", 1)[-1]  # the action's sequence number, without the run's nonce
        identity = key or f"{request.method} {request.path_qs} {request.headers.get('Authorization')}"
        nth = self.seen[identity]
        self.seen[identity] += 1
        if key is not None and request.method == "POST" and request.path == "/posts":
            # the first create the server sees fails for good, whatever the run's draws
            self.doomed_create = self.doomed_create or key
        if key is not None and (key == self.doomed_create or _draw(key, -1) < 25):
            return "503"  # this sign-up or create fails for good
        d = _draw(identity, nth)
        if nth == 0:
            for name, upto in (("drop", 40), ("lost", 80), ("503", 130), ("429", 170), ("stall", 180)):
                if d < upto:
                    return name
        elif nth == 1 and d < 150:
            return "503"
        return "ok"

    # -- handlers ------------------------------------------------------------------

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.in_flight += 1
        self.requests += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            fault = self.fault(request)
            self.faults[fault] += 1
            if fault == "drop":
                assert request.transport is not None
                request.transport.close()
                return web.Response(status=500)
            if fault == "503":
                return web.json_response({"detail": "unavailable"}, status=503)
            if fault == "429":
                # a few ask for a real wait; the rest may retry at once
                wait = self.retry_after if self.faults["429"] % 8 == 1 else "0"
                return web.json_response(
                    {"detail": "slow down"}, status=429, headers={"Retry-After": wait}
                )
            if fault == "stall":
                await asyncio.sleep(STALL_SECONDS)
            response = await handler(request)
            if fault == "lost":
                assert request.transport is not None
                request.transport.close()
            return response
        finally:
            self.in_flight -= 1

    def _user(self, request: web.Request) -> int:
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ")
        if not auth.startswith("Bearer ") or token not in self.users:
            raise web.HTTPUnauthorized(text='{"detail":"bad token"}', content_type="application/json")
        return self.users[token]

    def _replay(self, scope: str, request: web.Request) -> web.Response | None:
        key = request.headers.get("Idempotency-Key")
        if key is not None and (scope, key) in self.replies:
            status, body = self.replies[(scope, key)]
            return web.json_response(body, status=status)
        return None

    async def sign_up(self, request: web.Request) -> web.Response:
        body = await request.json()
        replay = self._replay("users", request)
        if replay is not None:
            return replay
        uid = len(self.external) + 1
        token = secrets.token_urlsafe(16)
        self.users[token] = uid
        self.external[uid] = body.get("external_id")
        answer = {"id": uid, "name": body["name"], "token": token}
        if key := request.headers.get("Idempotency-Key"):
            self.replies[("users", key)] = (201, answer)
        return web.json_response(answer, status=201)

    async def feed(self, request: web.Request) -> web.Response:
        self._user(request)
        live = [p for p in sorted(self.posts.values(), key=lambda p: -p["id"]) if not p["deleted"]]
        return web.json_response({"items": live[:20], "next_cursor": None})

    async def create(self, request: web.Request) -> web.Response:
        uid = self._user(request)
        body = await request.json()
        replay = self._replay(f"posts:{uid}", request)
        if replay is not None:
            return replay
        pid = len(self.posts) + 1
        post = {"id": pid, "author_id": uid, "content": body["content"], "version": 1, "deleted": False}
        self.posts[pid] = post
        key = request.headers.get("Idempotency-Key", "")
        self.created_by_key[key] += 1
        self.replies[(f"posts:{uid}", key)] = (201, dict(post))
        return web.json_response(post, status=201, headers={"Location": f"/posts/{pid}"})

    def _post(self, request: web.Request) -> dict[str, Any]:
        post = self.posts.get(int(request.match_info["pid"]))
        if post is None or post["deleted"]:
            raise web.HTTPNotFound(text='{"detail":"not found"}', content_type="application/json")
        return post

    async def read(self, request: web.Request) -> web.Response:
        self._user(request)
        return web.json_response(self._post(request))

    async def update(self, request: web.Request) -> web.Response:
        uid = self._user(request)
        body = await request.json()
        post = self._post(request)
        if post["author_id"] != uid:
            raise web.HTTPForbidden(text='{"detail":"not yours"}', content_type="application/json")
        post["content"] = body["content"]
        post["version"] += 1
        return web.json_response(post)

    async def delete(self, request: web.Request) -> web.Response:
        uid = self._user(request)
        post = self._post(request)
        if post["author_id"] != uid:
            raise web.HTTPForbidden(text='{"detail":"not yours"}', content_type="application/json")
        post["deleted"] = True
        return web.Response(status=204)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.middleware])
        app.router.add_post("/users", self.sign_up)
        app.router.add_get("/posts", self.feed)
        app.router.add_post("/posts", self.create)
        app.router.add_get("/posts/{pid}", self.read)
        app.router.add_put("/posts/{pid}", self.update)
        app.router.add_delete("/posts/{pid}", self.delete)
        return app
