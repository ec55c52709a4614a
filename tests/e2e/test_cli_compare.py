"""``simcore compare`` and ``simcore run --baseline`` through the CLI, on mock runs (statistics:
tests/unit/analysis/test_compare.py; against real servers: tests/e2e/test_compare_servers.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from simcore.analysis.thresholds import EXIT_THRESHOLDS_FAILED
from simcore.run.builder import build_run
from simcore.scenario.kinds import KIND_NAMES
from simcore.scenario.schema import Config
from simcore.ui.cli import main
from simcore_backends.mock import MockBackend

BASE = """
seed = 7
duration = "6h"
start = 2026-01-05T18:00:00
[population]
initial_users = 120
"""
READ = KIND_NAMES.index("read_post")


def _config(tmp_path: Path, text: str = BASE) -> Path:
    path = tmp_path / "scenario.toml"
    if path.exists():
        return path
    path.write_text(text, encoding="utf-8")
    return path


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def _mock_run(tmp_path: Path, name: str, *extra: str) -> Path:
    out = tmp_path / name
    result = _cli("run", str(_config(tmp_path)), "--out", str(out), "-q", "--no-control", *extra)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def mock_a(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mock run of the scenario, shared by the tests that only read it."""
    return _mock_run(tmp_path_factory.mktemp("mock"), "a")


def test_two_mock_runs_of_one_seed_compare_equal_without_latency(tmp_path: Path, mock_a: Path) -> None:
    a, b = mock_a, _mock_run(tmp_path, "b")
    result = _cli("compare", str(a), str(b))
    assert result.exit_code == 0, result.output
    assert (
        "no latency measured in both runs" in result.output and "no endpoint regressed" in result.output
    )
    data = json.loads((b / "compare.json").read_text())
    assert data["regressed"] == [] and data["improved"] == []
    assert {e["verdict"] for e in data["endpoints"]} == {"unchanged"}
    assert all(e["median_ratio"] is None and e["paired"] == 0 for e in data["endpoints"])
    assert "GET /posts/{id}" in [e["endpoint"] for e in data["endpoints"]]
    assert data["throughput"] == {"a": None, "b": None}  # the mock records no send times
    assert (b / "compare.html").read_text().startswith("<!DOCTYPE html>")


def test_runs_of_different_seeds_are_refused_naming_the_first_difference(
    tmp_path: Path, mock_a: Path
) -> None:
    a, b = mock_a, _mock_run(tmp_path, "b", "--seed", "8")
    result = _cli("compare", str(a), str(b), "--out", str(tmp_path / "cmp"))
    assert result.exit_code == 2
    assert "the action streams differ at seq 0 (action 1)" in result.output
    assert not (tmp_path / "cmp" / "compare.json").exists()


@pytest.mark.slow
def test_a_stopped_shorter_run_is_refused(tmp_path: Path, mock_a: Path) -> None:
    a = mock_a
    b = _mock_run(tmp_path, "b", "--duration", "5h")
    result = _cli("compare", str(a), str(b))
    assert result.exit_code == 2 and "run B has" in result.output and "ends before seq" in result.output


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--tolerance", "1.5"], "--tolerance: got 1.5"),
        (["--max-new-failures", "-1"], "--max-new-failures: got -1"),
    ],
)
def test_bad_options_exit_2(mock_a: Path, args: list[str], said: str) -> None:
    result = _cli("compare", str(mock_a), str(mock_a), *args)
    assert result.exit_code == 2 and said in result.output


def test_missing_run_or_log_exits_2(tmp_path: Path, mock_a: Path) -> None:
    a = mock_a
    result = _cli("compare", str(a), str(tmp_path / "nope"))
    assert result.exit_code == 2 and "no such run directory" in result.output
    no_log = _mock_run(tmp_path, "b", "--log", "none")
    result = _cli("compare", str(a), str(no_log))
    assert result.exit_code == 2 and "no action log" in result.output


def test_run_with_baseline_compares_into_its_own_directory(tmp_path: Path, mock_a: Path) -> None:
    a = mock_a
    b = _mock_run(tmp_path, "b", "--baseline", str(a))
    data = json.loads((b / "compare.json").read_text())
    assert data["run_a"] == str(a) and data["run_b"] == str(b) and data["regressed"] == []
    assert (b / "compare.html").is_file()
    result = _cli(
        "run", str(_config(tmp_path)), "--out", str(tmp_path / "c"), "-q", "--baseline", str(tmp_path)
    )
    assert result.exit_code == 2 and "--baseline" in result.output and "config.toml" in result.output


class SlowerMock(MockBackend):
    """The mock with lognormal latencies keyed by tick, read_post's × ``factor``, and ``fail`` of
    the reads answered 500."""

    def __init__(self, factor: float = 1.0, fail: float = 0.0) -> None:
        super().__init__()
        self.factor, self.fail = factor, fail

    def execute(self, batch: Any) -> Any:
        out = super().execute(batch)
        rng = np.random.default_rng(batch.tick)
        latency = rng.lognormal(2.0, 0.6, len(batch))
        reads = batch.kind == READ
        latency[reads] *= self.factor
        out.latency_ms = latency.astype(np.float32)
        broken = reads & (rng.random(len(batch)) < self.fail)
        out.status[broken] = 500
        return out


def _latency_run(config: Config, out: Path, backend: MockBackend, log: str = "jsonl") -> Path:
    built = build_run(
        config, run_dir=out, backend=backend, logs=[log], control_socket=False, handle_signals=False
    )
    with built:
        built.execute()
    return out


@pytest.fixture
def config(tmp_path: Path) -> Config:
    from simcore.run.loading import load_config

    return load_config(_config(tmp_path))


@pytest.mark.slow
def test_a_slower_endpoint_is_flagged_and_exits_3(tmp_path: Path, config: Config) -> None:
    a = _latency_run(config, tmp_path / "a", SlowerMock())
    b = _latency_run(config, tmp_path / "b", SlowerMock(factor=1.3), log="sqlite")
    result = _cli("compare", str(a), str(b), "--out", str(tmp_path / "cmp"))
    assert result.exit_code == EXIT_THRESHOLDS_FAILED, result.output
    assert "regressed: GET /posts/{id}" in result.output
    data = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert data["regressed"] == ["GET /posts/{id}"]
    read = next(e for e in data["endpoints"] if e["endpoint"] == "GET /posts/{id}")
    assert read["median_ratio"]["value"] == pytest.approx(1.3, rel=1e-5)
    assert all(
        e["median_ratio"]["value"] == pytest.approx(1.0) and e["verdict"] == "unchanged"
        for e in data["endpoints"]
        if e is not read
    )
    # the same runs the other way round: improved, exit 0
    result = _cli("compare", str(b), str(a), "--out", str(tmp_path / "back"))
    assert result.exit_code == 0 and "improved: GET /posts/{id}" in result.output
    # a tolerance above the slowdown: unchanged
    result = _cli("compare", str(a), str(b), "--out", str(tmp_path / "lax"), "--tolerance", "0.4")
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_new_failures_are_listed_with_their_sent_path(tmp_path: Path, config: Config) -> None:
    a = _latency_run(config, tmp_path / "a", SlowerMock(), log="parquet")
    b = _latency_run(config, tmp_path / "b", SlowerMock(fail=0.2))
    result = _cli("compare", str(a), str(b))
    assert result.exit_code == EXIT_THRESHOLDS_FAILED, result.output
    read = next(
        e
        for e in json.loads((b / "compare.json").read_text())["endpoints"]
        if e["endpoint"] == "GET /posts/{id}"
    )
    assert read["new_failures"] > 0 and read["verdict"] == "regressed"
    change = read["status_changes"][0]
    assert change["status_a"] == 200 and change["status_b"] == 500
    assert change["sent_path"].startswith("/posts/") and change["kind"] == "read_post"
    rows = [json.loads(line) for line in (b / "actions.jsonl").read_text().splitlines()]
    assert (
        rows[change["seq"]]["sent_path"] == change["sent_path"] and rows[change["seq"]]["status"] == 500
    )


@pytest.mark.slow
def test_kinds_of_a_configs_own_are_compared_by_their_routes(tmp_path: Path) -> None:
    """Custom kinds get their names and routes from each run's config, whatever the log format."""
    from tests.backends.test_custom_kinds import CROWD
    from tests.support import kinds_api

    profile = tmp_path / "kinds.toml"
    profile.write_text(kinds_api.ROUTES + CROWD + "[population]\ninitial_users = 100\n")
    runs = []
    for name, log in (("a", "jsonl"), ("b", "parquet")):
        out = tmp_path / name
        args = ["run", str(profile), "--duration", "3h", "--out", str(out), "-q", "--no-control"]
        assert _cli(*args, "--log", log).exit_code == 0
        runs.append(out)
    result = _cli("compare", str(runs[0]), str(runs[1]))
    assert result.exit_code == 0, result.output
    data = json.loads((runs[1] / "compare.json").read_text())
    by_kind = {tuple(e["kinds"]): e["endpoint"] for e in data["endpoints"]}
    assert by_kind[("comment",)] == "POST /posts/{ref_id}/comments"
    assert by_kind[("bookmark",)] == "PUT /me/bookmarks/{id}" and by_kind[("story",)] == "POST /stories"
