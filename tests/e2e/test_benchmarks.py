"""Every benchmark script still imports against the current package and answers --help, and
benchmarks/RESULTS.md names each script's command (they run outside CI, so they could rot)."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys

import pytest

from tests.support.paths import BENCHMARKS

RESULTS = (BENCHMARKS / "RESULTS.md").read_text()
# locustfile.py needs locust (the bench extra) and is only loaded by locust itself
MODULES = sorted(p.stem for p in BENCHMARKS.glob("*.py") if p.stem != "locustfile")
SCRIPTS = [name for name in MODULES if name.startswith(("bench_", "profile_", "micro_"))]
HELPERS = {"common", "servers", "clients", "rawclient"}  # the scripts' shared modules


@pytest.mark.parametrize("name", MODULES)
def test_benchmark_module_imports(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    module = importlib.import_module(name)
    if name in SCRIPTS:
        assert callable(getattr(module, "main", None)), f"benchmarks/{name}.py has no main()"
    sys.modules.pop(name, None)


def test_every_module_is_a_script_or_a_named_helper() -> None:
    assert set(MODULES) == set(SCRIPTS) | HELPERS, "a new helper? name it in HELPERS, or fold it in"


@pytest.mark.parametrize("name", SCRIPTS)
def test_results_name_each_script(name: str) -> None:
    assert f"python benchmarks/{name}.py" in RESULTS, f"RESULTS.md shows no table of {name}.py"


def test_results_cite_only_scripts_that_exist() -> None:
    cited = set(re.findall(r"benchmarks/(\w+)\.py", RESULTS))
    assert cited, "RESULTS.md names no command"
    assert cited <= set(MODULES) | {"common"}, (
        f"RESULTS.md cites missing scripts: {cited - set(MODULES)}"
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", SCRIPTS)
def test_script_help(name: str) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / f"{name}.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout
