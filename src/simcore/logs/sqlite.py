"""The SQLite action log (``actions.sqlite``): the JSONL log's rows as integer codes.

One table ``actions`` of integer codes (seq is the primary key; tick, offset_ms,
user, profile, state, kind, post and ref (NULL if none), status, latency_ms,
attempts, error, ``sent_path`` (NULL: the reference path, as on the mock; '': nothing
was sent), ``sent_at`` and ``bytes`` (NULL where not recorded)), one insert transaction per batch, indexes on tick, user and post
(partial: non-NULL posts) built when the log is closed (building them while
inserting measured several times slower, RESULTS.md); a view ``actions_named``
shows exactly the JSONL columns (time, names, method, path); table ``log_meta``
holds the clock and names.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from numpy.typing import NDArray

from simcore.core.actions import ActionBatch, Spelling
from simcore.logs.fields import LogHeader, epoch_ms, logged_latency
from simcore.seam.contract import ERROR_NAMES, LogSink, Outcomes


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _case(column: str, names: Sequence[str | None], fallback: str) -> str:
    whens = " ".join(f"WHEN {i} THEN {'NULL' if n is None else _quote(n)}" for i, n in enumerate(names))
    return f"CASE {column} {whens} ELSE {fallback} END"


def named_view_sql(header: LogHeader) -> str:
    """The ``actions_named`` view: the JSONL log's columns computed from the coded table."""
    profiles, states = header.profile_names, header.state_names
    spelled = header.spelling
    path = _path_case(spelled)
    ms = f"({epoch_ms(header.start)} + tick * {header.tick_seconds * 1000} + offset_ms)"
    return f"""CREATE VIEW actions_named AS SELECT
    seq, tick,
    strftime('%Y-%m-%dT%H:%M:%S', {ms} / 1000, 'unixepoch') || '.' || printf('%03d', {ms} % 1000) AS time,
    user,
    {_case("profile", profiles, "CAST(profile AS TEXT)")} AS profile,
    {_case("state", states, "CAST(state AS TEXT)")} AS state,
    {_case("kind", spelled.names, "CAST(kind AS TEXT)")} AS action,
    {_case("kind", spelled.methods, "NULL")} AS method,
    {path} AS path,
    CASE WHEN sent_path IS NULL THEN {path} WHEN sent_path = '' THEN NULL
        ELSE sent_path END AS sent_path,
    post, ref, status, latency_ms, attempts,
    {_case("error", [None, *ERROR_NAMES[1:]], "CAST(error AS TEXT)")} AS error,
    sent_at, bytes
FROM actions"""


def _path_case(spelled: Spelling) -> str:
    """SQL for each kind's path, the ``{id}`` filled from ``post`` or ``ref`` (NULL if that is)."""
    whens = []
    for k, path in enumerate(spelled.paths):
        column = (None, "post", "ref")[spelled.path_id[k]]
        if column is None:
            whens.append(f"WHEN {k} THEN {_quote(path)}")
        else:
            head, tail = spelled.parts[k]
            expr = f"{_quote(head)} || {column}" + (f" || {_quote(tail)}" if tail else "")
            whens.append(f"WHEN {k} THEN {expr}")
    return f"CASE kind {' '.join(whens)} ELSE NULL END"


class SqliteSink(LogSink):
    """Inserts each batch into the ``actions`` table in one transaction; indexes on close."""

    COLUMNS = (
        "seq",
        "tick",
        "offset_ms",
        "user",
        "profile",
        "state",
        "kind",
        "post",
        "ref",
        "status",
        "latency_ms",
        "attempts",
        "error",
        "sent_path",
        "sent_at",
        "bytes",
    )
    INSERT = f"INSERT INTO actions ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"

    def __init__(
        self,
        path: Path,
        header: LogHeader,
        keep_before: int | None = None,
    ) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if keep_before is None:
            for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                p.unlink(missing_ok=True)
        self._db: sqlite3.Connection | None = sqlite3.connect(path, isolation_level=None)
        db = self._db
        # WAL: readers see every committed batch during the run, and a killed process loses
        # nothing committed. (A larger page cache made CREATE INDEX slower here, not faster: RESULTS.md.)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL"):
            db.execute(f"PRAGMA {pragma}")
        db.execute(
            "CREATE TABLE IF NOT EXISTS actions (seq INTEGER PRIMARY KEY, tick INTEGER NOT NULL, "
            "offset_ms INTEGER NOT NULL, user INTEGER NOT NULL, profile INTEGER NOT NULL, "
            "state INTEGER NOT NULL, kind INTEGER NOT NULL, post INTEGER, ref INTEGER, "
            "status INTEGER NOT NULL, latency_ms REAL NOT NULL, attempts INTEGER NOT NULL, "
            "error INTEGER NOT NULL, sent_path TEXT, sent_at INTEGER, bytes INTEGER)"
        )
        # a log continued from before a column was added: add it (NULL in the earlier rows)
        have = {row[1] for row in db.execute("PRAGMA table_info(actions)")}
        for column, kind in (
            ("ref", "INTEGER"),
            ("sent_path", "TEXT"),
            ("sent_at", "INTEGER"),
            ("bytes", "INTEGER"),
        ):
            if column not in have:
                db.execute(f"ALTER TABLE actions ADD COLUMN {column} {kind}")
        db.execute("CREATE TABLE IF NOT EXISTS log_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        meta = {
            "start": header.start.isoformat(),
            "start_ms": str(epoch_ms(header.start)),
            "tick_seconds": str(header.tick_seconds),
            "profiles": json.dumps(list(header.profile_names)),
            "states": json.dumps(list(header.state_names)),
            "kinds": json.dumps(list(header.kinds.names)),
        }
        db.executemany("INSERT OR REPLACE INTO log_meta VALUES (?, ?)", list(meta.items()))
        db.execute("DROP VIEW IF EXISTS actions_named")
        db.execute(named_view_sql(header))
        if keep_before is not None:
            db.execute("DELETE FROM actions WHERE seq >= ?", (keep_before,))

    def write(self, batch: ActionBatch, outcomes: Outcomes) -> None:
        """Insert one batch in one transaction."""
        if self._db is None:
            raise ValueError(f"the log {self.path} is closed")
        if len(batch) == 0:
            return
        post: NDArray[Any] = batch.post.astype(object)
        post[batch.post < 0] = None
        ref: NDArray[Any] = batch.ref.astype(object)
        ref[batch.ref < 0] = None
        n = len(batch)
        if outcomes.real:
            sent_path: list[Any] = ["" if p is None else p for p in outcomes.sent_path.tolist()]
            sent_at: NDArray[Any] = outcomes.sent_at.astype(object)
            sent_at[outcomes.sent_at <= 0] = None
            size: NDArray[Any] = outcomes.response_bytes.astype(object)
            size[outcomes.response_bytes < 0] = None
            real = (sent_path, sent_at.tolist(), size.tolist())
        else:
            real = ([None] * n, [None] * n, [None] * n)
        columns = (
            batch.seq.tolist(),
            [batch.tick] * len(batch),
            batch.offset_ms.tolist(),
            batch.user.tolist(),
            batch.profile.tolist(),
            batch.state.tolist(),
            batch.kind.tolist(),
            post.tolist(),
            ref.tolist(),
            outcomes.status.tolist(),
            logged_latency(outcomes.latency_ms).tolist(),
            outcomes.attempts.tolist(),
            outcomes.error.tolist(),
            *real,
        )
        db = self._db
        db.execute("BEGIN")
        try:
            db.executemany(self.INSERT, zip(*columns))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def flush(self) -> None:
        """Nothing to do: every batch is committed in its own transaction."""

    def close(self) -> None:
        """Build the indexes and close (idempotent)."""
        if self._db is None:
            return
        db = self._db
        db.execute("CREATE INDEX IF NOT EXISTS actions_tick ON actions(tick)")
        db.execute("CREATE INDEX IF NOT EXISTS actions_user ON actions(user)")
        # partial: sign-ups and feed views have no post; `post = ?` still uses it
        db.execute("CREATE INDEX IF NOT EXISTS actions_post ON actions(post) WHERE post IS NOT NULL")
        self._db.close()
        self._db = None
