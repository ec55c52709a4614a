"""Opening the log sink of a format (see :mod:`simcore.logs.formats` for choosing them)."""

from __future__ import annotations

from pathlib import Path

from simcore.logs.fields import LogHeader
from simcore.logs.formats import LogError
from simcore.logs.jsonl import JsonlSink
from simcore.logs.parquet import ParquetSink
from simcore.logs.sqlite import SqliteSink
from simcore.scenario.schema import LOG_FORMATS


def open_sink(
    fmt: str,
    path: Path,
    header: LogHeader,
    keep_before: int | None = None,
) -> JsonlSink | SqliteSink | ParquetSink:
    """A new log sink of format ``fmt`` writing to ``path``.

    The file is replaced, unless ``keep_before`` is given (a resumed run's first
    sequence number): then SQLite and Parquet logs keep their rows before it and
    continue after them (a JSONL log is continued by whoever resumes the run, from its byte position).
    """
    if fmt == "jsonl":
        return JsonlSink(path, header)
    if fmt == "sqlite":
        return SqliteSink(path, header, keep_before=keep_before)
    if fmt == "parquet":
        return ParquetSink(path, header, keep_before=keep_before)
    raise LogError(f"unknown log format '{fmt}'; expected one of {', '.join(LOG_FORMATS)} or none")
