"""Every benchmark script still imports against the current package (they run outside CI)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
# locustfile.py needs locust (the bench extra) and is only loaded by locust itself
SCRIPTS = sorted(p.stem for p in BENCHMARKS.glob("*.py") if p.stem != "locustfile")


@pytest.mark.parametrize("name", SCRIPTS)
def test_benchmark_script_imports(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    module = importlib.import_module(name)
    if name.startswith(("bench_", "profile_", "micro_")):  # scripts; the rest are their helpers
        assert callable(getattr(module, "main", None)), f"benchmarks/{name}.py has no main()"
    sys.modules.pop(name, None)
