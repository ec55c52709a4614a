"""SQLite access for the reference social app.

One :class:`Store` wraps one ``sqlite3`` connection (WAL, ``synchronous=NORMAL``, foreign
keys on) guarded by a :class:`threading.Lock`. Every statement is parameterised; every
write runs in its own ``BEGIN IMMEDIATE`` … ``COMMIT`` transaction, so several processes
may share one database file.

Idempotency keys are stored with a fingerprint of the request and a snapshot of the
original response body, so a retried request is answered with exactly the first answer.
"""

from __future__ import annotations

import json
import pathlib
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .records import (
    POST_COLUMNS,
    SCHEMA,
    SIGNUP_SCOPE,
    TOKEN_CACHE_MAX,
    Change,
    IdempotencyConflictError,
    Outcome,
    PostRecord,
    UserRecord,
    fingerprint,
    now,
    post_record,
)

__all__ = [
    "Change",
    "IdempotencyConflictError",
    "Outcome",
    "PostRecord",
    "Store",
    "UserRecord",
    "fingerprint",
]


class Store:
    """The app's persistence: users, posts and idempotency records in one SQLite file."""

    def __init__(self, db_path: str | pathlib.Path) -> None:
        """Remember the path; the connection is opened by :meth:`open` (or lazily)."""
        self.db_path = str(db_path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._tokens: dict[str, int] = {}

    # -- lifecycle -------------------------------------------------------------------

    def open(self) -> None:
        """Open the connection, set the pragmas and create the schema if missing."""
        with self._lock:
            self._connect()

    def close(self) -> None:
        """Close the connection (a later call reopens it)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self.db_path, check_same_thread=False, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=5000")
            conn.executescript(SCHEMA)
            self._conn = conn
        return self._conn

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._connect()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock and run the body in one immediate transaction."""
        with self._lock:
            conn = self._connect()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # -- idempotency -----------------------------------------------------------------

    @staticmethod
    def _replay(
        conn: sqlite3.Connection, scope: str, key: str | None, digest: str
    ) -> dict[str, Any] | None:
        if key is None:
            return None
        row = conn.execute(
            "SELECT fingerprint, response FROM idempotency WHERE scope = ? AND key = ?",
            (scope, key),
        ).fetchone()
        if row is None:
            return None
        if row["fingerprint"] != digest:
            raise IdempotencyConflictError(key)
        body: dict[str, Any] = json.loads(row["response"])
        return body

    @staticmethod
    def _remember(
        conn: sqlite3.Connection, scope: str, key: str | None, digest: str, body: dict[str, Any]
    ) -> None:
        if key is None:
            return
        conn.execute(
            "INSERT INTO idempotency (scope, key, fingerprint, response, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (scope, key, digest, json.dumps(body, ensure_ascii=False), now()),
        )

    # -- users -----------------------------------------------------------------------

    def create_user(
        self, name: str, external_id: int | None, idempotency_key: str | None = None
    ) -> UserRecord:
        """Sign a user up and return ``{id, name, token}``.

        With an idempotency key already seen, return the first answer and create nothing;
        raise :class:`IdempotencyConflictError` if the key came with another request.
        """
        digest = fingerprint("POST /users", name, external_id)
        with self._write() as conn:
            replay = self._replay(conn, SIGNUP_SCOPE, idempotency_key, digest)
            if replay is not None:
                return replay
            token = secrets.token_urlsafe(32)
            cur = conn.execute(
                "INSERT INTO users (name, external_id, token, created_at) VALUES (?, ?, ?, ?)",
                (name, external_id, token, now()),
            )
            user: UserRecord = {"id": cur.lastrowid, "name": name, "token": token}
            self._remember(conn, SIGNUP_SCOPE, idempotency_key, digest, user)
            return user

    def user_for_token(self, token: str) -> int | None:
        """Return the id of the user holding ``token``, or ``None``."""
        cached = self._tokens.get(token)
        if cached is not None:
            return cached
        with self._read() as conn:
            row = conn.execute("SELECT id FROM users WHERE token = ?", (token,)).fetchone()
        if row is None:
            return None
        user_id = int(row["id"])
        if len(self._tokens) >= TOKEN_CACHE_MAX:
            self._tokens.clear()
        self._tokens[token] = user_id
        return user_id

    # -- posts -----------------------------------------------------------------------

    def create_post(
        self,
        author_id: int,
        content: str,
        idempotency_key: str | None = None,
        tag: str | None = None,
        quote_of: int | None = None,
        repost_of: int | None = None,
    ) -> PostRecord | None:
        """Create a post by ``author_id`` and return it (or replay an idempotent retry).

        A quote or repost of a post that is missing or deleted creates nothing: ``None``.
        """
        digest = fingerprint("POST /posts", content, tag, quote_of, repost_of)
        scope = f"posts:{author_id}"
        with self._write() as conn:
            replay = self._replay(conn, scope, idempotency_key, digest)
            if replay is not None:
                return replay
            ref = quote_of if quote_of is not None else repost_of
            if ref is not None:
                column = "quotes" if quote_of is not None else "reposts"
                found = conn.execute(
                    f"UPDATE posts SET {column} = {column} + 1 WHERE id = ? AND deleted = 0"
                    " RETURNING tag",
                    (ref,),
                ).fetchone()
                if found is None:
                    return None
                tag = found["tag"] if tag is None else tag
            row = conn.execute(
                "INSERT INTO posts (author_id, content, created_at, tag, quote_of, repost_of)"
                f" VALUES (?, ?, ?, ?, ?, ?) RETURNING {POST_COLUMNS}",
                (author_id, content, now(), tag, quote_of, repost_of),
            ).fetchone()
            post = post_record(row)
            self._remember(conn, scope, idempotency_key, digest, post)
            return post

    def like_post(self, post_id: int, user_id: int) -> Change:
        """Like a live post once: OK (with the post), CONFLICT if liked before, NOT_FOUND."""
        with self._write() as conn:
            live = conn.execute("SELECT 1 FROM posts WHERE id = ? AND deleted = 0", (post_id,))
            if live.fetchone() is None:
                return Change(Outcome.NOT_FOUND)
            added = conn.execute(
                "INSERT OR IGNORE INTO likes (user_id, post_id, created_at) VALUES (?, ?, ?)",
                (user_id, post_id, now()),
            ).rowcount
            if added == 0:
                return Change(Outcome.CONFLICT)
            row = conn.execute(
                f"UPDATE posts SET likes = likes + 1 WHERE id = ? RETURNING {POST_COLUMNS}",
                (post_id,),
            ).fetchone()
            return Change(Outcome.OK, post_record(row))

    def follow(self, follower_id: int, followee_id: int) -> tuple[Outcome, int]:
        """Follow a user: (OK, the followee's follower count), or CONFLICT if already,
        NOT_FOUND for no such user, INVALID for oneself (with count 0)."""
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM users WHERE id = ?", (followee_id,)).fetchone() is None:
                return Outcome.NOT_FOUND, 0
            if follower_id == followee_id:
                return Outcome.INVALID, 0
            added = conn.execute(
                "INSERT OR IGNORE INTO follows (follower_id, followee_id, created_at) VALUES (?, ?, ?)",
                (follower_id, followee_id, now()),
            ).rowcount
            if not added:
                return Outcome.CONFLICT, 0
            followers = conn.execute(
                "SELECT COUNT(*) FROM follows WHERE followee_id = ?", (followee_id,)
            ).fetchone()[0]
            return Outcome.OK, int(followers)

    def unfollow(self, follower_id: int, followee_id: int) -> Outcome:
        """Remove a follow: OK, or NOT_FOUND when there is none."""
        with self._write() as conn:
            gone = conn.execute(
                "DELETE FROM follows WHERE follower_id = ? AND followee_id = ?",
                (follower_id, followee_id),
            ).rowcount
            return Outcome.OK if gone else Outcome.NOT_FOUND

    def list_following(self, user_id: int, limit: int, before_id: int | None = None) -> list[PostRecord]:
        """Live posts by the users ``user_id`` follows, newest first, ids below ``before_id``."""
        sql = (
            f"SELECT {POST_COLUMNS} FROM posts WHERE deleted = 0 AND author_id IN"
            " (SELECT followee_id FROM follows WHERE follower_id = ?)"
        )
        params: list[int] = [user_id]
        if before_id is not None:
            sql += " AND id < ?"
            params.append(before_id)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        with self._read() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [post_record(row) for row in rows]

    def read_post(self, post_id: int) -> PostRecord | None:
        """Count one view of a live post and return it; ``None`` if missing or deleted."""
        with self._write() as conn:
            row = conn.execute(
                "UPDATE posts SET views = views + 1 WHERE id = ? AND deleted = 0"
                f" RETURNING {POST_COLUMNS}",
                (post_id,),
            ).fetchone()
            return None if row is None else post_record(row)

    def list_posts(
        self,
        limit: int,
        before_id: int | None = None,
        author_id: int | None = None,
        tag: str | None = None,
    ) -> list[PostRecord]:
        """Return up to ``limit`` live posts, newest first, with ids below ``before_id``."""
        sql = f"SELECT {POST_COLUMNS} FROM posts WHERE deleted = 0"
        params: list[int | str] = []
        if tag is not None:
            sql += " AND tag = ?"
            params.append(tag)
        if before_id is not None:
            sql += " AND id < ?"
            params.append(before_id)
        if author_id is not None:
            sql += " AND author_id = ?"
            params.append(author_id)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        with self._read() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [post_record(row) for row in rows]

    def _owned(self, conn: sqlite3.Connection, post_id: int, user_id: int) -> Outcome:
        row = conn.execute(
            "SELECT author_id FROM posts WHERE id = ? AND deleted = 0", (post_id,)
        ).fetchone()
        if row is None:
            return Outcome.NOT_FOUND
        return Outcome.OK if row["author_id"] == user_id else Outcome.FORBIDDEN

    def update_post(self, post_id: int, user_id: int, content: str) -> Change:
        """Replace a post's content if ``user_id`` wrote it: bumps version and updated_at."""
        with self._write() as conn:
            outcome = self._owned(conn, post_id, user_id)
            if outcome is not Outcome.OK:
                return Change(outcome)
            row = conn.execute(
                "UPDATE posts SET content = ?, updated_at = ?, version = version + 1"
                f" WHERE id = ? RETURNING {POST_COLUMNS}",
                (content, now(), post_id),
            ).fetchone()
            return Change(Outcome.OK, post_record(row))

    def delete_post(self, post_id: int, user_id: int) -> Change:
        """Soft-delete a post if ``user_id`` wrote it; a deleted post behaves as gone."""
        with self._write() as conn:
            outcome = self._owned(conn, post_id, user_id)
            if outcome is Outcome.OK:
                conn.execute(
                    "UPDATE posts SET deleted = 1, updated_at = ? WHERE id = ?", (now(), post_id)
                )
            return Change(outcome)
