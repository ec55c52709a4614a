"""Reading action logs back, whatever their format: rows as the JSONL log has them, or columns.

``read_rows`` gives every action as the dict a JSONL line holds (so logs of
different formats compare equal); ``read_columns`` gives the numpy columns
:mod:`simcore.analysis.crowd` needs, as fast as the format allows.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from attrs import define
from numpy.typing import NDArray

from simcore.logs.formats import FILE_NAMES, format_of
from simcore.logs.jsonl import read_log
from simcore.logs.parquet import load_pyarrow
from simcore.scenario.kinds import KIND_NAMES


@define
class LogColumns:
    """The columns of an action log the crowd numbers need (one entry per action)."""

    time_ms: NDArray[np.int64]  # simulated time, ms since 1970-01-01 (naive, read as UTC)
    user: NDArray[np.int64]
    kind: NDArray[np.int64]
    post: NDArray[np.int64]  # -1 when none

    def __len__(self) -> int:
        return len(self.user)


#: Formats in the order they are fastest to read.
READ_PREFERENCE = ("parquet", "sqlite", "jsonl")


def fastest_log(paths: Sequence[Path]) -> Path | None:
    """Of several logs of one run, the quickest to read back (``READ_PREFERENCE``)."""
    return min(paths, key=lambda p: READ_PREFERENCE.index(format_of(p)), default=None)


def find_log(directory: Path) -> Path | None:
    """The action log of a run directory (the quickest to read if there are several)."""
    for fmt in READ_PREFERENCE:
        path = directory / FILE_NAMES[fmt]
        if path.is_file():
            return path
    return None


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Every action of the log at ``path`` as a JSONL-shaped dict, in sequence order."""
    fmt = format_of(path)
    if fmt == "jsonl":
        return read_log(path)
    if fmt == "sqlite":
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            db.row_factory = sqlite3.Row
            return [dict(r) for r in db.execute("SELECT * FROM actions_named ORDER BY seq")]
        finally:
            db.close()
    _, _, pq = load_pyarrow()
    rows: list[dict[str, Any]] = pq.read_table(str(path)).to_pylist()
    for row in rows:
        when: dt.datetime = row["time"]
        row["time"] = when.isoformat(timespec="milliseconds")
    return rows


def _arrow_columns(table: Any, kind_code: dict[str, int]) -> LogColumns:
    """Time, user, kind and post from a pyarrow table with the log's columns."""
    import pyarrow as pa
    import pyarrow.compute as pc

    action = table.column("action").combine_chunks()
    if not isinstance(action.type, pa.DictionaryType):
        action = pc.dictionary_encode(action)
    lookup = np.array([kind_code[n] for n in action.dictionary.to_pylist()], np.int64)
    return LogColumns(
        table.column("time").cast(pa.int64()).to_numpy().astype(np.int64),
        table.column("user").to_numpy().astype(np.int64),
        lookup[action.indices.to_numpy(zero_copy_only=False).astype(np.intp)],
        pc.fill_null(table.column("post"), -1).to_numpy().astype(np.int64),
    )


def _jsonl_table(path: Path) -> Any:
    """The JSONL log's needed columns through pyarrow's JSON reader."""
    import pyarrow as pa
    import pyarrow.json as pj

    schema = pa.schema(
        [
            ("time", pa.timestamp("ms")),
            ("user", pa.int64()),
            ("action", pa.string()),
            ("post", pa.int64()),
        ]
    )
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    return pj.read_json(path, parse_options=options, read_options=pj.ReadOptions(block_size=1 << 24))


def read_columns(path: Path) -> LogColumns:
    """Time, user, kind and post of every action of the log at ``path``."""
    fmt = format_of(path)
    kind_code = {name: i for i, name in enumerate(KIND_NAMES)}
    if fmt == "jsonl":
        return _jsonl_columns(path, kind_code)
    if fmt == "sqlite":
        return _sqlite_columns(path)
    _, _, pq = load_pyarrow()
    return _arrow_columns(
        pq.read_table(str(path), columns=["time", "user", "action", "post"]), kind_code
    )


def _jsonl_columns(path: Path, kind_code: dict[str, int]) -> LogColumns:
    """Through pyarrow's JSON reader if it is installed and the log is whole, else line by line."""
    try:
        import pyarrow as pa
    except ImportError:  # pyarrow is optional: parse line by line
        pa = None
    if pa is not None and path.stat().st_size > 0:
        try:
            return _arrow_columns(_jsonl_table(path), kind_code)
        except pa.ArrowInvalid:  # e.g. a line cut short by a crash: parse line by line
            pass
    times: list[str] = []
    users: list[int] = []
    kinds: list[int] = []
    posts: list[int] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            times.append(rec["time"])
            users.append(rec["user"])
            kinds.append(kind_code[rec["action"]])
            posts.append(-1 if rec["post"] is None else rec["post"])
    time_ms = np.array(times, dtype="datetime64[ms]").astype(np.int64)
    return LogColumns(
        time_ms, np.array(users, np.int64), np.array(kinds, np.int64), np.array(posts, np.int64)
    )


def _sqlite_columns(path: Path) -> LogColumns:
    """From the coded ``actions`` table, times from the clock in ``log_meta``."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        meta = dict(db.execute("SELECT key, value FROM log_meta").fetchall())
        data = np.array(
            db.execute(
                "SELECT tick, offset_ms, user, kind, IFNULL(post, -1) FROM actions ORDER BY seq"
            ).fetchall(),
            dtype=np.int64,
        ).reshape(-1, 5)
    finally:
        db.close()
    time_ms = int(meta["start_ms"]) + data[:, 0] * int(meta["tick_seconds"]) * 1000 + data[:, 1]
    return LogColumns(time_ms, data[:, 2].copy(), data[:, 3].copy(), data[:, 4].copy())
