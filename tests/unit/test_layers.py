"""The architecture as tests: the pure packages stay pure, arrows point down, no import circles.

Layers, lowest first: scenario, core, seam, logs, analysis, run, ui
(docs/architecture.md). ``errors`` and ``atomic`` are leaves any layer may use.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT, SIMCORE_SRC

SRC = SIMCORE_SRC
LAYERS = ("scenario", "core", "seam", "logs", "analysis", "run", "ui")
PURE = ("scenario", "core")
LEAVES = {"simcore", "simcore.errors", "simcore.atomic"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}
PURE_MODULES = sorted(m for m in MODULES if m.split(".")[1:2] and m.split(".")[1] in PURE)


def _imported_names(path: Path) -> set[str]:
    """Every name ``path`` imports (``a.b`` and, for ``from a.b import c``, ``a.b.c``), anywhere
    in it: TYPE_CHECKING blocks and functions too."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def _imports(path: Path) -> set[str]:
    """The simcore modules ``path`` imports."""
    return {n for n in _imported_names(path) if n in MODULES and n != _module_name(path)}


GRAPH = {name: _imports(path) for name, path in MODULES.items()}


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_every_module_sits_in_a_layer_or_is_a_leaf() -> None:
    """Nothing but the leaves lies loose in src/simcore: the tree shows the layers."""
    loose = [m for m in MODULES if _layer(m) is None and m not in LEAVES and m != "simcore.__main__"]
    assert loose == []


def test_arrows_point_down() -> None:
    """A module imports only from its own layer, the layers below it, and the leaves."""
    upward = [
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if _layer(module) is not None and _layer(target) is not None and _layer(target) > _layer(module)  # type: ignore[operator]
    ]
    assert upward == []


def test_no_import_circles() -> None:
    """No module reaches itself through imports, hidden ones (TYPE_CHECKING, in functions) included."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    sys.setrecursionlimit(10_000)

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in GRAPH[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for name in GRAPH:
        if name not in index:
            visit(name)
    assert circles == []


FORBIDDEN_PREFIXES = (
    "simcore_backends",
    "asyncio",
    "socket",
    "ssl",
    "http",
    "urllib.request",
    "aiohttp",
    "httpx",
    "httptools",
    "uvicorn",
    "fastapi",
    "sqlite3",
    "click",
    "rich",
    *(f"simcore.{layer}" for layer in LAYERS if layer not in PURE),
)
_PROBE = """
import importlib, json, sys
before = set(sys.modules)
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(set(sys.modules) - before)))
"""


@pytest.fixture(scope="module")
def fresh_imports() -> dict[str, list[str]]:
    """For each pure module, every module that importing it alone in a fresh interpreter loads.

    One interpreter a module, all started at once so the probes share the machine's cores.
    """
    probes = {
        module: subprocess.Popen(
            [sys.executable, "-c", _PROBE, module],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for module in PURE_MODULES
    }
    loaded: dict[str, list[str]] = {}
    for module, probe in probes.items():
        out, err = probe.communicate()
        assert probe.returncode == 0, f"importing {module} failed:\n{err}"
        loaded[module] = json.loads(out)
    return loaded


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_module_imports_nothing_of_the_shell(
    module: str, fresh_imports: dict[str, list[str]]
) -> None:
    """Imported alone in a fresh interpreter, a pure module loads no shell, async or network module."""
    loaded = fresh_imports[module]
    bad = [m for m in loaded if any(m == p or m.startswith(p + ".") for p in FORBIDDEN_PREFIXES)]
    assert bad == []


def test_the_probe_sees_a_shell_import() -> None:
    """The fresh-interpreter probe does report shell modules (so the test above can fail)."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, "simcore.run.controller"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "asyncio" in json.loads(done.stdout)


def test_backends_see_only_the_seam_and_below() -> None:
    """Built-in backends and the example plugin import simcore's seam, core, scenario and errors
    only, as a third party's backend would: never the run loop, logs, analysis or the UI."""
    allowed = ("scenario", "core", "seam")
    outside = [
        f"{path.relative_to(REPO_ROOT)} imports {name}"
        for folder in (REPO_ROOT / "backends", REPO_ROOT / "examples")
        for path in sorted(folder.rglob("*.py"))
        for name in _imported_names(path)
        if name.startswith("simcore.") and name.split(".")[1] not in (*allowed, "errors")
    ]
    assert outside == []
