"""README's "Using simcore as a library": every ```python example runs and prints what the README says.

Each example is run as a script by this interpreter (the venv's python) in a fresh
temporary working directory. The ```text block that follows an example is what it
must print, line by line; ``…`` in it stands for any text (numbers that depend on
the scenario's settings).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Using simcore as a library"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
HAS_BUILDER = importlib.util.find_spec("simcore.run.builder") is not None


def section_text(readme: str) -> str:
    """The README's library section, from its heading to the next ``## `` heading."""
    start = readme.index(SECTION)
    end = readme.find("\n## ", start + len(SECTION))
    return readme[start : end if end >= 0 else len(readme)]


def examples(section: str) -> list[tuple[str, str | None]]:
    """Each ```python block with the ```text block that follows it (None if none does)."""
    out: list[tuple[str, str | None]] = []
    for match in FENCE.finditer(section):
        language, body = match.group(1), match.group(2)
        if language == "python":
            out.append((body, None))
        elif language == "text" and out and out[-1][1] is None:
            out[-1] = (out[-1][0], body)
    return out


def matches(expected: str, printed: str) -> bool:
    """Whether ``printed`` is ``expected`` line by line, ``…`` standing for any text."""
    want = expected.rstrip("\n").splitlines()
    got = printed.rstrip("\n").splitlines()
    patterns = [
        re.compile(".*".join(re.escape(part) for part in line.split("…")) + r"\Z") for line in want
    ]
    return len(want) == len(got) and all(p.match(line) for p, line in zip(patterns, got))


EXAMPLES = examples(section_text(README.read_text(encoding="utf-8")))


def _param(index: int, code: str, expected: str | None) -> object:
    needs_builder = "simcore.run.builder" in code
    marks = [
        pytest.mark.skipif(
            needs_builder and not HAS_BUILDER,
            reason="simcore.run.builder (the one run builder) has not landed yet",
        )
    ]
    return pytest.param(code, expected, id=f"example{index}", marks=marks)


def test_the_section_has_a_core_and_a_builder_example() -> None:
    """The section exists and shows both the pure core and a whole run, each with its output."""
    assert len(EXAMPLES) >= 2
    assert any("Simulation(" in code for code, _ in EXAMPLES)
    assert any("build_run(" in code for code, _ in EXAMPLES)
    assert all(expected is not None for _, expected in EXAMPLES)


@pytest.mark.parametrize(
    ("code", "expected"), [_param(i, code, out) for i, (code, out) in enumerate(EXAMPLES)]
)
def test_example_runs_and_prints_what_the_readme_says(
    code: str, expected: str | None, tmp_path: Path
) -> None:
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert expected is not None
    assert matches(expected, done.stdout), f"README says:\n{expected}\nit printed:\n{done.stdout}"
    # files the example says it wrote are there
    for path in re.findall(r"\S+\.html\b", done.stdout):
        assert (tmp_path / path).is_file(), path


def test_matching_is_strict() -> None:
    """The comparison fails on a wrong number, a missing line or an extra one."""
    assert matches("1 … 3\nTrue\n", "1 two 3\nTrue\n")
    assert not matches("1 2 3\n", "1 2 4\n")
    assert not matches("1 … 3\nTrue\n", "1 2 3\n")
    assert not matches("a\n", "a\nb\n")
