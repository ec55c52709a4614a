"""Where things are in the repository, for tests that read its files."""

from __future__ import annotations

from pathlib import Path

#: The repository's root folder (holding pyproject.toml).
REPO_ROOT = Path(__file__).resolve().parents[2]
#: The shipped default scenario.
DEFAULT_PROFILE = REPO_ROOT / "profiles" / "default.toml"
#: The simcore package's sources.
SIMCORE_SRC = REPO_ROOT / "src" / "simcore"
#: The benchmark scripts.
BENCHMARKS = REPO_ROOT / "benchmarks"
