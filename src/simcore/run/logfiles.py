"""A run's action log files: which ones it writes (refusing files it did not create), and opening
their sinks, continuing a resumed run's logs inside its run directory."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from simcore.core.simulation import Simulation
from simcore.errors import UsageError
from simcore.logs.fields import LogHeader
from simcore.logs.formats import format_of, log_targets
from simcore.logs.jsonl import JsonlSink
from simcore.logs.parquet import parts_of
from simcore.logs.sinks import open_sink
from simcore.run import snapshot as snapshots
from simcore.scenario.schema import Config
from simcore.seam.contract import Sink


def inside(path: Path, directory: Path) -> bool:
    return path.resolve().is_relative_to(directory.resolve())


def _own_log(resume: snapshots.Snapshot, directory: Path) -> Path | None:
    """The log the snapshot's run wrote (None if it wrote none), refused unless it lies inside
    the run directory: a resume only ever touches the logs of the run it continues."""
    saved = resume.manifest.get("log")
    name = saved.get("path") if isinstance(saved, dict) else None
    if name is None:
        return None
    if not isinstance(name, str) or not name or "\0" in name:
        raise snapshots.SnapshotError(
            f"{resume.path}: its manifest names the log {name!r}, expected a file name in the run "
            "directory; pass --log to log the rest elsewhere (or --log none)"
        )
    own = directory / name
    if not inside(own, directory):
        raise snapshots.SnapshotError(
            f"{resume.path}: its manifest names the log '{name}', outside the run directory "
            f"{directory}; a resume only continues logs inside its run directory: pass --log "
            "to log the rest elsewhere (or --log none)"
        )
    return own


def plan_logs(
    choices: Sequence[str],
    resume: snapshots.Snapshot | None,
    directory: Path,
    config: Config,
) -> tuple[list[tuple[str, Path]], Path | None]:
    """The ``(format, path)`` of each action log a run writes, and the log of the snapshot
    it continues (None: none is continued).

    Refuses (before anything is written) a log file that exists and is not one this run
    directory's run wrote: a new run never overwrites an existing file, and a resumed run
    only continues or replaces logs inside its run directory.
    """
    own = _own_log(resume, directory) if resume is not None else None
    if choices:
        targets = log_targets(list(choices), directory, Path.cwd())
    elif resume is not None:
        targets = [(format_of(own), own)] if own is not None else []
    else:
        targets = log_targets([config.output.log], directory)
    for fmt, path in targets:
        where = "--log" if choices else "output.log"
        if path.is_dir():
            raise UsageError(f"{where}: '{path}' is a directory, expected a log file name")
        above = path.parent
        while not above.exists() and above != above.parent:
            above = above.parent
        if not above.is_dir():
            raise UsageError(f"{where}: cannot create '{path}': '{above}' is a file, not a directory")
        taken = path.exists() or (fmt == "parquet" and parts_of(path).exists())
        if taken and (resume is None or not inside(path, directory)):
            raise UsageError(
                f"{where}: '{path}' already exists; simcore never overwrites a file it did not "
                "create in this run: give a new file name, or move the old file away"
            )
    return targets, own


def open_logs(
    targets: Sequence[tuple[str, Path]],
    resume: snapshots.Snapshot | None,
    own: Path | None,
    sim: Simulation,
) -> list[Sink]:
    """The sinks of the logs :func:`plan_logs` chose.

    On resume a JSONL log the snapshot continues is cut back to the snapshot's byte
    position and appended to; SQLite and Parquet logs keep their rows before the
    snapshot's sequence number.
    """
    header = LogHeader.of(sim)
    sinks: list[Sink] = []
    for fmt, path in targets:
        try:
            if (
                resume is not None
                and fmt == "jsonl"
                and own is not None
                and path.resolve() == own.resolve()
            ):
                snapshots.truncate_log(path, _log_bytes(resume))
                sinks.append(JsonlSink(path, header, append=True))
            elif resume is not None and fmt != "jsonl" and (path.exists() or parts_of(path).is_dir()):
                sinks.append(open_sink(fmt, path, header, keep_before=resume.seq))
            else:
                sinks.append(open_sink(fmt, path, header))
        except OSError as exc:
            for sink in sinks:
                sink.close()
            raise UsageError(f"cannot open the action log '{path}': {exc.strerror or exc}") from None
    return sinks


def _log_bytes(resume: snapshots.Snapshot) -> int:
    size = resume.manifest["log"].get("bytes")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise snapshots.SnapshotError(
            f"{resume.path}: its manifest gives the log position {size!r}, expected a byte count "
            ">= 0 (edited or damaged); resume from another snapshot, or pass --log to log elsewhere"
        )
    return size
