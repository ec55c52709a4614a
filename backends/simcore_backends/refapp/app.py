"""Routes of the reference social app (FastAPI over :mod:`.store`).

Build an app with :func:`create_app`, or serve one with
``uvicorn --factory simcore_backends.refapp.app:app_from_env`` (database path from the
``SIMCORE_APP_DB`` environment variable, body limit from ``SIMCORE_APP_MAX_BODY``).

The routes are plain functions: FastAPI runs them in its worker threads, so a slow or
locked database never blocks the event loop (``/health`` answers at once), and a
database locked past the busy timeout is a 503 with ``Retry-After`` (:mod:`.guards`).
"""

from __future__ import annotations

import base64
import binascii
import os
import pathlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Path, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .guards import DEFAULT_MAX_BODY, install_guards
from .records import IDEMPOTENCY_TTL_SECONDS
from .schemas import (
    MAX_ID,
    ErrorOut,
    FollowOut,
    HealthOut,
    PostIn,
    PostOut,
    PostPage,
    RepostIn,
    UserIn,
    UserOut,
)
from .store import IdempotencyConflictError, Outcome, PostRecord, Store

__all__ = [
    "DB_ENV_VAR",
    "MAX_BODY_ENV_VAR",
    "app_from_env",
    "create_app",
    "decode_cursor",
    "encode_cursor",
]

DB_ENV_VAR = "SIMCORE_APP_DB"
MAX_BODY_ENV_VAR = "SIMCORE_APP_MAX_BODY"
KEY_TTL_ENV_VAR = "SIMCORE_APP_KEY_TTL"
DEFAULT_DB = "simcore-app.db"

_bearer = HTTPBearer(auto_error=False, description="The token returned by `POST /users`.")

_E401: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Missing or invalid bearer token"}
}
_E403: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorOut, "description": "Caller is not the post's author"}
}
_E404: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "No such post (or deleted)"}
}
_LOCATION: dict[int | str, dict[str, Any]] = {
    201: {
        "description": "Created",
        "headers": {"Location": {"description": "URL of the new post", "schema": {"type": "string"}}},
    }
}

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description=(
            "Retrying with the same key returns the first answer and creates nothing;"
            " reusing a key with a different body or route is a 422. Keys belong to the"
            " user who sent them (sign-ups: to the client's address) and expire after 15 minutes."
        ),
    ),
]


def encode_cursor(last_id: int) -> str:
    """Encode the last post id of a page as an opaque cursor."""
    return base64.urlsafe_b64encode(f"p{last_id}".encode()).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> int:
    """Decode a cursor made by :func:`encode_cursor`; raise ``ValueError`` if malformed."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(cursor) from exc
    if not raw.startswith("p") or not raw[1:].isdigit():
        raise ValueError(cursor)
    last_id = int(raw[1:])
    if (
        last_id > MAX_ID or encode_cursor(last_id) != cursor
    ):  # only canonical cursors (no padding, no junk)
        raise ValueError(cursor)
    return last_id


def get_store(request: Request) -> Store:
    """Dependency: the app's :class:`Store`."""
    store = request.app.state.store
    if not isinstance(store, Store):  # pragma: no cover - wiring error
        raise RuntimeError("app.state.store is not a Store")
    return store


StoreDep = Annotated[Store, Depends(get_store)]


def current_user(
    store: StoreDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> int:
    """Dependency: the id of the user whose bearer token came with the request (else 401)."""
    user_id = None if credentials is None else store.user_for_token(credentials.credentials)
    if user_id is None:
        raise HTTPException(
            status_code=401,
            detail="missing or invalid bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user_id


UserDep = Annotated[int, Depends(current_user)]
PostId = Annotated[int, Path(ge=-MAX_ID, le=MAX_ID, description="A post id.")]
UserId = Annotated[int, Path(ge=-MAX_ID, le=MAX_ID, description="A user id.")]

router = APIRouter()


def _conflict(key: str) -> HTTPException:
    return HTTPException(
        status_code=422, detail=f"Idempotency-Key {key!r} was already used with another request"
    )


def _published(response: Response, missing: str, create: Callable[[], PostRecord | None]) -> PostRecord:
    """Run a create (a post, repost or quote): 422 on a reused Idempotency-Key, 404 with
    ``missing`` if what it refers to is gone, else the post with its ``Location``."""
    try:
        post = create()
    except IdempotencyConflictError as exc:
        raise _conflict(str(exc)) from exc
    if post is None:
        raise HTTPException(status_code=404, detail=missing)
    response.headers["Location"] = f"/posts/{post['id']}"
    return post


@router.get("/health", response_model=HealthOut, tags=["meta"])
async def health() -> HealthOut:
    """Liveness probe (no authentication)."""
    return HealthOut(status="ok")


@router.post("/users", response_model=UserOut, status_code=201, tags=["users"])
def sign_up(
    body: UserIn, request: Request, store: StoreDep, idempotency_key: IdempotencyKey = None
) -> Any:
    """Create a user and return their bearer token."""
    client = request.client.host if request.client is not None else ""
    try:
        return store.create_user(body.name, body.external_id, idempotency_key, client=client)
    except IdempotencyConflictError as exc:
        raise _conflict(str(exc)) from exc


@router.get("/posts", response_model=PostPage, responses=_E401, tags=["posts"])
def list_posts(
    store: StoreDep,
    _user: UserDep,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 20,
    cursor: Annotated[
        str | None, Query(max_length=64, description="`next_cursor` of the previous page.")
    ] = None,
    author: Annotated[
        int | None, Query(ge=-MAX_ID, le=MAX_ID, description="Only posts by this user id.")
    ] = None,
    tag: Annotated[str | None, Query(max_length=64, description="Only posts with this tag.")] = None,
) -> Any:
    """The feed: live posts, newest first, cursor-paginated, optionally by one author or tag."""
    before_id = _before(cursor)
    rows = store.list_posts(limit + 1, before_id=before_id, author_id=author, tag=tag)
    return _page(rows, limit)


def _before(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        return decode_cursor(cursor)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail="invalid cursor") from exc


def _page(rows: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    items = rows[:limit]
    next_cursor = encode_cursor(items[-1]["id"]) if len(rows) > limit else None
    return {"items": items, "next_cursor": next_cursor}


@router.get("/feed/following", response_model=PostPage, responses=_E401, tags=["social"])
def following_feed(
    store: StoreDep,
    user_id: UserDep,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 20,
    cursor: Annotated[
        str | None, Query(max_length=64, description="`next_cursor` of the previous page.")
    ] = None,
) -> Any:
    """Live posts by the users the caller follows, newest first, cursor-paginated."""
    rows = store.list_following(user_id, limit + 1, before_id=_before(cursor))
    return _page(rows, limit)


@router.get("/posts/{post_id}", response_model=PostOut, responses=_E401 | _E404, tags=["posts"])
def read_post(post_id: PostId, store: StoreDep, _user: UserDep) -> Any:
    """Read one post; counts as one view."""
    post = store.read_post(post_id)
    if post is None:
        raise HTTPException(status_code=404, detail="post not found")
    return post


@router.post(
    "/posts",
    response_model=PostOut,
    status_code=201,
    responses=_LOCATION | _E401,
    tags=["posts"],
)
def create_post(
    body: PostIn,
    response: Response,
    store: StoreDep,
    user_id: UserDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Publish a post as the caller (``quote_of``: quoting another live post); the
    ``Location`` header points at it."""
    return _published(
        response,
        "quoted post not found",
        lambda: store.create_post(
            user_id, body.content, idempotency_key, tag=body.tag, quote_of=body.quote_of
        ),
    )


@router.post(
    "/posts/{post_id}/repost",
    response_model=PostOut,
    status_code=201,
    responses=_LOCATION | _E401 | _E404,
    tags=["social"],
)
def repost(
    post_id: PostId,
    response: Response,
    store: StoreDep,
    user_id: UserDep,
    body: RepostIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Repost a live post as the caller: a new post referring to it (same tag)."""
    content = body.content if body is not None else ""
    return _published(
        response,
        "post not found",
        lambda: store.create_post(user_id, content, idempotency_key, repost_of=post_id),
    )


@router.post(
    "/posts/{post_id}/like",
    response_model=PostOut,
    status_code=201,
    responses=_E401 | _E404 | {409: {"model": ErrorOut, "description": "Already liked"}},
    tags=["social"],
)
def like_post(post_id: PostId, store: StoreDep, user_id: UserDep) -> Any:
    """Like a live post (once per user); returns the post with its new like count."""
    change = store.like_post(post_id, user_id)
    if change.outcome is Outcome.NOT_FOUND:
        raise HTTPException(status_code=404, detail="post not found")
    if change.outcome is Outcome.CONFLICT:
        raise HTTPException(status_code=409, detail="you already liked this post")
    return change.post


_FOLLOW_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "No such user (or no such follow)"},
    409: {"model": ErrorOut, "description": "Already following"},
    422: {"model": ErrorOut, "description": "Following oneself"},
}


@router.post(
    "/users/{user_id}/follow",
    response_model=FollowOut,
    status_code=201,
    responses=_E401 | _FOLLOW_ERRORS,
    tags=["social"],
)
def follow(user_id: UserId, store: StoreDep, me: UserDep) -> Any:
    """Follow a user (not oneself, not twice)."""
    outcome, followers = store.follow(me, user_id)
    if outcome is Outcome.NOT_FOUND:
        raise HTTPException(status_code=404, detail="user not found")
    if outcome is Outcome.INVALID:
        raise HTTPException(status_code=422, detail="you cannot follow yourself")
    if outcome is Outcome.CONFLICT:
        raise HTTPException(status_code=409, detail="you already follow this user")
    return {"follower_id": me, "followee_id": user_id, "followers": followers}


@router.delete(
    "/users/{user_id}/follow",
    status_code=204,
    response_class=Response,
    responses=_E401 | _E404,
    tags=["social"],
)
def unfollow(user_id: UserId, store: StoreDep, me: UserDep) -> Response:
    """Stop following a user (404 if the caller does not follow them)."""
    if store.unfollow(me, user_id) is not Outcome.OK:
        raise HTTPException(status_code=404, detail="you do not follow this user")
    return Response(status_code=204)


def _changed_or_raise(outcome: Outcome) -> None:
    if outcome is Outcome.NOT_FOUND:
        raise HTTPException(status_code=404, detail="post not found")
    if outcome is Outcome.FORBIDDEN:
        raise HTTPException(status_code=403, detail="only the author may change this post")


@router.put(
    "/posts/{post_id}",
    response_model=PostOut,
    responses=_E401 | _E403 | _E404,
    tags=["posts"],
)
def update_post(
    post_id: PostId,
    body: PostIn,
    store: StoreDep,
    user_id: UserDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Replace the content of one of the caller's posts (a replayed key applies once)."""
    try:
        change = store.update_post(post_id, user_id, body.content, idempotency_key)
    except IdempotencyConflictError as exc:
        raise _conflict(str(exc)) from exc
    _changed_or_raise(change.outcome)
    return change.post


@router.delete(
    "/posts/{post_id}",
    status_code=204,
    response_class=Response,
    responses=_E401 | _E403 | _E404,
    tags=["posts"],
)
def delete_post(post_id: PostId, store: StoreDep, user_id: UserDep) -> Response:
    """Delete one of the caller's posts."""
    change = store.delete_post(post_id, user_id)
    _changed_or_raise(change.outcome)
    return Response(status_code=204)


def create_app(
    db_path: str | pathlib.Path = DEFAULT_DB,
    *,
    max_body: int = DEFAULT_MAX_BODY,
    busy_timeout: float = 2.0,
    idempotency_ttl: float = IDEMPOTENCY_TTL_SECONDS,
) -> FastAPI:
    """Build the reference app over the SQLite database at ``db_path`` (created 0600 if
    missing). ``max_body``: the largest request body in bytes (larger: 413);
    ``busy_timeout``: seconds to wait for a locked database before answering 503;
    ``idempotency_ttl``: seconds an Idempotency-Key is remembered."""
    store = Store(db_path, busy_timeout=busy_timeout, idempotency_ttl=idempotency_ttl)
    store.open()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        store.open()
        try:
            yield
        finally:
            store.close()

    app = FastAPI(
        title="simcore reference social app",
        version="1.0.0",
        description="Users, bearer tokens and posts over SQLite: the target simcore drives.",
        lifespan=lifespan,
    )
    app.state.store = store
    app.include_router(router)
    install_guards(app, max_body)
    return app


def app_from_env() -> FastAPI:
    """``uvicorn --factory`` entry point: the DB path comes from ``$SIMCORE_APP_DB``, the
    body limit in bytes from ``$SIMCORE_APP_MAX_BODY``, how long Idempotency-Keys are
    remembered (seconds) from ``$SIMCORE_APP_KEY_TTL``."""
    max_body = os.environ.get(MAX_BODY_ENV_VAR)
    ttl = os.environ.get(KEY_TTL_ENV_VAR)
    return create_app(
        os.environ.get(DB_ENV_VAR, DEFAULT_DB),
        max_body=int(max_body) if max_body else DEFAULT_MAX_BODY,
        idempotency_ttl=float(ttl) if ttl else IDEMPOTENCY_TTL_SECONDS,
    )
