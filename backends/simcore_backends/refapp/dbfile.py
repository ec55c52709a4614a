"""The reference app's database file: created private to its owner, and brought up to date
from older layouts."""

from __future__ import annotations

import os
import sqlite3
from contextlib import suppress

from .records import token_digest


def create_private(path: str) -> None:
    """Create the database file readable and writable by its owner only (SQLite gives its
    -wal and -shm files the database file's permissions)."""
    if path == ":memory:" or path.startswith("file:") or os.path.exists(path):
        return
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def migrate_plain_tokens(conn: sqlite3.Connection) -> None:
    """A database written before tokens were hashed: hash them in place and drop the stored
    idempotent answers (they held tokens in plain text)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(users)")}
    if "token" not in columns:
        return
    conn.create_function("token_digest", 1, token_digest, deterministic=True)
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("ALTER TABLE users RENAME COLUMN token TO token_sha256")
        conn.execute("UPDATE users SET token_sha256 = token_digest(token_sha256)")
        conn.execute("DROP TABLE IF EXISTS idempotency")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
