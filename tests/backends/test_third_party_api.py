"""A third-party-style API (tests/support/medium_api.py) driven through its routes table: the
action stream is the mock's, the server's database matches the log, a re-run against the same
database works, lost answers create no duplicates and lose no users, and a resumed run continues."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from simcore.run import snapshot as snapshots
from simcore.run.builder import build_run
from simcore.scenario.parse import with_overrides
from simcore.scenario.schema import Config
from simcore_backends.http import HttpBackend
from simcore_backends.mock import MockBackend
from simcore_backends.testclient import TestClientBackend
from tests.support import medium_api
from tests.support.dropping_proxy import DroppingProxy
from tests.support.liveserver import aiohttp_server, uvicorn_server
from tests.support.runner import run, without_outcomes
from tests.support.third_party import assert_db_matches_log, medium_config, ok

IDENTITY = ("seq", "user", "action", "post", "ref")


def _stream(records: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(r[k] for k in IDENTITY) for r in records]


@pytest.fixture(scope="module")
def config() -> Config:
    return medium_config()


@pytest.fixture(scope="module")
def expected(config: Config) -> list[dict[str, Any]]:
    _, records = run(config, MockBackend())
    return records


def _succeeded(records: list[dict[str, Any]], kinds: tuple[str, ...]) -> list[tuple[int, bool]]:
    return [(r["seq"], ok(r)) for r in records if r["action"] in kinds]


@pytest.mark.slow
def test_testclient_drives_the_medium_api(
    config: Config, expected: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through --app: the mock's stream, every action a success, the database as the log says;
    reads, edits and deletes of edited articles reach them by their new slug."""
    db = tmp_path / "medium.db"
    monkeypatch.setenv("MEDIUM_API_DB", str(db))
    backend = TestClientBackend(app="tests.support.medium_api:app_from_env")
    sim, records = run(config, backend)
    assert _stream(records) == _stream(expected)
    assert without_outcomes(records) == without_outcomes(expected)
    assert Counter(r["action"] for r in records if not ok(r)) == Counter()
    edits = [r for r in records if r["action"] == "update_post"]
    assert len(edits) > 10  # slugs changed, and the later reads and edits found them
    assert sum(r["action"] == "comment" for r in records) > 10  # a kind of the API's own
    # where the mock says a read, edit or delete went through, it went through here too
    kinds = ("read_post", "update_post", "delete_post")
    assert _succeeded(records, kinds) == _succeeded(expected, kinds)
    assert backend.rest is not None
    namespace = sim.config.backend.namespace
    assert len(namespace) == 8
    assert_db_matches_log(db, records, backend.rest.ids, namespace, config.seed)


@pytest.mark.server
@pytest.mark.slow
def test_http_runs_twice_against_the_same_database(
    config: Config, expected: list[dict[str, Any]], tmp_path: Path
) -> None:
    """Over real HTTP, the same seed twice against one database: each run gets its own {run}
    namespace, so every sign-up of the second run is new, and each run's log matches its users."""
    db = tmp_path / "medium.db"
    with uvicorn_server(medium_api.create_app(db)) as url:
        runs = []
        for _ in range(2):
            backend = HttpBackend(target=url)
            sim, records = run(config, backend)
            assert backend.rest is not None
            runs.append((sim.config.backend.namespace, records, backend.rest.ids))
    (ns1, first, ids1), (ns2, second, ids2) = runs
    assert ns1 != ns2
    for records in (first, second):
        assert _stream(records) == _stream(expected)
        assert all(ok(r) for r in records), Counter(
            (r["action"], r["status"]) for r in records if not ok(r)
        )
    assert_db_matches_log(db, first, ids1, ns1, config.seed)
    assert_db_matches_log(db, second, ids2, ns2, config.seed)
    users = medium_api.read_db(db)["users"]
    assert len(users) == 2 * sum(r["action"] == "sign_up" for r in first)


@pytest.mark.server
@pytest.mark.slow
def test_lost_answers_create_no_duplicates_and_lose_no_users(
    config: Config, expected: list[dict[str, Any]], tmp_path: Path
) -> None:
    """A proxy drops 10 % of the answers after the app handled the requests: sign-ups whose
    answer was lost log in (exists = [422]), likes and follows retried into 409 count as done
    (ok = [409]), creates are not made twice, and the database still matches the log."""
    db = tmp_path / "medium.db"
    # 6 retries: an action fails only if 7 answers in a row are lost (1e-7 an action)
    patient = with_overrides(config, backend__retries=6)
    with uvicorn_server(medium_api.create_app(db)) as url:
        proxy = DroppingProxy(url, rate=0.10)
        with aiohttp_server(proxy.app()) as proxied:
            backend = HttpBackend(target=proxied)
            sim, records = run(patient, backend)
    assert proxy.dropped > 0.05 * proxy.requests
    assert _stream(records) == _stream(expected)
    retried = [r for r in records if r["attempts"] > 1]
    assert len(retried) > 0.05 * len(records)
    # sign-ups, likes and follows whose first answer was lost met "taken" / "already" on retry
    for kinds in (("sign_up",), ("like_post", "follow_user")):
        assert any(r["action"] in kinds and r["attempts"] > 1 for r in records), kinds
    assert [r for r in records if not ok(r)] == []
    assert backend.rest is not None
    assert_db_matches_log(db, records, backend.rest.ids, sim.config.backend.namespace, config.seed)


def _log(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "actions.jsonl").read_text().splitlines()]


def _split_run(config: Config, run_dir: Path, ticks: int, backend: Any, resumed_backend: Any) -> Any:
    """Run ``ticks`` ticks, then resume from the snapshot to the end; return the resumed run."""
    options: dict[str, Any] = {"control_socket": False, "handle_signals": False}
    with build_run(config, run_dir=run_dir, backend=backend, **options) as first:
        first.execute(ticks)
    snap = snapshots.load(run_dir)
    assert snap.tick == ticks
    assert snap.config.backend.namespace == first.config.backend.namespace
    with build_run(snap.config, resume=snap, backend=resumed_backend, **options) as second:
        second.execute()
    return second


@pytest.mark.server
@pytest.mark.slow
def test_a_resumed_http_run_continues_with_its_users(config: Config, tmp_path: Path) -> None:
    """A run stopped after an hour and resumed from its snapshot against the same server
    skips nothing: the snapshot kept the users' tokens, the posts' slugs and {run}."""
    half = config.duration_ticks // 2
    # the mock split the same way (a resumed core's stream is the reference here)
    _split_run(config, tmp_path / "mock", half, MockBackend(), MockBackend())
    expected = _log(tmp_path / "mock")
    db = tmp_path / "medium.db"
    resumed = HttpBackend(target="")
    with uvicorn_server(medium_api.create_app(db)) as url:
        resumed.target_option = url
        second = _split_run(config, tmp_path / "run", half, HttpBackend(target=url), resumed)
    records = _log(tmp_path / "run")
    assert _stream(records) == _stream(expected)
    after = [r for r in records if r["tick"] >= half]
    assert len(after) > 500
    assert all(ok(r) for r in records), Counter((r["action"], r["error"]) for r in after if not ok(r))
    assert resumed.rest is not None
    namespace = second.config.backend.namespace
    assert_db_matches_log(db, records, resumed.rest.ids, namespace, config.seed)
