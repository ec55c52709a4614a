"""The scenario library (profiles/*.toml): each file says what it is for and runs.

Each scenario is run briefly through the CLI (100 users, 2 simulated hours, the mock
backend): it must load, run, keep its log and write its summary with the crowd's shape.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from simcore.run.loading import load_config
from simcore.ui.cli import main
from tests.support.paths import REPO_ROOT

LIBRARY = sorted(p for p in (REPO_ROOT / "profiles").glob("*.toml") if p.name != "default.toml")


def test_the_library_has_at_least_five_scenarios() -> None:
    """Five scenarios or more beside default.toml."""
    assert len(LIBRARY) >= 5, LIBRARY


@pytest.mark.slow  # a 2-hour run through the CLI: 3-5 s each
@pytest.mark.parametrize("path", LIBRARY, ids=[p.stem for p in LIBRARY])
def test_each_scenario_says_its_purpose_and_runs(path: Path, tmp_path: Path) -> None:
    """A header comment with the scenario's purpose and how to run it; a brief run exits 0."""
    text = path.read_text(encoding="utf-8")
    header = text.split("\n\n", 1)[0]
    assert header.startswith("# simcore scenario: ") and "# Purpose: " in text, path
    assert f"simcore run profiles/{path.name}" in text, "the header shows how to run it"
    load_config(path)
    result = CliRunner().invoke(
        main,
        ["run", str(path), "--users", "100", "--duration", "2h", "--out", str(tmp_path), "--quiet"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["actions"] > 0 and summary["crowd"]["users"] > 0
