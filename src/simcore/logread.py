"""Reading action logs back, whatever their format: rows as the JSONL log has them, or columns.

``read_rows`` gives every action as the dict a JSONL line holds (so logs of
different formats compare equal); ``read_columns`` gives the numpy columns
:mod:`simcore.crowd` needs, as fast as the format allows.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np

from simcore.actionlog import read_log
from simcore.actions import KIND_NAMES
from simcore.crowd import LogColumns
from simcore.logsinks import FILE_NAMES, _pyarrow, format_of

#: Formats in the order they are fastest to read.
READ_PREFERENCE = ("parquet", "sqlite", "jsonl")


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
    _, _, pq = _pyarrow()
    rows: list[dict[str, Any]] = pq.read_table(str(path)).to_pylist()
    for row in rows:
        when: dt.datetime = row["time"]
        row["time"] = when.isoformat(timespec="milliseconds")
    return rows


def _jsonl_columns_arrow(path: Path, kind_code: dict[str, int]) -> LogColumns:
    """The JSONL log's columns through pyarrow's JSON reader (faster than line by line)."""
    import pyarrow as pa
    import pyarrow.compute as pc
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
    table = pj.read_json(path, parse_options=options, read_options=pj.ReadOptions(block_size=1 << 24))
    action = pc.dictionary_encode(table.column("action")).combine_chunks()
    lookup = np.array([kind_code[n] for n in action.dictionary.to_pylist()], np.int64)
    return LogColumns(
        table.column("time").cast(pa.int64()).to_numpy().astype(np.int64),
        table.column("user").to_numpy().astype(np.int64),
        lookup[action.indices.to_numpy(zero_copy_only=False)] if len(lookup) else np.zeros(0, np.int64),
        pc.fill_null(table.column("post"), -1).to_numpy().astype(np.int64),
    )


def read_columns(path: Path) -> LogColumns:
    """Time, user, kind and post of every action of the log at ``path``."""
    fmt = format_of(path)
    kind_code = {name: i for i, name in enumerate(KIND_NAMES)}
    if fmt == "jsonl":
        try:
            if path.stat().st_size > 0:
                return _jsonl_columns_arrow(path, kind_code)
        except Exception:  # pyarrow is optional (or refused the file): parse line by line
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
    if fmt == "sqlite":
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
    pa, pc, pq = _pyarrow()
    table = pq.read_table(str(path), columns=["time", "user", "action", "post"])
    action = table.column("action").combine_chunks()
    if isinstance(action.type, pa.DictionaryType):
        names = action.dictionary.to_pylist()
        lookup = np.array([kind_code[n] for n in names], np.int64)
        kind = lookup[action.indices.to_numpy(zero_copy_only=False)]
    else:
        kind = np.array([kind_code[n] for n in action.to_pylist()], np.int64)
    return LogColumns(
        table.column("time").cast(pa.int64()).to_numpy().astype(np.int64),
        table.column("user").to_numpy().astype(np.int64),
        kind,
        pc.fill_null(table.column("post"), -1).to_numpy().astype(np.int64),
    )
