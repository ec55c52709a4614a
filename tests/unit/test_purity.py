"""The purity rule: the deciding modules do no I/O, read no clock, use no global RNG,
and import nothing async, networked or from simcore_backends (docs/architecture.md, "Layers")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.paths import SIMCORE_SRC

SRC = SIMCORE_SRC
#: Every module of the deciding packages (scenario, core), and the error tree they raise.
DECIDING = sorted(
    [
        str(p.relative_to(SRC).with_suffix(""))
        for d in ("scenario", "core")
        for p in (SRC / d).glob("*.py")
    ]
    + ["errors"]
)
FORBIDDEN_MODULES = {
    "os",
    "io",
    "time",
    "random",
    "asyncio",
    "socket",
    "select",
    "selectors",
    "threading",
    "multiprocessing",
    "subprocess",
    "shutil",
    "tempfile",
    "pathlib",
    "urllib.request",
    "http",
    "ssl",
    "aiohttp",
    "httpx",
    "requests",
    "uvicorn",
    "fastapi",
    "sqlite3",
    "pickle",
    "click",
    "rich",
    "simcore_backends",
    "simcore.atomic",
    "simcore.seam",
    "simcore.run",
    "simcore.logs",
    "simcore.analysis",
    "simcore.ui",
}
FORBIDDEN_CALLS = {"open", "print", "input", "exec", "eval"}
FORBIDDEN_ATTRIBUTES = {
    ("np", "random"),
    ("numpy", "random"),
    ("datetime", "now"),
    ("datetime", "today"),
    ("datetime", "utcnow"),
    ("date", "today"),
    ("Path", "read_text"),
    ("Path", "write_text"),
    ("sys", "stdout"),
    ("sys", "stderr"),
    ("sys", "stdin"),
    ("sys", "argv"),
    ("sys", "exit"),
}


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                if ".".join(parts[:i]) in FORBIDDEN_MODULES:
                    found.append(f"{path.name}:{node.lineno} imports {name}")
                    break
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in FORBIDDEN_CALLS
        ):
            found.append(f"{path.name}:{node.lineno} calls {node.func.id}()")
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and (node.value.id, node.attr) in FORBIDDEN_ATTRIBUTES
        ):
            found.append(f"{path.name}:{node.lineno} uses {node.value.id}.{node.attr}")
        if isinstance(node, ast.Attribute) and node.attr in {"now", "utcnow", "today", "perf_counter"}:
            found.append(f"{path.name}:{node.lineno} reads a clock ({node.attr})")
    return found


@pytest.mark.parametrize("module", DECIDING)
def test_deciding_module_is_pure(module: str) -> None:
    """No I/O, clock, global RNG, async, network or backend imports in a deciding module."""
    assert _violations(SRC / f"{module}.py") == []


def test_the_checker_catches_violations(tmp_path: Path) -> None:
    """The checker itself flags each kind of impurity (so the test above can fail)."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import time\nimport numpy as np\nfrom simcore_backends import mock\n"
        "x = np.random.rand()\nopen('f')\nimport datetime\ndatetime.datetime.now()\n"
    )
    found = "\n".join(_violations(bad))
    for needle in (
        "imports time",
        "imports simcore_backends",
        "np.random",
        "calls open",
        "reads a clock",
    ):
        assert needle in found
