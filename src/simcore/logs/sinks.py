"""Opening the log sink of a format (see :mod:`simcore.logs.formats` for choosing them)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from simcore.logs.formats import LogError
from simcore.logs.jsonl import JsonlSink
from simcore.logs.parquet import ParquetSink
from simcore.logs.sqlite import SqliteSink
from simcore.scenario.schema import LOG_FORMATS


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
    continue after them (a JSONL log is continued by whoever resumes the run, from its byte position).
    """
    if fmt == "jsonl":
        return JsonlSink(path, start, tick_seconds, profile_names, state_names)
    if fmt == "sqlite":
        return SqliteSink(path, start, tick_seconds, profile_names, state_names, keep_before=keep_before)
    if fmt == "parquet":
        return ParquetSink(
            path, start, tick_seconds, profile_names, state_names, keep_before=keep_before
        )
    raise LogError(f"unknown log format '{fmt}'; expected one of {', '.join(LOG_FORMATS)} or none")
