"""A run's directory: the config it used, its action log, its summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from simcore import atomic
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


def prepare(directory: Path, config: Config) -> None:
    """Create ``directory`` and write the fully resolved config into it."""
    directory.mkdir(parents=True, exist_ok=True)
    atomic.write_text(directory / CONFIG_FILE, dump_config(config))


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
