"""A small API with kinds the reference app lacks — comments, bookmarks, stories — for the
custom-kinds tests (``kinds_api:app``).

Posts have string ids; comments and bookmarks hang off a post; a story is a post of
its own kind. Every request is recorded in :data:`RECEIVED`.
"""

from __future__ import annotations

import itertools
from typing import Any

from fastapi import FastAPI, Header, HTTPException, Request, Response

RECEIVED: list[dict[str, Any]] = []
#: What a config for this API says: kinds of its own, and a route for every kind the crowd does.
ROUTES = """
[kinds.comment]
behaves_as = "quote_post"      # picks a post as a reader does; makes no post of simcore's

[kinds.bookmark]
behaves_as = "like_post"

[kinds.story]
behaves_as = "create_post"
creates = "post"               # a story is a post: others read it later

[backend]
lacks = ["repost", "quote_post", "follow_user", "unfollow_user", "browse_following", "update_post", "delete_post"]

[backend.routes]
sign_up = { path = "/users", body = { name = "{name}" }, id = "id", token = "token" }
browse_feed = { path = "/posts" }
read_post = { path = "/posts/{id}" }
create_post = { path = "/posts", body = { text = "{content}", title = "{title}", tag = "{tag}" }, id = "id" }
like_post = { method = "POST", path = "/posts/{id}/likes" }
comment = { method = "POST", path = "/posts/{ref_id}/comments", body = { text = "{content}", on = "{post}" } }
bookmark = { method = "PUT", path = "/me/bookmarks/{id}" }
story = { method = "POST", path = "/stories", body = { text = "{content}", title = "{title}" }, id = "story.id" }
"""

app = FastAPI(title="kinds API")
_tokens: dict[str, int] = {}
_posts: dict[str, dict[str, Any]] = {}
_ids = itertools.count(1)


def reset() -> None:
    """Forget everything (between tests)."""
    RECEIVED.clear()
    _tokens.clear()
    _posts.clear()


@app.middleware("http")
async def record(request: Request, call_next: Any) -> Any:
    body = await request.body()
    RECEIVED.append({"method": request.method, "path": request.url.path, "body": body.decode()})
    return await call_next(request)


def _user(authorization: str | None) -> int:
    token = (authorization or "").removeprefix("Bearer ")
    if token not in _tokens:
        raise HTTPException(401)
    return _tokens[token]


def _post(pid: str) -> dict[str, Any]:
    if pid not in _posts:
        raise HTTPException(404)
    return _posts[pid]


@app.post("/users", status_code=201)
async def sign_up(body: dict[str, Any]) -> dict[str, Any]:
    uid = next(_ids)
    token = f"t{uid}"
    _tokens[token] = uid
    return {"id": uid, "token": token}


@app.get("/posts")
async def feed(authorization: str | None = Header(None)) -> list[dict[str, Any]]:
    _user(authorization)
    return list(_posts.values())[-5:]


@app.post("/posts", status_code=201)
async def create(body: dict[str, Any], authorization: str | None = Header(None)) -> dict[str, Any]:
    pid = f"p{next(_ids)}"
    _posts[pid] = {
        "id": pid,
        "by": _user(authorization),
        "kind": "post",
        "comments": [],
        "marks": set(),
        **body,
    }
    return {"id": pid}


@app.post("/stories", status_code=201)
async def story(body: dict[str, Any], authorization: str | None = Header(None)) -> dict[str, Any]:
    pid = f"s{next(_ids)}"
    _posts[pid] = {
        "id": pid,
        "by": _user(authorization),
        "kind": "story",
        "comments": [],
        "marks": set(),
        **body,
    }
    return {"story": {"id": pid}}


@app.get("/posts/{pid}")
async def read(pid: str, authorization: str | None = Header(None)) -> dict[str, Any]:
    _user(authorization)
    post = _post(pid)
    return {k: v for k, v in post.items() if k != "marks"}


@app.post("/posts/{pid}/likes", status_code=201)
async def like(pid: str, authorization: str | None = Header(None)) -> Response:
    _user(authorization)
    _post(pid)
    return Response(status_code=201)


@app.post("/posts/{pid}/comments", status_code=201)
async def comment(
    pid: str, body: dict[str, Any], authorization: str | None = Header(None)
) -> dict[str, Any]:
    user = _user(authorization)
    _post(pid)["comments"].append({"by": user, **body})
    return {"ok": True}


@app.put("/me/bookmarks/{pid}", status_code=204)
async def bookmark(pid: str, authorization: str | None = Header(None)) -> Response:
    _post(pid)["marks"].add(_user(authorization))
    return Response(status_code=204)


def comments() -> list[dict[str, Any]]:
    """Every comment, with the id of the post it is on."""
    return [{"post": pid, **c} for pid, p in _posts.items() for c in p["comments"]]


def posts() -> dict[str, dict[str, Any]]:
    """Every post and story by id."""
    return _posts
