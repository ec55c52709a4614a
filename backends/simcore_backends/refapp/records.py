"""The reference app's records: its SQLite schema, posts as JSON-ready dicts, and the
outcomes and idempotency fingerprints the :class:`~.store.Store` reports."""

from __future__ import annotations

import enum
import hashlib
import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    external_id INTEGER,
    token_sha256 TEXT   NOT NULL UNIQUE,
    created_at  TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS posts (
    id         INTEGER PRIMARY KEY,
    author_id  INTEGER NOT NULL REFERENCES users(id),
    content    TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    updated_at TEXT,
    version    INTEGER NOT NULL DEFAULT 1,
    views      INTEGER NOT NULL DEFAULT 0,
    deleted    INTEGER NOT NULL DEFAULT 0,
    tag        TEXT,
    repost_of  INTEGER REFERENCES posts(id),
    quote_of   INTEGER REFERENCES posts(id),
    likes      INTEGER NOT NULL DEFAULT 0,
    reposts    INTEGER NOT NULL DEFAULT 0,
    quotes     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS idx_posts_tag ON posts(tag, id) WHERE deleted = 0;
CREATE TABLE IF NOT EXISTS likes (
    user_id    INTEGER NOT NULL REFERENCES users(id),
    post_id    INTEGER NOT NULL REFERENCES posts(id),
    created_at TEXT    NOT NULL,
    PRIMARY KEY (user_id, post_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS follows (
    follower_id INTEGER NOT NULL REFERENCES users(id),
    followee_id INTEGER NOT NULL REFERENCES users(id),
    created_at  TEXT    NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_follows_followee ON follows(followee_id, follower_id);
CREATE INDEX IF NOT EXISTS idx_posts_author ON posts(author_id, id);
CREATE INDEX IF NOT EXISTS idx_posts_live ON posts(id) WHERE deleted = 0;
CREATE TABLE IF NOT EXISTS idempotency (
    scope       TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    response    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_idempotency_age ON idempotency(created_at);
CREATE TABLE IF NOT EXISTS app_meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
"""

POST_COLUMNS = (
    "id, author_id, content, created_at, updated_at, version, views,"
    " tag, repost_of, quote_of, likes, reposts, quotes"
)
TOKEN_CACHE_MAX = 100_000
#: How long an Idempotency-Key is remembered (retries come within seconds; a soak must not grow).
IDEMPOTENCY_TTL_SECONDS = 15 * 60
#: The largest id SQLite stores (ids at or above 2**63 are refused before any query).
MAX_ID = 2**63 - 1

PostRecord = dict[str, Any]
"""A post as a JSON-ready dict with the keys of the public post schema."""

UserRecord = dict[str, Any]
"""A signed-up user as a JSON-ready dict: ``id``, ``name``, ``token``."""


class Outcome(enum.Enum):
    """Why a change to a post did or did not happen."""

    OK = "ok"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    CONFLICT = "conflict"  # already liked / already following
    INVALID = "invalid"  # following oneself


class IdempotencyConflictError(Exception):
    """An ``Idempotency-Key`` was reused with a different request."""


class StoreBusyError(Exception):
    """The database stayed locked (by another process or a long transaction) past the busy timeout."""


def token_digest(token: str) -> str:
    """What the store keeps of a bearer token: its SHA-256. Tokens are 256 random bits, so a
    plain hash is enough (no salt or slow KDF: there is nothing to guess)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def key_digest(key: str) -> str:
    """What the store keeps of an Idempotency-Key: a hash (a key lets its holder replay)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Change:
    """The result of an update or delete: an outcome and, on success, the post."""

    outcome: Outcome
    post: PostRecord | None = None


def fingerprint(*parts: object) -> str:
    """Return a stable digest of a request's meaningful parts (for idempotency checks)."""
    raw = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def ago(seconds: float) -> str:
    """The time ``seconds`` ago, formatted as :func:`now` (so the two compare as text)."""
    return datetime.fromtimestamp(
        datetime.now(timezone.utc).timestamp() - seconds, timezone.utc
    ).isoformat(timespec="microseconds")


def post_record(row: sqlite3.Row) -> PostRecord:
    return {
        "id": row["id"],
        "author_id": row["author_id"],
        "content": row["content"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "version": row["version"],
        "views": row["views"],
        "tag": row["tag"],
        "repost_of": row["repost_of"],
        "quote_of": row["quote_of"],
        "likes": row["likes"],
        "reposts": row["reposts"],
        "quotes": row["quotes"],
    }
