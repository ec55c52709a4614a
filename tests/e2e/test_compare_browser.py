"""compare.html in a real headless browser (Debian's chromium): loads offline, no console errors,
every chart drawn (the harness of tests/e2e/test_report_browser.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from simcore.run.loading import load_config
from simcore.ui.cli import main
from tests.e2e.test_cli_compare import SlowerMock, _config, _latency_run, _mock_run
from tests.e2e.test_report_browser import CHROMIUM, _browse

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium found (apt-get install chromium); compare.html not checked"
)


@pytest.mark.slow
def test_compare_page_opens_offline_with_charts_drawn(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path))
    a = _latency_run(config, tmp_path / "a", SlowerMock())
    b = _latency_run(config, tmp_path / "b", SlowerMock(factor=1.3, fail=0.05))
    result = CliRunner().invoke(main, ["compare", str(a), str(b), "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 3, result.output
    mock_a, mock_b = _mock_run(tmp_path, "ma"), _mock_run(tmp_path, "mb")
    assert CliRunner().invoke(main, ["compare", str(mock_a), str(mock_b)]).exit_code == 0
    page, mock_page = tmp_path / "cmp" / "compare.html", mock_b / "compare.html"
    (problems, measured), (mock_problems, mock_measured) = _browse([page, mock_page], tmp_path)
    assert problems == [] and mock_problems == []
    endpoints = json.loads((tmp_path / "cmp" / "compare.json").read_text())["endpoints"]
    judged = [e for e in endpoints if e["paired"] >= 20]
    charts = measured["charts"]
    assert len(charts) == len(judged) + 1  # a distribution per endpoint of 20 pairs, the ratio over time
    assert measured["ready"] == str(len(charts))
    assert all(c["canvas"] and c["coloured"] > 100 and c["width"] > 100 for c in charts), charts
    ratio = next(c for c in charts if c["id"] == "ratio-over-time")
    assert ratio["legend"] >= 2  # the x series and one series per endpoint
    assert measured["resources"] == 0  # self-contained: nothing fetched
    # the mock records no latency: two notes, no chart, no error
    assert mock_measured["charts"] == [] and mock_measured["empty"] == [
        "distributions",
        "ratio-over-time",
    ]
    assert (tmp_path / "report.png").stat().st_size > 20_000
