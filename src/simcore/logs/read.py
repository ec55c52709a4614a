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
from attrs import define, field
from numpy.typing import NDArray

from simcore.logs.formats import FILE_NAMES, format_of
from simcore.logs.jsonl import read_log
from simcore.logs.parquet import read_table
from simcore.scenario.kinds import KIND_NAMES
from simcore.seam.contract import ERROR_NAMES


def _none() -> NDArray[np.int64]:
    return np.zeros(0, np.int64)


@define
class LogColumns:
    """The columns of an action log the analyses need (one entry per action, in sequence order).

    The first four are what the crowd numbers need; the outcome columns are what
    comparisons and real-time views need (``sent_at`` 0 and ``bytes`` -1 where not
    recorded; ``error`` as :class:`~simcore.seam.contract.ErrorKind` codes). Columns a
    caller did not ask :func:`read_columns` for are empty.
    """

    time_ms: NDArray[np.int64]  # simulated time, ms since 1970-01-01 (naive, read as UTC)
    user: NDArray[np.int64]
    kind: NDArray[np.int64]
    post: NDArray[np.int64]  # -1 when none
    seq: NDArray[np.int64] = field(factory=_none)
    ref: NDArray[np.int64] = field(factory=_none)  # the shared post or followed user; -1 if none
    status: NDArray[np.int64] = field(factory=_none)
    latency_ms: NDArray[np.float64] = field(factory=lambda: np.zeros(0, np.float64))
    error: NDArray[np.int64] = field(factory=_none)
    sent_at: NDArray[np.int64] = field(factory=_none)
    bytes: NDArray[np.int64] = field(factory=_none)

    def __len__(self) -> int:
        return len(self.user)


#: Outcome fields a log holds only where the backend recorded them (not on the mock).
REAL_TIME_FIELDS = ("sent_at", "bytes")

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
            rows = [dict(r) for r in db.execute("SELECT * FROM actions_named ORDER BY seq")]
        finally:
            db.close()
    else:
        rows = read_table(path).to_pylist()
        for row in rows:
            when: dt.datetime = row["time"]
            row["time"] = when.isoformat(timespec="milliseconds")
    for row in rows:  # as a JSONL line has them: present only where recorded
        for key in REAL_TIME_FIELDS:
            if row.get(key, 0) is None:
                del row[key]
    return rows


class _KindCodes(dict[str, int]):
    """Kind name -> code: the built-in codes, and the next free code for each name of a kind
    of the run's own, in the order they are met (a log names its kinds)."""

    def __missing__(self, name: str) -> int:
        self[name] = len(self)
        return self[name]


#: The outcome columns :func:`read_columns` reads when asked for ``outcomes=True``.
OUTCOME_COLUMNS = ("seq", "status", "latency_ms", "error", "sent_at", "bytes")


def _arrow_columns(table: Any, kind_code: dict[str, int], outcomes: bool) -> LogColumns:
    """The columns from a pyarrow table with the log's columns."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def codes(name: str, code: dict[str, int]) -> NDArray[np.int64]:
        column = table.column(name).combine_chunks()
        if not isinstance(column.type, pa.DictionaryType):
            column = pc.dictionary_encode(column)
        lookup = np.array([code[n] for n in column.dictionary.to_pylist()] + [0], np.int64)
        index = pc.fill_null(column.indices, len(column.dictionary)).to_numpy(zero_copy_only=False)
        out: NDArray[np.int64] = lookup[index.astype(np.intp)]
        return out

    def ints(name: str, blank: int) -> NDArray[np.int64]:
        return np.asarray(pc.fill_null(table.column(name), blank).to_numpy(), dtype=np.int64)

    cols = LogColumns(
        table.column("time").cast(pa.int64()).to_numpy().astype(np.int64),
        table.column("user").to_numpy().astype(np.int64),
        codes("action", kind_code),
        ints("post", -1),
    )
    cols.ref = ints("ref", -1)
    if outcomes:
        cols.seq, cols.status = ints("seq", -1), ints("status", 0)
        cols.latency_ms = np.asarray(table.column("latency_ms").to_numpy(), dtype=np.float64)
        cols.error = codes("error", _ERROR_CODE)
        cols.sent_at, cols.bytes = ints("sent_at", 0), ints("bytes", -1)
    return cols


_ERROR_CODE = {name: code for code, name in enumerate(ERROR_NAMES)}


def _jsonl_table(path: Path, outcomes: bool) -> Any:
    """The JSONL log's needed columns through pyarrow's JSON reader."""
    import pyarrow as pa
    import pyarrow.json as pj

    fields = [
        ("time", pa.timestamp("ms")),
        ("user", pa.int64()),
        ("action", pa.string()),
        ("post", pa.int64()),
        ("ref", pa.int64()),
    ]
    if outcomes:
        fields += [
            ("seq", pa.int64()),
            ("status", pa.int64()),
            ("latency_ms", pa.float64()),
            ("error", pa.string()),
            ("sent_at", pa.int64()),
            ("bytes", pa.int64()),
        ]
    options = pj.ParseOptions(explicit_schema=pa.schema(fields), unexpected_field_behavior="ignore")
    return pj.read_json(path, parse_options=options, read_options=pj.ReadOptions(block_size=1 << 24))


def read_columns(
    path: Path, outcomes: bool = False, kind_names: Sequence[str] | None = None
) -> LogColumns:
    """Time, user, kind and post of every action of the log at ``path``; with ``outcomes``,
    also its sequence number, status, latency, error, send time and answer size.

    Kinds are coded by ``kind_names`` (the run's kinds in code order, e.g. from its
    config's ``kind_set``; default: the built-in ones, then a kind of the run's own by the
    order it is met), so two logs read with the same names code their kinds alike."""
    fmt = format_of(path)
    names = KIND_NAMES if kind_names is None else kind_names
    kind_code = _KindCodes((name, code) for code, name in enumerate(names))
    if fmt == "jsonl":
        return _jsonl_columns(path, kind_code, outcomes)
    if fmt == "sqlite":
        return _sqlite_columns(path, outcomes)
    columns = ["time", "user", "action", "post", "ref", *(OUTCOME_COLUMNS if outcomes else ())]
    return _arrow_columns(read_table(path, columns=columns), kind_code, outcomes)


def _jsonl_columns(path: Path, kind_code: dict[str, int], outcomes: bool) -> LogColumns:
    """Through pyarrow's JSON reader if it is installed and the log is whole, else line by line."""
    try:
        import pyarrow as pa
    except ImportError:  # pyarrow is optional: parse line by line
        pa = None
    if pa is not None and path.stat().st_size > 0:
        try:
            return _arrow_columns(_jsonl_table(path, outcomes), kind_code, outcomes)
        except pa.ArrowInvalid:  # e.g. a line cut short by a crash: parse line by line
            pass
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]

    def ints(key: str, blank: int, rows: list[dict[str, Any]] = rows) -> NDArray[np.int64]:
        return np.array([blank if r.get(key) is None else r[key] for r in rows], np.int64)

    cols = LogColumns(
        np.array([r["time"] for r in rows], dtype="datetime64[ms]").astype(np.int64),
        ints("user", 0),
        np.array([kind_code[r["action"]] for r in rows], np.int64),
        ints("post", -1),
    )
    cols.ref = ints("ref", -1)
    if outcomes:
        cols.seq, cols.status = ints("seq", -1), ints("status", 0)
        cols.latency_ms = np.array([r["latency_ms"] for r in rows], np.float64)
        cols.error = np.array([_ERROR_CODE.get(r["error"] or "none", 0) for r in rows], np.int64)
        cols.sent_at, cols.bytes = ints("sent_at", 0), ints("bytes", -1)
    return cols


def _sqlite_columns(path: Path, outcomes: bool) -> LogColumns:
    """From the coded ``actions`` table, times from the clock in ``log_meta``."""
    extra = ", seq, status, error, IFNULL(sent_at, 0), IFNULL(bytes, -1), latency_ms" if outcomes else ""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        meta = dict(db.execute("SELECT key, value FROM log_meta").fetchall())
        rows = db.execute(
            f"SELECT tick, offset_ms, user, kind, IFNULL(post, -1), IFNULL(ref, -1){extra} "
            "FROM actions ORDER BY seq"
        ).fetchall()
    finally:
        db.close()
    width = 11 if outcomes else 6  # every integer column (latency, a float, last)
    data = np.array([r[:width] for r in rows], dtype=np.int64).reshape(-1, width)
    time_ms = int(meta["start_ms"]) + data[:, 0] * int(meta["tick_seconds"]) * 1000 + data[:, 1]
    cols = LogColumns(time_ms, data[:, 2].copy(), data[:, 3].copy(), data[:, 4].copy())
    cols.ref = data[:, 5].copy()
    if outcomes:
        cols.seq, cols.status, cols.error = data[:, 6].copy(), data[:, 7].copy(), data[:, 8].copy()
        cols.sent_at, cols.bytes = data[:, 9].copy(), data[:, 10].copy()
        cols.latency_ms = np.array([r[11] for r in rows], np.float64)
    return cols
