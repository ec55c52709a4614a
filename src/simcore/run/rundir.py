"""A run's directory: the config it used, its action log, its summary."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from simcore import atomic
from simcore.errors import UsageError
from simcore.scenario.parse import dump_config
from simcore.scenario.schema import Config

CONFIG_FILE = "config.toml"
SUMMARY_FILE = "summary.json"


def choose(base: Path, stem: str, seed: int) -> Path:
    """A fresh directory name under ``base``: ``STEM-seedN``, then ``-2``, ``-3`` … if taken."""
    candidate = base / f"{stem}-seed{seed}"
    n = 2
    while candidate.exists():
        candidate = base / f"{stem}-seed{seed}-{n}"
        n += 1
    return candidate


def claim(directory: Path, origin: str, *, fresh: bool) -> None:
    """Create ``directory`` for a run, refusing to write into someone else's files.

    ``fresh`` (a new run): the directory must not exist or be empty, since simcore never
    overwrites a file it did not create in this run. ``origin`` names where the path
    came from (``--out``, ``output.directory``) for the message.
    """
    if directory.exists() and not directory.is_dir():
        raise UsageError(
            f"{origin}: '{directory}' is a file, expected a directory for the run; "
            "give a directory that does not exist yet"
        )
    if fresh and directory.is_dir() and any(directory.iterdir()):
        raise UsageError(
            f"{origin}: '{directory}' already holds files (a previous run?); simcore never "
            "overwrites a run: give a new directory, remove this one, or continue its run "
            f"with --resume {directory}"
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if not os.access(directory, os.W_OK | os.X_OK):
            raise PermissionError(f"no permission to write into '{directory}'")
    except OSError as exc:
        raise UsageError(
            f"{origin}: cannot create the run directory '{directory}': {exc.strerror or exc}; "
            "give a path under a directory you can write to"
        ) from None


def remove_if_unused(directory: Path) -> None:
    """Remove a run directory this run created but wrote nothing into but its config."""
    try:
        leftovers = [p for p in directory.iterdir() if p.name != CONFIG_FILE]
        if not leftovers:
            (directory / CONFIG_FILE).unlink(missing_ok=True)
            directory.rmdir()
    except OSError:
        pass


def prepare(directory: Path, config: Config) -> None:
    """Write the fully resolved config into the (claimed) run directory."""
    try:
        atomic.write_text(directory / CONFIG_FILE, dump_config(config))
    except OSError as exc:
        raise UsageError(f"cannot write {directory / CONFIG_FILE}: {exc.strerror or exc}") from None


def write_summary(directory: Path, summary: dict[str, Any]) -> Path:
    """Write summary.json atomically; return its path."""
    path = directory / SUMMARY_FILE
    atomic.write_text(path, json.dumps(summary, indent=2, sort_keys=False) + "\n")
    return path


def shown(path: Path, directory: Path) -> str:
    """``path`` relative to the run directory when inside it (summaries compare across runs),
    else absolute."""
    try:
        return str(path.resolve().relative_to(directory.resolve()))
    except ValueError:
        return str(path.resolve())
