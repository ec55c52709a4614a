"""A small API shaped unlike the reference app, for the custom-routes tests (``custom_api:app``).

Accounts and statuses under ``/api/v2``, string ids, a nested account id, an
``access_token`` and an ``X-Auth: Token …`` header. Every request is recorded
in :data:`RECEIVED`.
"""

from __future__ import annotations

import itertools
import secrets
from typing import Any

from fastapi import FastAPI, Header, HTTPException, Request, Response

RECEIVED: list[dict[str, Any]] = []
ROUTES = """
[backend]
auth_header = "X-Auth"
auth_format = "Token {token}"
# this API has no likes, reposts, quotes or follows: its users never do them
lacks = ["like_post", "repost", "quote_post", "follow_user", "unfollow_user", "browse_following"]

[backend.routes]
sign_up = { path = "/api/v2/accounts", body = { username = "{name}", ref = "{user}" }, id = "account.id", token = "access_token" }
browse_feed = { path = "/api/v2/timelines/home?limit=5" }
read_post = { path = "/api/v2/statuses/{id}" }
create_post = { path = "/api/v2/statuses", body = { status = "{content}", visibility = "public", by = "{user_id}" } }
update_post = { method = "PATCH", path = "/api/v2/statuses/{id}", body = { status = "{content}" } }
delete_post = { path = "/api/v2/statuses/{id}" }
"""

app = FastAPI(title="custom API")
_tokens: dict[str, str] = {}
_statuses: dict[str, dict[str, Any]] = {}
_counter = itertools.count(1)


def reset() -> None:
    """Forget everything (between tests)."""
    RECEIVED.clear()
    _tokens.clear()
    _statuses.clear()


@app.middleware("http")
async def record(request: Request, call_next: Any) -> Any:
    body = await request.body()
    RECEIVED.append(
        {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "body": body.decode(),
            "auth": request.headers.get("x-auth"),
            "key": request.headers.get("idempotency-key"),
        }
    )
    return await call_next(request)


def _account(x_auth: str | None) -> str:
    token = (x_auth or "").removeprefix("Token ")
    if token not in _tokens:
        raise HTTPException(401, "who are you?")
    return _tokens[token]


@app.post("/api/v2/accounts")
async def accounts(body: dict[str, Any]) -> dict[str, Any]:
    account = f"acct-{next(_counter)}"
    token = secrets.token_hex(8)
    _tokens[token] = account
    return {"account": {"id": account, "username": body["username"]}, "access_token": token}


@app.get("/api/v2/timelines/home")
async def home(limit: int, x_auth: str | None = Header(None)) -> list[dict[str, Any]]:
    _account(x_auth)
    return list(_statuses.values())[-limit:]


@app.post("/api/v2/statuses")
async def post_status(body: dict[str, Any], x_auth: str | None = Header(None)) -> dict[str, Any]:
    account = _account(x_auth)
    assert body["by"] == account and body["visibility"] == "public"
    sid = secrets.token_hex(6) + "x"  # not an integer
    _statuses[sid] = {"id": sid, "account": account, "status": body["status"]}
    return _statuses[sid]


def _own(sid: str, x_auth: str | None) -> dict[str, Any]:
    account = _account(x_auth)
    if sid not in _statuses:
        raise HTTPException(404)
    if _statuses[sid]["account"] != account:
        raise HTTPException(403)
    return _statuses[sid]


@app.get("/api/v2/statuses/{sid}")
async def get_status(sid: str, x_auth: str | None = Header(None)) -> dict[str, Any]:
    _account(x_auth)
    if sid not in _statuses:
        raise HTTPException(404)
    return _statuses[sid]


@app.patch("/api/v2/statuses/{sid}")
async def edit_status(
    sid: str, body: dict[str, Any], x_auth: str | None = Header(None)
) -> dict[str, Any]:
    status = _own(sid, x_auth)
    status["status"] = body["status"]
    return status


@app.delete("/api/v2/statuses/{sid}")
async def delete_status(sid: str, x_auth: str | None = Header(None)) -> Response:
    _own(sid, x_auth)
    del _statuses[sid]
    return Response(status_code=200)
