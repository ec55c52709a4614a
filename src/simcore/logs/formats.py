"""Which action logs a run writes: the formats, their file names and suffixes, and ``--log``.

A log choice (``--log`` or the config's ``output.log``) is ``jsonl``, ``sqlite``,
``parquet``, ``none``, a comma-separated list of those, or a file name whose
suffix picks the format (:func:`log_targets`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from simcore.errors import SimcoreError, UsageError
from simcore.scenario.schema import LOG_FORMATS, LOG_SUFFIXES, parse_log_choice

FILE_NAMES = {"jsonl": "actions.jsonl", "sqlite": "actions.sqlite", "parquet": "actions.parquet"}


class LogError(SimcoreError):
    """A log format is unknown or its library is missing."""


def format_of(path: Path) -> str:
    """The log format a file name implies (``.jsonl``, ``.sqlite``/``.db``, ``.parquet``)."""
    fmt = LOG_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(LOG_SUFFIXES))
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
        if item in LOG_FORMATS:
            fmt, path = item, directory / FILE_NAMES[item]
        else:
            path = Path(item)
            if not path.is_absolute():
                path = (relative_to or directory) / path
            fmt = format_of(path)
        if (fmt, path) not in out:
            out.append((fmt, path))
    return out
