"""Action logs beyond JSONL: SQLite and Parquet sinks, and choosing logs from ``--log``.

Every log holds the same rows as the JSONL log (see :mod:`simcore.logs.jsonl`), one
per action, written a batch at a time, never an action at a time:

- **SQLite** (``actions.sqlite``): one table ``actions`` of integer codes (seq is the
  primary key; tick, offset_ms, user, profile, state, kind, post and ref (NULL if none),
  status, latency_ms, attempts, error), one insert transaction per batch, indexes on tick,
  user and post (partial: non-NULL posts) built when the log is closed (building them
  while inserting measured several times slower, RESULTS.md); a view ``actions_named``
  shows exactly the JSONL columns
  (time, names, method, path); table ``log_meta`` holds the clock and names.
- **Parquet** (``actions.parquet``, needs pyarrow: ``pip install 'simcore[parquet]'``):
  the JSONL columns with ``time`` as a millisecond timestamp and the names
  dictionary-encoded; batches are buffered into row groups of ``row_group`` rows.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from simcore.core.actions import METHODS, PATH_ID, PATH_PARTS, PATHS, ActionBatch
from simcore.errors import SimcoreError, UsageError
from simcore.logs.jsonl import JsonlSink, epoch_ms, logged_latency
from simcore.scenario.kinds import KIND_NAMES
from simcore.scenario.schema import LOG_FORMATS, LOG_SUFFIXES, parse_log_choice
from simcore.seam.contract import ERROR_NAMES, Outcomes

FORMATS = LOG_FORMATS
SUFFIXES = LOG_SUFFIXES
FILE_NAMES = {"jsonl": "actions.jsonl", "sqlite": "actions.sqlite", "parquet": "actions.parquet"}


class LogError(SimcoreError):
    """A log format is unknown or its library is missing."""


def format_of(path: Path) -> str:
    """The log format a file name implies (``.jsonl``, ``.sqlite``/``.db``, ``.parquet``)."""
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(SUFFIXES))
        raise UsageError(f"log file '{path}': unknown suffix '{path.suffix}'; expected one of {known}")
    return fmt


def log_targets(
    choices: Sequence[str], directory: Path, relative_to: Path | None = None
) -> list[tuple[str, Path]]:
    """``(format, path)`` of each log named in ``choices``.

    Each choice is ``jsonl``, ``sqlite``, ``parquet``, ``none``, a comma-separated
    list of those, or a file name whose suffix picks the format. Format names
    go to ``directory/actions.EXT``; file names are taken relative to
    ``relative_to`` (default: ``directory``). ``none`` alone means no log.
    """
    try:
        items = parse_log_choice(choices)
    except ValueError as exc:
        raise UsageError(f"--log: {exc}") from None
    out: list[tuple[str, Path]] = []
    for item in items:
        if item in FORMATS:
            fmt, path = item, directory / FILE_NAMES[item]
        else:
            path = Path(item)
            if not path.is_absolute():
                path = (relative_to or directory) / path
            fmt = format_of(path)
        if (fmt, path) not in out:
            out.append((fmt, path))
    return out


def open_sink(
    fmt: str,
    path: Path,
    start: dt.datetime,
    tick_seconds: int,
    profile_names: Sequence[str],
    state_names: Sequence[str],
    keep_before: int | None = None,
) -> JsonlSink | SqliteSink | ParquetSink:
    """A new log sink of format ``fmt`` writing to ``path``.

    The file is replaced, unless ``keep_before`` is given (a resumed run's first
    sequence number): then SQLite and Parquet logs keep their rows before it and
    continue after them (JSONL logs are continued by byte position, see cli).
    """
    if fmt == "jsonl":
        return JsonlSink(path, start, tick_seconds, profile_names, state_names)
    if fmt == "sqlite":
        return SqliteSink(path, start, tick_seconds, profile_names, state_names, keep_before=keep_before)
    if fmt == "parquet":
        return ParquetSink(
            path, start, tick_seconds, profile_names, state_names, keep_before=keep_before
        )
    raise LogError(f"unknown log format '{fmt}'; expected one of {', '.join(FORMATS)} or none")


# --- SQLite ------------------------------------------------------------------------------


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _case(column: str, names: Sequence[str | None], fallback: str) -> str:
    whens = " ".join(f"WHEN {i} THEN {'NULL' if n is None else _quote(n)}" for i, n in enumerate(names))
    return f"CASE {column} {whens} ELSE {fallback} END"


def named_view_sql(
    start: dt.datetime, tick_seconds: int, profiles: Sequence[str], states: Sequence[str]
) -> str:
    """The ``actions_named`` view: the JSONL log's columns computed from the coded table."""
    ms = f"({epoch_ms(start)} + tick * {tick_seconds * 1000} + offset_ms)"
    return f"""CREATE VIEW actions_named AS SELECT
    seq, tick,
    strftime('%Y-%m-%dT%H:%M:%S', {ms} / 1000, 'unixepoch') || '.' || printf('%03d', {ms} % 1000) AS time,
    user,
    {_case("profile", profiles, "CAST(profile AS TEXT)")} AS profile,
    {_case("state", states, "CAST(state AS TEXT)")} AS state,
    {_case("kind", KIND_NAMES, "CAST(kind AS TEXT)")} AS action,
    {_case("kind", METHODS, "NULL")} AS method,
    {_path_case()} AS path,
    post, ref, status, latency_ms, attempts,
    {_case("error", [None, *ERROR_NAMES[1:]], "CAST(error AS TEXT)")} AS error
FROM actions"""


def _path_case() -> str:
    """SQL for each kind's path, the ``{id}`` filled from ``post`` or ``ref`` (NULL if that is)."""
    whens = []
    for k, path in enumerate(PATHS):
        column = (None, "post", "ref")[PATH_ID[k]]
        if column is None:
            whens.append(f"WHEN {k} THEN {_quote(path)}")
        else:
            head, tail = PATH_PARTS[k]
            expr = f"{_quote(head)} || {column}" + (f" || {_quote(tail)}" if tail else "")
            whens.append(f"WHEN {k} THEN {expr}")
    return f"CASE kind {' '.join(whens)} ELSE NULL END"


class SqliteSink:
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
    )
    INSERT = f"INSERT INTO actions ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"

    def __init__(
        self,
        path: Path,
        start: dt.datetime,
        tick_seconds: int,
        profile_names: Sequence[str],
        state_names: Sequence[str],
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
            "error INTEGER NOT NULL)"
        )
        # a log continued from before the ref column: add it (NULL in the earlier rows)
        if "ref" not in {row[1] for row in db.execute("PRAGMA table_info(actions)")}:
            db.execute("ALTER TABLE actions ADD COLUMN ref INTEGER")
        db.execute("CREATE TABLE IF NOT EXISTS log_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        meta = {
            "start": start.isoformat(),
            "start_ms": str(epoch_ms(start)),
            "tick_seconds": str(tick_seconds),
            "profiles": json.dumps(list(profile_names)),
            "states": json.dumps(list(state_names)),
            "kinds": json.dumps(list(KIND_NAMES)),
        }
        db.executemany("INSERT OR REPLACE INTO log_meta VALUES (?, ?)", list(meta.items()))
        db.execute("DROP VIEW IF EXISTS actions_named")
        db.execute(named_view_sql(start, tick_seconds, profile_names, state_names))
        if keep_before is not None:
            db.execute("DELETE FROM actions WHERE seq >= ?", (keep_before,))
        self.written = 0

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
        )
        db = self._db
        db.execute("BEGIN")
        try:
            db.executemany(self.INSERT, zip(*columns))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        self.written += len(batch)

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


# --- Parquet -----------------------------------------------------------------------------


def _pyarrow() -> tuple[Any, Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
    except ImportError:
        raise LogError(
            "the parquet log needs pyarrow, which is not installed; "
            "install it with: pip install 'simcore[parquet]' (or choose --log jsonl or sqlite)"
        ) from None
    return pa, pc, pq


class ParquetSink:
    """Buffers batches and writes them as Parquet row groups of about ``row_group`` rows."""

    def __init__(
        self,
        path: Path,
        start: dt.datetime,
        tick_seconds: int,
        profile_names: Sequence[str],
        state_names: Sequence[str],
        row_group: int = 262_144,
        keep_before: int | None = None,
    ) -> None:
        pa, self._pc, pq = _pyarrow()
        self._pa = pa
        self.path = path
        self.start_ms = epoch_ms(start)
        self.tick_ms = tick_seconds * 1000
        self.row_group = row_group
        self._profiles = pa.array(list(profile_names), pa.string())
        self._states = pa.array(list(state_names), pa.string())
        self._kinds = pa.array(list(KIND_NAMES), pa.string())
        methods = sorted(set(METHODS))
        self._methods = pa.array(methods, pa.string())
        self._method_of = np.array([methods.index(m) for m in METHODS], np.int8)
        self._paths = pa.array(list(PATHS), pa.string())
        self._heads = pa.array([h for h, _ in PATH_PARTS], pa.string())
        self._tails = pa.array([t for _, t in PATH_PARTS], pa.string())
        self._errors = pa.array(list(ERROR_NAMES), pa.string())
        dict8 = pa.dictionary(pa.int8(), pa.string())
        self.schema = pa.schema(
            [
                ("seq", pa.int64()),
                ("tick", pa.int32()),
                ("time", pa.timestamp("ms")),
                ("user", pa.int32()),
                ("profile", dict8),
                ("state", dict8),
                ("action", dict8),
                ("method", dict8),
                ("path", pa.string()),
                ("post", pa.int32()),
                ("ref", pa.int32()),
                ("status", pa.int16()),
                ("latency_ms", pa.float64()),
                ("attempts", pa.uint8()),
                ("error", dict8),
            ]
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        kept = (
            self._rows_before(path, keep_before) if keep_before is not None and path.exists() else None
        )
        path.unlink(missing_ok=True)
        self._writer: Any = pq.ParquetWriter(str(path), self.schema)
        self._pending: list[tuple[ActionBatch, Outcomes]] = []
        self._pending_rows = 0
        self.written = 0
        if kept is not None and kept.num_rows:
            self._writer.write_table(kept, row_group_size=self.row_group)

    def _rows_before(self, path: Path, seq: int) -> Any:
        """The rows of an existing log with sequence numbers below ``seq`` (a resumed run's)."""
        pq = _pyarrow()[2]
        try:
            table = pq.read_table(str(path), schema=self.schema)
        except Exception as exc:  # a log cut off by a crash has no footer
            raise LogError(
                f"cannot continue the Parquet log {path}: {exc}; it was probably cut off by a crash. "
                "Move it away, or pass --log with another file or format"
            ) from None
        return table.filter(self._pc.less(table.column("seq"), seq))

    def write(self, batch: ActionBatch, outcomes: Outcomes) -> None:
        """Buffer one batch; write a row group once enough rows are pending."""
        if self._writer is None:
            raise ValueError(f"the log {self.path} is closed")
        if len(batch):
            self._pending.append((batch, outcomes))
            self._pending_rows += len(batch)
        if self._pending_rows >= self.row_group:
            self.flush()

    def flush(self) -> None:
        """Write the pending batches as one row group."""
        if not self._pending or self._writer is None:
            return
        batches = [b for b, _ in self._pending]
        outs = [o for _, o in self._pending]
        self._writer.write_table(self._table(batches, outs), row_group_size=self._pending_rows)
        self.written += self._pending_rows
        self._pending, self._pending_rows = [], 0

    def _table(self, batches: list[ActionBatch], outs: list[Outcomes]) -> Any:
        pa, pc = self._pa, self._pc

        def cat(arrays: list[NDArray[Any]]) -> NDArray[Any]:
            return np.concatenate(arrays) if len(arrays) > 1 else arrays[0]

        sizes = [len(b) for b in batches]
        tick = np.repeat(np.array([b.tick for b in batches], np.int64), sizes)
        kind = cat([b.kind for b in batches]).astype(np.int8)
        post = cat([b.post for b in batches])
        ref = cat([b.ref for b in batches])
        offset = cat([b.offset_ms for b in batches]).astype(np.int64)
        error = cat([o.error for o in outs]).astype(np.int8)
        no_post = post < 0

        def coded(codes: NDArray[Any], names: Any, mask: NDArray[np.bool_] | None = None) -> Any:
            return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int8(), mask=mask), names)

        post_arr = pa.array(post, pa.int32(), mask=no_post)
        ref_arr = pa.array(ref, pa.int32(), mask=ref < 0)
        path_id = PATH_ID[kind]
        ids = np.where(path_id == 1, post, ref)
        id_text = pc.cast(pa.array(ids, pa.int32(), mask=ids < 0), pa.string())
        kinds = pa.array(kind)
        heads, tails = pc.take(self._heads, kinds), pc.take(self._tails, kinds)
        joined = pc.binary_join_element_wise(heads, id_text, tails, "")
        fixed = pc.take(self._paths, kinds)
        path = pc.if_else(pa.array(path_id > 0), joined, fixed)
        columns = [
            pa.array(cat([b.seq for b in batches]), pa.int64()),
            pa.array(tick.astype(np.int32), pa.int32()),
            pa.array(self.start_ms + tick * self.tick_ms + offset, pa.int64()).cast(pa.timestamp("ms")),
            pa.array(cat([b.user for b in batches]), pa.int32()),
            coded(cat([b.profile for b in batches]).astype(np.int8), self._profiles),
            coded(cat([b.state for b in batches]).astype(np.int8), self._states),
            coded(kind, self._kinds),
            coded(self._method_of[kind], self._methods),
            path,
            post_arr,
            ref_arr,
            pa.array(cat([o.status for o in outs]), pa.int16()),
            pa.array(logged_latency(cat([o.latency_ms for o in outs])), pa.float64()),
            pa.array(cat([o.attempts for o in outs]), pa.uint8()),
            coded(error, self._errors, mask=error == 0),
        ]
        return pa.Table.from_arrays(columns, schema=self.schema)

    def close(self) -> None:
        """Write what is pending and the file footer (idempotent)."""
        if self._writer is None:
            return
        try:
            self.flush()
        finally:
            self._writer.close()
            self._writer = None
