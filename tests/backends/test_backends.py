"""One suite over every backend: the same config and seed give the same action stream.

mock, testclient (the reference app in process) and http (a real uvicorn serving
the reference app on a free loopback port) must log the same actions; with no
faults they even answer with the same statuses; and the app's final posts, ids
mapped back, are the mock's world, which is the core's world.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from simcore.core.content import post_text
from simcore.scenario.parse import with_overrides
from simcore.scenario.schema import Config
from simcore.seam.contract import Backend, ErrorKind
from simcore_backends.http import HttpBackend
from simcore_backends.mock import MockBackend
from simcore_backends.refapp import create_app
from simcore_backends.testclient import TestClientBackend
from tests.support.liveserver import uvicorn_server
from tests.support.runner import app_posts, run, small, without_outcomes

BACKENDS = [
    "mock",
    pytest.param("testclient", marks=pytest.mark.slow),
    pytest.param("http", marks=pytest.mark.server),
    pytest.param("http-aiohttp", marks=pytest.mark.server),
]

Factory = Callable[[str], tuple[Backend, Path | None]]


@pytest.fixture
def make_backend(tmp_path: Path) -> Iterator[Factory]:
    """Build a backend by name; http gets a fresh reference app under uvicorn (stopped after)."""
    with ExitStack() as stack:

        def make(name: str) -> tuple[Backend, Path | None]:
            db = tmp_path / f"{name}-{len(stack._exit_callbacks)}.db"
            if name == "mock":
                return MockBackend(), None
            if name == "testclient":
                return TestClientBackend(db=str(db)), db
            url = stack.enter_context(uvicorn_server(create_app(db)))
            if name == "http-aiohttp":  # aiohttp's client, one tick at a time
                return HttpBackend(target=url, client="aiohttp", pipeline=1), db
            return HttpBackend(target=url), db

        yield make


@pytest.fixture(scope="module")
def scenario(default_config: Config) -> Config:
    """150 people, 90 simulated evening minutes, busy enough to post, edit and delete."""
    mix = {"lurker": 0.4, "chatterbox": 0.3, "content_curator": 0.3}
    return small(default_config, users=150, duration="90m", population__mix=mix)


@pytest.fixture(scope="module")
def mock_run(scenario: Config) -> tuple[Any, list[dict[str, Any]], MockBackend]:
    backend = MockBackend()
    sim, records = run(scenario, backend)
    return sim, records, backend


def test_mock_world_is_the_core_world(mock_run: Any) -> None:
    """The mock's own store ends where the core's world ends."""
    sim, records, mock = mock_run
    world = sim.world
    assert np.array_equal(mock.live_posts(), np.flatnonzero(world.live()))
    assert np.array_equal(mock.author[: world.n], world.author[: world.n])
    assert np.array_equal(mock.views[: world.n], world.views[: world.n])
    kinds = {r["action"] for r in records}
    from simcore.scenario.kinds import KIND_NAMES

    assert kinds == set(KIND_NAMES)  # every action kind, the social ones included


@pytest.mark.parametrize("name", BACKENDS)
def test_same_stream_and_world_on_every_backend(
    name: str, scenario: Config, mock_run: Any, make_backend: Factory
) -> None:
    """Logs equal the mock's but for latency; the app's final posts equal the mock's world."""
    sim_m, records_m, mock = mock_run
    backend, db = make_backend(name)
    _, records = run(scenario, backend)
    assert len(records) == len(records_m) > 500
    assert without_outcomes(records, keep=("status", "attempts", "error")) == without_outcomes(
        records_m, keep=("status", "attempts", "error")
    )
    assert all(r["error"] is None and r["attempts"] == 1 for r in records)
    if db is None:
        assert all(r["sent_path"] == r["path"] and "sent_at" not in r for r in records)
        return
    _check_real_time_fields(records, scenario)
    if isinstance(backend, HttpBackend):
        assert backend.client == ("aiohttp" if name == "http-aiohttp" else "lean")
        assert backend.max_batches_in_flight == (1 if name == "http-aiohttp" else 4)
    assert isinstance(backend, (TestClientBackend, HttpBackend)) and backend.rest is not None
    posts = app_posts(db, backend.rest.ids.post)
    world = sim_m.world
    assert sorted(posts) == list(range(world.n))  # every post the core created, once
    live = sorted(p for p, row in posts.items() if row["live"])
    assert live == mock.live_posts().tolist()
    assert all(row["author"] == world.author[p] for p, row in posts.items())
    assert all(row["views"] == world.views[p] for p, row in posts.items())
    edited = 0
    for p, row in posts.items():
        if world.ref[p] >= 0 and row["content"] == "":
            continue  # a repost: no text of its own
        assert row["content"] == post_text(scenario.seed, p, row["version"])
        assert (row["version"] > 1) == (world.updated_tick[p] >= 0)
        edited += row["version"] > 1
    assert edited > 0


def _check_real_time_fields(records: list[dict[str, Any]], scenario: Config) -> None:
    """What a backend with real requests records: the path it sent (the server's ids in the
    route), when (wall-clock UTC, in order of the stream within a few seconds), the answer's size."""
    import time

    now = time.time() * 1000
    for r in records:
        assert now - 600_000 < r["sent_at"] <= now, r
        assert r["bytes"] == 0 if r["status"] == 204 else r["bytes"] > 0, r
        head = r["path"].split("/")[1]
        assert r["sent_path"].startswith("/" + head) and "{" not in r["sent_path"], r
    feed = next(r for r in records if r["action"] == "browse_feed")
    assert feed["sent_path"] == feed["path"]
    assert [r["seq"] for r in sorted(records, key=lambda r: r["sent_at"])][:1] == [0]


@pytest.mark.parametrize("name", ["mock", pytest.param("testclient", marks=pytest.mark.slow)])
def test_injected_faults_agree_between_mock_and_testclient(
    name: str, scenario: Config, make_backend: Factory
) -> None:
    """[faults] gives the same failures, retries and skips in mock and testclient."""
    faulty = with_overrides(
        scenario,
        faults__error_rate=0.08,
        faults__timeout_rate=0.04,
        faults__latency_median_ms=20.0,
        faults__latency_sigma=0.5,
        backend__retries=1,
    )
    _, reference = run(faulty, MockBackend())
    backend, _db = make_backend(name)
    _, records = run(faulty, backend)
    outcome = ("status", "attempts", "error")
    assert without_outcomes(records, keep=outcome) == without_outcomes(reference, keep=outcome)
    errors = {r["error"] for r in records}
    assert {None, "injected", "timeout", "skipped"} <= errors
    assert {r["status"] for r in records if r["error"] == "injected"} == {503}
    assert all(r["status"] == 0 and r["attempts"] == 0 for r in records if r["error"] == "skipped")
    retried = [r for r in records if r["attempts"] == 2]
    assert retried and all(r["latency_ms"] >= 20.0 * 0.05 for r in retried)
    assert all(r["latency_ms"] >= 10_000 for r in records if r["error"] == "timeout")


def test_faults_without_retries_fail_at_first_attempt(scenario: Config) -> None:
    """With retries = 0 every injected failure is final, and its action has no effect."""
    cfg = with_overrides(scenario, faults__error_rate=0.5, backend__retries=0)
    _, records = run(cfg, MockBackend())
    assert {r["attempts"] for r in records} <= {0, 1}
    injected = [r for r in records if r["error"] == "injected"]
    assert 0.4 < len(injected) / len([r for r in records if r["error"] != "skipped"]) < 0.6
    signed_up = {r["user"] for r in records if r["action"] == "sign_up" and r["error"] is None}
    for r in records:
        if r["action"] != "sign_up" and r["user"] not in signed_up:
            assert r["error"] == "skipped"
    assert int(ErrorKind.SKIPPED) == 3
