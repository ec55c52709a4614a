"""SQLite access for the reference social app.

One :class:`Store` wraps one ``sqlite3`` connection (WAL, ``synchronous=NORMAL``, foreign
keys on) guarded by a :class:`threading.Lock`. Every statement is parameterised; every
write runs in its own ``BEGIN IMMEDIATE`` … ``COMMIT`` transaction, so several processes
may share one database file. The methods block (the app calls them from worker threads);
a database locked for longer than ``busy_timeout`` raises :class:`StoreBusyError`.
The database files are created readable by their owner only (0600).

Bearer tokens are kept only as SHA-256 digests. Idempotency keys are scoped to who
sent them (a user, or for sign-ups the client's address), kept as digests with a
fingerprint of the request and the first answer, and forgotten after ``idempotency_ttl``
seconds. A replayed sign-up is answered with the same token, derived again from a
server secret, the key, the client and the user id (the token is never stored).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import pathlib
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .dbfile import create_private, migrate_plain_tokens
from .records import (
    IDEMPOTENCY_TTL_SECONDS,
    POST_COLUMNS,
    SCHEMA,
    TOKEN_CACHE_MAX,
    Change,
    IdempotencyConflictError,
    Outcome,
    PostRecord,
    StoreBusyError,
    UserRecord,
    ago,
    fingerprint,
    key_digest,
    now,
    post_record,
    token_digest,
)

__all__ = [
    "Change",
    "IdempotencyConflictError",
    "Outcome",
    "PostRecord",
    "Store",
    "StoreBusyError",
    "UserRecord",
    "fingerprint",
]


class Store:
    """The app's persistence: users, posts and idempotency records in one SQLite file."""

    def __init__(
        self,
        db_path: str | pathlib.Path,
        busy_timeout: float = 2.0,
        idempotency_ttl: float = IDEMPOTENCY_TTL_SECONDS,
    ) -> None:
        """Remember the path; the connection is opened by :meth:`open` (or lazily)."""
        self.db_path = str(db_path)
        self.busy_timeout = busy_timeout
        self.idempotency_ttl = idempotency_ttl
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._tokens: dict[str, int] = {}
        self._secret = b""
        self._next_purge = 0.0

    # -- lifecycle -------------------------------------------------------------------

    def open(self) -> None:
        """Open the connection, set the pragmas and create the schema if missing."""
        with self._locked():
            self._connect()

    def close(self) -> None:
        """Close the connection (a later call reopens it)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            create_private(self.db_path)
            conn = sqlite3.connect(
                self.db_path, check_same_thread=False, isolation_level=None, timeout=self.busy_timeout
            )
            try:
                conn.row_factory = sqlite3.Row
                conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA foreign_keys=ON")
                migrate_plain_tokens(conn)
                conn.executescript(SCHEMA)
                conn.execute(
                    "INSERT OR IGNORE INTO app_meta (name, value) VALUES ('signup_secret', ?)",
                    (secrets.token_hex(32),),
                )
                row = conn.execute("SELECT value FROM app_meta WHERE name = 'signup_secret'").fetchone()
            except BaseException:
                conn.close()
                raise
            self._secret = bytes.fromhex(row["value"])
            self._conn = conn
        return self._conn

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the connection's lock, or raise :class:`StoreBusyError` after the busy timeout;
        SQLite's own "database is locked" becomes the same error."""
        if not self._lock.acquire(timeout=self.busy_timeout):
            raise StoreBusyError("the database is busy")
        try:
            yield
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreBusyError(str(exc)) from exc
            raise
        finally:
            self._lock.release()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._locked():
            yield self._connect()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock and run the body in one immediate transaction."""
        with self._locked():
            conn = self._connect()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # -- idempotency -----------------------------------------------------------------

    def _replay(
        self, conn: sqlite3.Connection, scope: str, key: str | None, digest: str
    ) -> dict[str, Any] | None:
        """The first answer to ``key`` in ``scope`` (None if unseen or expired); raise
        :class:`IdempotencyConflictError` if it came with another request."""
        if key is None:
            return None
        row = conn.execute(
            "SELECT fingerprint, response FROM idempotency WHERE scope = ? AND key = ? AND created_at > ?",
            (scope, key_digest(key), ago(self.idempotency_ttl)),
        ).fetchone()
        if row is None:
            return None
        if row["fingerprint"] != digest:
            raise IdempotencyConflictError(key)
        body: dict[str, Any] = json.loads(row["response"])
        return body

    def _remember(
        self, conn: sqlite3.Connection, scope: str, key: str | None, digest: str, body: dict[str, Any]
    ) -> None:
        if key is None:
            return
        conn.execute(
            "INSERT OR REPLACE INTO idempotency (scope, key, fingerprint, response, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (scope, key_digest(key), digest, json.dumps(body), now()),
        )
        if time.monotonic() >= self._next_purge:  # forget expired keys, at most once a few seconds
            self._next_purge = time.monotonic() + min(self.idempotency_ttl / 10, 30.0)
            conn.execute("DELETE FROM idempotency WHERE created_at <= ?", (ago(self.idempotency_ttl),))

    def idempotency_rows(self) -> int:
        """How many Idempotency-Keys are remembered (expired ones are purged as writes go on)."""
        with self._read() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM idempotency").fetchone()[0])

    def _signup_token(self, client: str, key: str, user_id: int) -> str:
        mac = hmac.new(
            self._secret, f"{client}\0{key}\0{user_id}".encode("utf-8", "surrogatepass"), hashlib.sha256
        )
        return base64.urlsafe_b64encode(mac.digest()).decode("ascii").rstrip("=")

    # -- users -----------------------------------------------------------------------

    def create_user(
        self,
        name: str,
        external_id: int | None,
        idempotency_key: str | None = None,
        client: str = "",
    ) -> UserRecord:
        """Sign a user up and return ``{id, name, token}``.

        A sign-up's Idempotency-Key is scoped to the ``client`` (its address): the same
        client retrying with the same key and body gets the first answer (the same user
        and token) and creates nothing; the same key with another body is an
        :class:`IdempotencyConflictError`; another client's key is another key.
        """
        digest = fingerprint("POST /users", name, external_id)
        scope = f"signup:{client}"
        with self._write() as conn:
            replay = self._replay(conn, scope, idempotency_key, digest)
            if replay is not None and idempotency_key is not None:
                token = self._signup_token(client, idempotency_key, int(replay["id"]))
                return {"id": replay["id"], "name": replay["name"], "token": token}
            placeholder = token_digest(secrets.token_urlsafe(32))
            cur = conn.execute(
                "INSERT INTO users (name, external_id, token_sha256, created_at) VALUES (?, ?, ?, ?)",
                (name, external_id, placeholder, now()),
            )
            user_id = int(cur.lastrowid or 0)
            if idempotency_key is None:
                token = secrets.token_urlsafe(32)
            else:
                token = self._signup_token(client, idempotency_key, user_id)
            conn.execute(
                "UPDATE users SET token_sha256 = ? WHERE id = ?", (token_digest(token), user_id)
            )
            self._remember(conn, scope, idempotency_key, digest, {"id": user_id, "name": name})
            return {"id": user_id, "name": name, "token": token}

    def user_for_token(self, token: str) -> int | None:
        """Return the id of the user holding ``token``, or ``None``."""
        digest = token_digest(token)
        cached = self._tokens.get(digest)
        if cached is not None:
            return cached
        with self._read() as conn:
            row = conn.execute("SELECT id FROM users WHERE token_sha256 = ?", (digest,)).fetchone()
        if row is None:
            return None
        user_id = int(row["id"])
        if len(self._tokens) >= TOKEN_CACHE_MAX:
            self._tokens.clear()
        self._tokens[digest] = user_id
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
        route = "POST /posts/{id}/repost" if repost_of is not None else "POST /posts"
        digest = fingerprint(route, content, tag, quote_of, repost_of)
        scope = f"user:{author_id}"
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

    def update_post(
        self, post_id: int, user_id: int, content: str, idempotency_key: str | None = None
    ) -> Change:
        """Replace a post's content if ``user_id`` wrote it: bumps version and updated_at.
        A replay of the same key and request answers the first edit's post again (applied once)."""
        digest = fingerprint("PUT /posts/{id}", post_id, content)
        scope = f"user:{user_id}"
        with self._write() as conn:
            replay = self._replay(conn, scope, idempotency_key, digest)
            if replay is not None:
                return Change(Outcome.OK, replay)
            outcome = self._owned(conn, post_id, user_id)
            if outcome is not Outcome.OK:
                return Change(outcome)
            row = conn.execute(
                "UPDATE posts SET content = ?, updated_at = ?, version = version + 1"
                f" WHERE id = ? RETURNING {POST_COLUMNS}",
                (content, now(), post_id),
            ).fetchone()
            post = post_record(row)
            self._remember(conn, scope, idempotency_key, digest, post)
            return Change(Outcome.OK, post)

    def delete_post(self, post_id: int, user_id: int) -> Change:
        """Soft-delete a post if ``user_id`` wrote it; a deleted post behaves as gone."""
        with self._write() as conn:
            outcome = self._owned(conn, post_id, user_id)
            if outcome is Outcome.OK:
                conn.execute(
                    "UPDATE posts SET deleted = 1, updated_at = ? WHERE id = ?", (now(), post_id)
                )
            return Change(outcome)
