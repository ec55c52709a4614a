"""The http backend against real failures: dropped connections, 503, 429, stalls; and its ordering rule."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from simcore.core.actions import ActionBatch
from simcore.scenario.kinds import ActionKind
from simcore.scenario.parse import with_overrides
from simcore.scenario.schema import Config
from simcore.seam.retry import RetryPolicy, parse_retry_after, retryable
from simcore_backends.http import HttpBackend
from simcore_backends.mock import MockBackend
from simcore_backends.ordering import Tracker, dependencies
from tests.support.flaky_server import FlakyServer
from tests.support.helpers import scripted_batch
from tests.support.liveserver import aiohttp_server
from tests.support.runner import run, small, without_outcomes

BOUND = 8


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.parametrize("client", ["lean", "aiohttp"])
def test_run_survives_a_flaky_server(default_config: Config, client: str) -> None:
    """Every action is logged with outcome and attempts; nothing duplicated; in flight <= bound."""
    cfg = with_overrides(
        small(default_config, users=250, duration="1h"),
        backend__client=client,
        backend__concurrency=BOUND,
        backend__timeout=0.5,
        backend__retries=3,
        backend__backoff_ms=20.0,
        backend__backoff_max_ms=1500.0,
    )
    _, expected = run(cfg, MockBackend())
    server = FlakyServer(retry_after="1")
    with aiohttp_server(server.app(), handler_cancellation=True) as url:
        backend = HttpBackend(target=url)
        _, records = run(cfg, backend)

    # the same actions, each with an outcome
    assert without_outcomes(records) == without_outcomes(expected)
    for r in records:
        if r["error"] == "skipped":
            assert r["status"] == 0 and r["attempts"] == 0
        else:
            assert 1 <= r["attempts"] <= 4 and r["latency_ms"] > 0
            assert r["status"] != 0 or r["error"] in ("connection", "timeout")
    # every kind of fault happened and was retried through
    assert {"drop", "lost", "503", "429", "stall", "ok"} <= set(server.faults)
    assert max(r["attempts"] for r in records) >= 3
    assert any(r["attempts"] > 1 and 200 <= r["status"] < 300 for r in records)
    # failed-for-good sign-ups and creates make their later actions skipped, not sent
    assert any(r["error"] == "skipped" for r in records)
    failed_creates = {
        r["post"] for r in records if r["action"] == "create_post" and not 200 <= r["status"] < 300
    }
    assert failed_creates
    for r in records:
        if r["action"] in ("read_post", "update_post", "delete_post") and r["post"] in failed_creates:
            assert r["error"] == "skipped"
    # Retry-After: 1 was honoured (the wait is at least a second)
    assert server.faults["429"] > 0
    assert any(r["latency_ms"] >= 1000 for r in records if r["attempts"] > 1)
    # no post was created twice, though some creates were handled and their answer lost
    assert server.faults["lost"] > 0
    assert all(count == 1 for count in server.created_by_key.values())
    created = [r for r in records if r["action"] == "create_post" and r["status"] == 201]
    assert len(server.posts) >= len(created)
    assert len(server.posts) == len(server.created_by_key)
    # bounded in flight, on both sides
    assert server.max_in_flight <= BOUND
    assert backend.max_in_flight <= BOUND
    assert server.max_in_flight >= 2  # and it did send concurrently


R, U, D, C, F, S = (
    ActionKind.READ_POST,
    ActionKind.UPDATE_POST,
    ActionKind.DELETE_POST,
    ActionKind.CREATE_POST,
    ActionKind.BROWSE_FEED,
    ActionKind.SIGN_UP,
)


def test_ordering_rule_reads_and_changes_of_one_post() -> None:
    """A read waits for the last earlier change; a change waits for every earlier request."""
    batch = scripted_batch([R, R, D, R, F, R], [1, 2, 3, 4, 5, 6], [9, 9, 9, 9, -1, 7])
    assert dependencies(batch) == {2: (0, 1), 3: (2,)}


def test_ordering_rule_sign_up_and_create_in_one_batch() -> None:
    """Should a user act or a post be targeted in the tick it appears, they wait for it."""
    batch = scripted_batch([S, F, C, R, U, R], [5, 5, 6, 7, 6, 8], [-1, -1, 40, 40, 40, 41])
    assert dependencies(batch) == {1: (0,), 3: (2,), 4: (2, 3)}


def test_independent_actions_do_not_wait() -> None:
    """Reads of one post, creates and feeds run concurrently."""
    batch = scripted_batch([R, R, R, C, C, F], [1, 2, 3, 4, 5, 6], [3, 3, 3, 10, 11, -1])
    assert dependencies(batch) == {}


def test_ordering_rule_across_ticks_in_flight() -> None:
    """With ticks in flight, a request waits for the sign-up or change it needs while it is pending."""
    tracker = Tracker()
    waits1, jobs1 = tracker.plan(scripted_batch([S, C, R], [9, 1, 2], [-1, 5, 4]))
    assert waits1 == {}
    waits2, jobs2 = tracker.plan(scripted_batch([F, R, U, D], [9, 3, 1, 2], [-1, 5, 5, 4]))
    # the feed waits for user 9's sign-up, the read for post 5's create, the edit for the
    # create and the read before it, the delete of post 4 for the read of it still out
    assert waits2 == {0: [jobs1[0]], 1: [jobs1[1]], 2: [jobs1[1], jobs2[1]], 3: [jobs1[2]]}
    for job in jobs1.values():
        job.finish()
    waits3, _ = tracker.plan(scripted_batch([F, R], [9, 3], [-1, 7]))
    assert waits3 == {}


def test_ordering_rule_follow_then_unfollow_across_ticks() -> None:
    """An unfollow waits for the follow of the same pair still in flight; other pairs do not."""
    tracker = Tracker()

    def follows(kinds: list[int], users: list[int], refs: list[int]) -> ActionBatch:
        batch = scripted_batch(kinds, users, [-1] * len(kinds))
        batch.ref = np.array(refs, np.int32)
        return batch

    fo, un = ActionKind.FOLLOW_USER, ActionKind.UNFOLLOW_USER
    waits1, jobs1 = tracker.plan(follows([fo, fo], [44, 45], [11, 11]))
    assert waits1 == {}
    waits2, jobs2 = tracker.plan(follows([un, un], [44, 45], [11, 12]))
    assert waits2 == {0: [jobs1[0]]}
    jobs1[0].finish()
    waits3, _ = tracker.plan(follows([fo, fo], [44, 46], [11, 11]))
    assert waits3 == {0: [jobs2[0]]}  # following again waits for the unfollow still out
    jobs2[0].finish()
    waits4, _ = tracker.plan(follows([un], [46], [11]))
    assert waits4 != {} and tracker.edges.keys() >= {(46, 11)}


def test_retry_policy_is_keyed_exponential_and_bounded() -> None:
    """Backoff grows, is jittered by (seed, seq, attempt), capped, and honours Retry-After."""
    policy = RetryPolicy(seed=1, retries=5, backoff_ms=100.0, backoff_max_ms=1000.0)
    seqs = np.arange(2000)
    for attempt, cap in ((1, 100.0), (2, 200.0), (3, 400.0), (5, 1000.0)):
        d = policy.delays_ms(seqs, attempt)
        assert (d >= cap / 2).all() and (d <= cap).all() and d.std() > cap / 10
    assert np.array_equal(policy.delays_ms(seqs, 2), RetryPolicy(1, 5, 100.0, 1000.0).delays_ms(seqs, 2))
    assert not np.array_equal(
        policy.delays_ms(seqs, 2), RetryPolicy(2, 5, 100.0, 1000.0).delays_ms(seqs, 2)
    )
    assert policy.delay_ms(7, 1, retry_after_ms=800.0) == 800.0
    assert policy.delay_ms(7, 1, retry_after_ms=60_000.0) == 1000.0
    assert parse_retry_after("2") == 2000.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480.0 - 2) == 2000.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    assert retryable(429) and retryable(503) and retryable(500)
    assert not retryable(404) and not retryable(201) and not retryable(422)


@pytest.mark.server
@pytest.mark.parametrize("client", ["lean", "aiohttp"])
def test_slow_server_keeps_in_flight_at_the_bound(default_config: Config, client: str) -> None:
    """Against a server slower than the simulation, requests in flight never pass the bound."""
    cfg = with_overrides(
        small(default_config, users=150, duration="30m"), backend__concurrency=4, backend__client=client
    )
    server = _SlowServer()
    with aiohttp_server(server.app()) as url:
        backend = HttpBackend(target=url)
        _, records = run(cfg, backend)
    assert all(r["status"] in (200, 201, 204) for r in records)
    assert server.max_in_flight == 4 == backend.max_in_flight
    assert backend.max_batches_in_flight == 4  # the default pipeline: ticks overlap, boundedly


class _SlowServer:
    """Answers everything after 5 ms, counting concurrency."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.max_in_flight = 0
        self.posts = 0

    async def handle(self, request: Any) -> Any:
        import asyncio

        from aiohttp import web

        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.005)
            if request.method == "POST" and request.path == "/users":
                return web.json_response({"id": 1, "token": "t"}, status=201)
            if request.method == "POST":
                self.posts += 1
                return web.json_response({"id": self.posts}, status=201)
            return web.Response(status=204 if request.method == "DELETE" else 200)
        finally:
            self.in_flight -= 1

    def app(self) -> Any:
        from aiohttp import web

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app
