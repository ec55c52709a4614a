"""A custom API described by [backend.routes] (tests/support/custom_api.py), driven end to end
through the testclient and http backends."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from simcore.core.content import post_text
from simcore.scenario.parse import loads_config
from simcore.scenario.schema import Config
from simcore_backends.http import HttpBackend
from simcore_backends.mock import MockBackend
from simcore_backends.testclient import TestClientBackend
from tests.support import custom_api
from tests.support.liveserver import uvicorn_server
from tests.support.runner import run, small, without_outcomes


@pytest.fixture
def custom_config(default_config: Config) -> Config:
    base = loads_config(custom_api.ROUTES)
    from attrs import evolve

    busy = {"chatterbox": 0.5, "content_curator": 0.5}  # people who post, edit and delete
    return small(
        evolve(default_config, backend=base.backend),
        users=120,
        duration="1h",
        population__mix=busy,
    )


def _check_custom_requests(cfg: Config, records: list[dict[str, Any]]) -> None:
    received = custom_api.RECEIVED
    counts = Counter(r["action"] for r in records)
    by_route = Counter(
        (r["method"], r["path"].rsplit("/", 1)[0] if r["method"] != "POST" else r["path"])
        for r in received
    )
    assert by_route[("POST", "/api/v2/accounts")] == counts["sign_up"]
    assert by_route[("GET", "/api/v2/timelines")] == counts["browse_feed"]
    assert by_route[("GET", "/api/v2/statuses")] == counts["read_post"]
    assert by_route[("POST", "/api/v2/statuses")] == counts["create_post"] > 0
    assert by_route[("PATCH", "/api/v2/statuses")] == counts["update_post"] > 0
    assert by_route[("DELETE", "/api/v2/statuses")] == counts["delete_post"] > 0
    assert sum(by_route.values()) == len(records)
    assert all(r["status"] == 200 and r["error"] is None for r in records)
    feeds = [r for r in received if r["path"] == "/api/v2/timelines/home"]
    assert all(r["query"] == "limit=5" and r["auth"].startswith("Token ") for r in feeds)
    signups = [json.loads(r["body"]) for r in received if r["path"] == "/api/v2/accounts"]
    assert all(set(b) == {"username", "ref"} and isinstance(b["ref"], int) for b in signups)
    creates = [r for r in records if r["action"] == "create_post"]
    bodies = [
        json.loads(r["body"]) for r in received if r["method"] == "POST" and "statuses" in r["path"]
    ]
    # concurrent requests arrive in any order
    assert sorted(b["status"] for b in bodies) == sorted(
        post_text(cfg.seed, r["post"], 1) for r in creates
    )
    assert all(r["key"] for r in received if r["method"] != "GET")


@pytest.mark.slow
def test_custom_routes_through_testclient(custom_config: Config) -> None:
    """--app tests.support.custom_api:app gets the requests the routes table describes."""
    custom_api.reset()
    _, expected = run(custom_config, MockBackend())
    _, records = run(custom_config, TestClientBackend(app="tests.support.custom_api:app"))
    assert without_outcomes(records) == without_outcomes(expected)
    _check_custom_requests(custom_config, records)


@pytest.mark.server
def test_custom_routes_through_http(custom_config: Config) -> None:
    """The same over real HTTP."""
    custom_api.reset()
    _, expected = run(custom_config, MockBackend())
    with uvicorn_server(custom_api.app) as url:
        _, records = run(custom_config, HttpBackend(target=url))
    assert without_outcomes(records) == without_outcomes(expected)
    _check_custom_requests(custom_config, records)
