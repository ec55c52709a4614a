"""A Medium-like API that was not written for simcore, for the third-party API tests.

Shaped like the RealWorld ("Conduit") API, with the habits that make third-party
APIs hard to drive:

- nested JSON bodies and answers: ``{"user": {...}}``, ``{"article": {...}}``;
- users addressed by username, articles by a string slug that CHANGES on every
  edit (the old slug is a 404 afterwards);
- a ``Token`` auth prefix (``Authorization: Token …``; ``Bearer`` is a 401);
- a NON-idempotent sign-up: a repeat answers 422 "has already been taken", and a
  ``/api/users/login`` endpoint hands out the user's token again;
- likes (favorites) and follows answer 409 when they were already made;
- comments under an article;
- its own SQLite database file, so a second run meets the first one's users.

Writes of articles and comments (create, edit, delete) honour ``Idempotency-Key``,
as many payment-style APIs do: a retry gets the first answer again. Nothing else
does.

``create_app(db)`` builds the app over the SQLite file ``db``;
``app_from_env()`` (``--app tests.support.medium_api:app_from_env``) reads the
file's path from ``MEDIUM_API_DB``. :data:`ROUTES` is the routes table simcore
drives it with (README, "A worked example: a Medium-like API").
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
import threading
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse, Response

ROUTES = """
[backend]
auth_format = "Token {token}"          # Authorization: Token <jwt>

[backend.routes]
# {run} is this run's namespace: a re-run against the same database signs up new users
sign_up = { method = "POST", path = "/api/users", body = { user = { username = "u{user}-{run}", email = "u{user}-{run}@example.test", password = "pw-{user}-{run}" } }, id = "user.username", token = "user.token", exists = [422] }
# a sign-up answered 422 (the user exists: its first answer was lost) logs the user in instead
log_in = { method = "POST", path = "/api/users/login", body = { user = { email = "u{user}-{run}@example.test", password = "pw-{user}-{run}" } }, id = "user.username", token = "user.token" }
browse_feed = { method = "GET", path = "/api/articles?limit=20" }
read_post = { method = "GET", path = "/api/articles/{id}" }
create_post = { method = "POST", path = "/api/articles", body = { article = { title = "{title}", description = "by {name}", body = "{content}", tagList = ["{tag}"] } }, id = "article.slug" }
# an edit changes the slug: id re-learns it from the answer
update_post = { method = "PUT", path = "/api/articles/{id}", body = { article = { body = "{content}" } }, id = "article.slug" }
delete_post = { method = "DELETE", path = "/api/articles/{id}" }
# "already favorited" (a retry whose first answer was lost) is a success
like_post = { method = "POST", path = "/api/articles/{id}/favorite", ok = [409] }
repost = { method = "POST", path = "/api/articles", body = { article = { repostOf = "{ref_id}" } }, id = "article.slug" }
quote_post = { method = "POST", path = "/api/articles", body = { article = { title = "{title}", body = "{content}", quoteOf = "{ref_id}" } }, id = "article.slug" }
follow_user = { method = "POST", path = "/api/profiles/{target_id}/follow", ok = [409] }
unfollow_user = { method = "DELETE", path = "/api/profiles/{target_id}/follow", ok = [404] }
browse_following = { method = "GET", path = "/api/articles/feed?limit=20" }
# a kind of the API's own: a comment picks an article as a quote does, and makes no post
comment = { method = "POST", path = "/api/articles/{ref_id}/comments", body = { comment = { body = "{content}" } } }

[kinds.comment]
behaves_as = "quote_post"

[profiles.chatterbox.weights.relaxing]
comment = 1.5
[profiles.chatterbox.weights.working]
comment = 1.0
[profiles.content_curator.weights.relaxing]
comment = 0.8
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY, email TEXT UNIQUE NOT NULL, password TEXT NOT NULL, token TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS articles (
    id INTEGER PRIMARY KEY, slug TEXT UNIQUE NOT NULL, author TEXT NOT NULL, title TEXT NOT NULL,
    body TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 1, deleted INTEGER NOT NULL DEFAULT 0,
    quote_of INTEGER, repost_of INTEGER
);
CREATE TABLE IF NOT EXISTS favorites (username TEXT, article INTEGER, PRIMARY KEY (username, article));
CREATE TABLE IF NOT EXISTS follows (follower TEXT, followee TEXT, PRIMARY KEY (follower, followee));
CREATE TABLE IF NOT EXISTS comments (id INTEGER PRIMARY KEY, article INTEGER, author TEXT, body TEXT);
CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, status INTEGER, body TEXT);
"""


def _slug(text: str, article: int, version: int) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40].strip("-") or "article"
    return f"{words}-{article}" + (f"-v{version}" if version > 1 else "")


def _error(status: int, field: str, message: str) -> JSONResponse:
    return JSONResponse({"errors": {field: [message]}}, status_code=status)


class _Db:
    """The app's SQLite database (one connection, serialised)."""

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.executescript(SCHEMA)
        self.lock = threading.Lock()

    def all(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with self.lock:
            return self.conn.execute(sql, args).fetchall()

    def one(self, sql: str, *args: Any) -> tuple[Any, ...] | None:
        rows = self.all(sql, *args)
        return rows[0] if rows else None

    def run(self, sql: str, *args: Any) -> int:
        with self.lock:
            return int(self.conn.execute(sql, args).lastrowid or 0)


def create_app(db_path: str | Path) -> FastAPI:
    """The API over the SQLite file ``db_path`` (created if missing)."""
    db = _Db(str(db_path))
    app = FastAPI(title="medium-like API")

    def who(authorization: str | None) -> str | None:
        if not authorization or not authorization.startswith("Token "):
            return None
        row = db.one("SELECT username FROM users WHERE token = ?", authorization[6:])
        return None if row is None else str(row[0])

    def unauthorized() -> JSONResponse:
        return _error(401, "token", "is missing or invalid (use 'Authorization: Token <token>')")

    def article_json(row: tuple[Any, ...]) -> dict[str, Any]:
        aid, slug, author, title, body, version, _deleted, quote_of, repost_of = row
        count = db.one("SELECT COUNT(*) FROM favorites WHERE article = ?", aid)
        return {
            "slug": slug,
            "title": title,
            "body": body,
            "author": {"username": author},
            "version": version,
            "favoritesCount": count[0] if count else 0,
            "quoteOf": quote_of,
            "repostOf": repost_of,
        }

    def live(slug: str) -> tuple[Any, ...] | None:
        return db.one("SELECT * FROM articles WHERE slug = ? AND deleted = 0", slug)

    async def replayed(user: str, key: str | None, make: Any) -> Response:
        """Answer a write once per Idempotency-Key: a retry gets the first answer again."""
        scoped = f"{user}:{key}" if key else None
        if scoped is not None:
            seen = db.one("SELECT status, body FROM replies WHERE key = ?", scoped)
            if seen is not None:
                return Response(seen[1], status_code=seen[0], media_type="application/json")
        status, body = make()
        text = json.dumps(body) if body is not None else ""
        if scoped is not None and status < 500:
            db.run("INSERT INTO replies (key, status, body) VALUES (?, ?, ?)", scoped, status, text)
        return Response(text, status_code=status, media_type="application/json")

    @app.post("/api/users")
    async def sign_up(request: Request) -> Response:
        user = (await request.json()).get("user") or {}
        name, email, password = user.get("username"), user.get("email"), user.get("password")
        if not name or not email or not password:
            return _error(422, "user", "needs username, email and password")
        if db.one("SELECT 1 FROM users WHERE username = ? OR email = ?", name, email):
            return _error(422, "username", "has already been taken")
        token = secrets.token_urlsafe(16)
        db.run("INSERT INTO users VALUES (?, ?, ?, ?)", name, email, password, token)
        return JSONResponse({"user": {"username": name, "email": email, "token": token}}, 201)

    @app.post("/api/users/login")
    async def log_in(request: Request) -> Response:
        user = (await request.json()).get("user") or {}
        row = db.one(
            "SELECT username, email, token FROM users WHERE email = ? AND password = ?",
            user.get("email"),
            user.get("password"),
        )
        if row is None:
            return _error(401, "email or password", "is invalid")
        return JSONResponse({"user": {"username": row[0], "email": row[1], "token": row[2]}})

    @app.get("/api/articles")
    async def articles(limit: int = 20, authorization: str | None = Header(None)) -> Response:
        if who(authorization) is None:
            return unauthorized()
        rows = db.all("SELECT * FROM articles WHERE deleted = 0 ORDER BY id DESC LIMIT ?", limit)
        return JSONResponse({"articles": [article_json(r) for r in rows], "articlesCount": len(rows)})

    @app.get("/api/articles/feed")
    async def feed(limit: int = 20, authorization: str | None = Header(None)) -> Response:
        me = who(authorization)
        if me is None:
            return unauthorized()
        rows = db.all(
            "SELECT a.* FROM articles a JOIN follows f ON f.followee = a.author "
            "WHERE f.follower = ? AND a.deleted = 0 ORDER BY a.id DESC LIMIT ?",
            me,
            limit,
        )
        return JSONResponse({"articles": [article_json(r) for r in rows], "articlesCount": len(rows)})

    @app.post("/api/articles")
    async def create(
        request: Request,
        authorization: str | None = Header(None),
        idempotency_key: str | None = Header(None),
    ) -> Response:
        me = who(authorization)
        if me is None:
            return unauthorized()
        article = (await request.json()).get("article") or {}

        def make() -> tuple[int, Any]:
            quote_of = repost_of = None
            for key in ("quoteOf", "repostOf"):
                if article.get(key) is not None:
                    original = live(str(article[key]))
                    if original is None:
                        return 404, {"errors": {key: ["no such article"]}}
                    quote_of, repost_of = (
                        (original[0], None) if key == "quoteOf" else (None, original[0])
                    )
            title = article.get("title") or f"repost by {me}"
            body = article.get("body") or ""
            aid = db.run(
                "INSERT INTO articles (slug, author, title, body, quote_of, repost_of) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                secrets.token_hex(8),
                me,
                title,
                body,
                quote_of,
                repost_of,
            )
            db.run("UPDATE articles SET slug = ? WHERE id = ?", _slug(title, aid, 1), aid)
            row = db.one("SELECT * FROM articles WHERE id = ?", aid)
            assert row is not None
            return 201, {"article": article_json(row)}

        return await replayed(me, idempotency_key, make)

    @app.get("/api/articles/{slug}")
    async def read(slug: str, authorization: str | None = Header(None)) -> Response:
        if who(authorization) is None:
            return unauthorized()
        row = live(slug)
        if row is None:
            return _error(404, "article", "not found")
        return JSONResponse({"article": article_json(row)})

    @app.put("/api/articles/{slug}")
    async def edit(
        slug: str,
        request: Request,
        authorization: str | None = Header(None),
        idempotency_key: str | None = Header(None),
    ) -> Response:
        me = who(authorization)
        if me is None:
            return unauthorized()
        body = ((await request.json()).get("article") or {}).get("body", "")

        def make() -> tuple[int, Any]:
            row = live(slug)
            if row is None:
                return 404, {"errors": {"article": ["not found"]}}
            if row[2] != me:
                return 403, {"errors": {"article": ["is not yours"]}}
            version = row[5] + 1
            new_slug = _slug(body, row[0], version)
            db.run(
                "UPDATE articles SET body = ?, version = ?, slug = ? WHERE id = ?",
                body,
                version,
                new_slug,
                row[0],
            )
            fresh = db.one("SELECT * FROM articles WHERE id = ?", row[0])
            assert fresh is not None
            return 200, {"article": article_json(fresh)}

        return await replayed(me, idempotency_key, make)

    @app.delete("/api/articles/{slug}")
    async def delete(
        slug: str, authorization: str | None = Header(None), idempotency_key: str | None = Header(None)
    ) -> Response:
        me = who(authorization)
        if me is None:
            return unauthorized()

        def make() -> tuple[int, Any]:
            row = live(slug)
            if row is None:
                return 404, {"errors": {"article": ["not found"]}}
            if row[2] != me:
                return 403, {"errors": {"article": ["is not yours"]}}
            db.run("UPDATE articles SET deleted = 1 WHERE id = ?", row[0])
            return 204, None

        return await replayed(me, idempotency_key, make)

    @app.post("/api/articles/{slug}/favorite")
    async def favorite(slug: str, authorization: str | None = Header(None)) -> Response:
        me = who(authorization)
        if me is None:
            return unauthorized()
        row = live(slug)
        if row is None:
            return _error(404, "article", "not found")
        if db.one("SELECT 1 FROM favorites WHERE username = ? AND article = ?", me, row[0]):
            return _error(409, "article", "already favorited")
        db.run("INSERT INTO favorites VALUES (?, ?)", me, row[0])
        fresh = live(slug)
        assert fresh is not None
        return JSONResponse({"article": article_json(fresh)})

    @app.post("/api/articles/{slug}/comments")
    async def comment(
        slug: str,
        request: Request,
        authorization: str | None = Header(None),
        idempotency_key: str | None = Header(None),
    ) -> Response:
        me = who(authorization)
        if me is None:
            return unauthorized()
        text = ((await request.json()).get("comment") or {}).get("body", "")

        def make() -> tuple[int, Any]:
            row = live(slug)
            if row is None:
                return 404, {"errors": {"article": ["not found"]}}
            cid = db.run(
                "INSERT INTO comments (article, author, body) VALUES (?, ?, ?)", row[0], me, text
            )
            return 201, {"comment": {"id": cid, "body": text, "author": {"username": me}}}

        return await replayed(me, idempotency_key, make)

    @app.get("/api/articles/{slug}/comments")
    async def comments(slug: str, authorization: str | None = Header(None)) -> Response:
        if who(authorization) is None:
            return unauthorized()
        row = live(slug)
        if row is None:
            return _error(404, "article", "not found")
        rows = db.all("SELECT id, author, body FROM comments WHERE article = ? ORDER BY id", row[0])
        return JSONResponse(
            {"comments": [{"id": i, "author": {"username": a}, "body": b} for i, a, b in rows]}
        )

    @app.post("/api/profiles/{username}/follow")
    async def follow(username: str, authorization: str | None = Header(None)) -> Response:
        me = who(authorization)
        if me is None:
            return unauthorized()
        if db.one("SELECT 1 FROM users WHERE username = ?", username) is None:
            return _error(404, "profile", "not found")
        if username == me:
            return _error(422, "profile", "cannot follow yourself")
        if db.one("SELECT 1 FROM follows WHERE follower = ? AND followee = ?", me, username):
            return _error(409, "profile", "already followed")
        db.run("INSERT INTO follows VALUES (?, ?)", me, username)
        return JSONResponse({"profile": {"username": username, "following": True}})

    @app.delete("/api/profiles/{username}/follow")
    async def unfollow(username: str, authorization: str | None = Header(None)) -> Response:
        me = who(authorization)
        if me is None:
            return unauthorized()
        if not db.one("SELECT 1 FROM follows WHERE follower = ? AND followee = ?", me, username):
            return _error(404, "profile", "not followed")
        db.run("DELETE FROM follows WHERE follower = ? AND followee = ?", me, username)
        return JSONResponse({"profile": {"username": username, "following": False}})

    return app


def app_from_env() -> FastAPI:
    """The app over the database file named by ``MEDIUM_API_DB`` (for ``--app``)."""
    path = os.environ.get("MEDIUM_API_DB")
    if not path:
        raise RuntimeError("set MEDIUM_API_DB to the SQLite file the app keeps its data in")
    return create_app(path)


def read_db(db_path: str | Path) -> dict[str, Any]:
    """The database's contents, for comparing with a run's log."""
    with sqlite3.connect(str(db_path)) as conn:
        return {
            "users": [r[0] for r in conn.execute("SELECT username FROM users")],
            "articles": conn.execute(
                "SELECT id, slug, author, deleted, version, body, quote_of, repost_of FROM articles"
            ).fetchall(),
            "favorites": conn.execute("SELECT username, article FROM favorites").fetchall(),
            "follows": conn.execute("SELECT follower, followee FROM follows").fetchall(),
            "comments": conn.execute("SELECT article, author, body FROM comments").fetchall(),
        }
