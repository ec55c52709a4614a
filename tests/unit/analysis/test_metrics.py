"""Metrics against hand-computed numbers on a scripted run; merge(part 1, part 2) == whole run."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simcore.analysis.metrics import Metrics
from simcore.core.actions import ActionBatch
from simcore.core.simulation import Simulation
from simcore.logs.fields import LogHeader
from simcore.scenario.parse import with_overrides
from simcore.scenario.schema import Config
from simcore.seam.contract import Outcomes
from simcore_backends.mock import MockBackend
from tests.unit.analysis.scripted import (
    PROFILES,
    START,
    STATES,
    K,
    batch_of,
    feed,
    new_metrics,
    scripted,
)


def test_counts_by_hour_and_kind() -> None:
    """Actions per kind per hour, failures, users over time, totals."""
    m = feed(new_metrics(), scripted())
    assert m.n_hours == 2
    pad = [0] * 6  # the social kinds (like_post ... browse_following): none here
    assert m.actions_by_hour().tolist() == [[3, 1, 0, 2, 0, 0, *pad], [0, 0, 5, 0, 1, 1, *pad]]
    assert m.hour_failed[:2].tolist() == [0, 4]  # 404, 403, timeout (status 0), skipped (status 0)
    assert m.users_by_hour().tolist() == [3, 3]
    t = m.totals()
    assert (t["actions"], t["failures"], t["users"], t["posts"]) == (13, 4, 3, 2)
    assert t["error_rate"] == pytest.approx(4 / 13)
    assert t["actions_per_hour"] == 6.5


def test_top_posters_and_posts() -> None:
    """Posts by author; views are reads answered 2xx (post 1's reads failed)."""
    m = feed(new_metrics(), scripted())
    assert m.top_posters() == [{"user": 0, "posts": 1}, {"user": 2, "posts": 1}]
    assert m.top_posts() == [{"post": 0, "views": 2, "author": 0}]


def test_reposts_and_quotes_have_their_author() -> None:
    """A repost or quote is a new post whose author is known (it used to show author -1);
    top posters still count only the posts users wrote (create_post)."""
    m = new_metrics()
    m.write(*batch_of(0, 0, [(0, K.CREATE_POST, 0, 201, 1, 0)]))
    m.write(*batch_of(1, 1, [(1, K.REPOST, 1, 201, 1, 0), (2, K.QUOTE_POST, 2, 201, 1, 0)]))
    m.write(*batch_of(2, 3, [(3, K.READ_POST, 1, 200, 1, 0), (4, K.READ_POST, 2, 200, 1, 0)]))
    m.write(*batch_of(3, 5, [(5, K.READ_POST, 1, 200, 1, 0), (6, K.REPOST, -1, 404, 1, 0)]))
    assert m.top_posts() == [
        {"post": 1, "views": 2, "author": 1},
        {"post": 2, "views": 1, "author": 2},
    ]
    assert m.top_posters() == [{"user": 0, "posts": 1}]


def test_latency_and_failures_per_endpoint() -> None:
    """Nearest-rank percentiles, exact max and mean; skipped actions have no latency."""
    m = feed(new_metrics(), scripted())
    rows = {r["endpoint"]: r for r in m.endpoint_stats()}
    signup = rows["sign_up"]
    assert signup["count"] == 3 and signup["failures"] == 0
    assert signup["p50_ms"] == pytest.approx(20, rel=0.01)
    assert signup["max_ms"] == 30 and signup["mean_ms"] == 20
    read = rows["read_post"]  # sent: 2, 4, 3, 1000 ms
    assert read["count"] == 5 and read["failures"] == 3
    assert read["p50_ms"] == pytest.approx(3, rel=0.01)
    assert read["p99_ms"] == pytest.approx(1000, rel=0.01) and read["max_ms"] == 1000
    assert read["mean_ms"] == pytest.approx(1009 / 4)
    assert rows["all"]["count"] == 13 and rows["all"]["failures"] == 4
    assert rows["all"]["max_ms"] == 1000
    assert m.failures() == {
        "read_post": {"404": 1, "timeout": 1, "skipped": 1},
        "update_post": {"403": 1},
    }


def test_latency_percentiles_per_hour() -> None:
    """Hour 0: 10, 20, 30, 5, 1, 5 ms; hour 1: 2, 4, 3, 6, 8, 1000 ms."""
    lat = feed(new_metrics(), scripted()).latency_by_hour((50, 100))
    np.testing.assert_allclose(lat, [[5, 30], [4, 1000]], rtol=0.01)


def test_day_shape_and_users_by_state() -> None:
    """Actions per hour of day (sign-ups excluded) and users by state from the hourly probe."""
    m = new_metrics()
    states = iter([np.array([0, 0, 2], np.uint8), np.array([1, 2, 2], np.uint8)])
    m.population_states = lambda: next(states)
    feed(m, scripted())
    shape = m.day_shape()
    assert shape["actions_weekday"][:3].tolist() == [3.0, 7.0, 0.0]
    assert shape["actions_weekend"].sum() == 0
    assert shape["users_by_state"][:2].tolist() == [[2, 0, 1], [0, 1, 2]]


def test_latest_actions() -> None:
    """The latest four actions, oldest first, in the JSONL log's shape."""
    latest = feed(new_metrics(), scripted()).latest_actions()
    assert [a["seq"] for a in latest] == [9, 10, 11, 12]
    last = latest[-1]
    assert last["action"] == "read_post" and last["path"] == "/posts/1" and last["error"] == "skipped"
    assert last["time"] == "2026-01-05T01:30:02.000"
    assert latest[0]["status"] == 403 and latest[0]["profile"] == "chatterbox"


def test_latest_actions_have_the_log_paths_and_refs() -> None:
    """Reposts, follows and unfollows put ``ref`` in their path, as in the JSONL log."""
    import json

    from simcore.logs.jsonl import format_lines

    kinds = [K.REPOST, K.QUOTE_POST, K.FOLLOW_USER, K.UNFOLLOW_USER, K.LIKE_POST, K.READ_POST]
    batch, outcomes = batch_of(0, 0, [(1, k, 9, 201, 1, 0) for k in kinds])
    batch.ref = np.array([7, 8, 45, 46, -1, -1], np.int32)
    m = new_metrics(latest_n=10)
    m.write(batch, outcomes)
    logged = [
        json.loads(line)
        for line in format_lines(batch, outcomes, LogHeader(START, 1800, PROFILES, STATES)).splitlines()
    ]
    latest = m.latest_actions()
    assert [a["path"] for a in latest] == [r["path"] for r in logged]
    assert [a["path"] for a in latest][:4] == [
        "/posts/7/repost",
        "/posts",
        "/users/45/follow",
        "/users/46/follow",
    ]
    assert [a["ref"] for a in latest] == [r["ref"] for r in logged] == [7, 8, 45, 46, None, None]


@pytest.mark.parametrize("k", [0, 1, 2, 3, 4])
def test_merge_of_parts_is_the_whole_scripted_run(k: int) -> None:
    """Split after any tick: merge(first part, second part) == whole run."""
    pairs = scripted()
    whole = feed(new_metrics(), pairs)
    merged = feed(new_metrics(), pairs[:k]).merge(feed(new_metrics(), pairs[k:]))
    assert merged.equals(whole)
    assert merged.summary() == whole.summary()


def _sim_pairs(config: Config, ticks: int) -> list[tuple[ActionBatch, Outcomes]]:
    sim, backend = Simulation(config), MockBackend()
    rng = np.random.default_rng(7)
    out = []
    for _ in range(ticks):
        batch = sim.step()
        outcomes = backend.execute(batch)
        outcomes.latency_ms = rng.lognormal(1.0, 1.0, len(batch)).astype(np.float32)
        out.append((batch, outcomes))
    return out


@pytest.fixture(scope="module")
def sim_pairs(small_config: Config) -> list[tuple[ActionBatch, Outcomes]]:
    return _sim_pairs(with_overrides(small_config, tick_seconds=300), 72)


@settings(max_examples=10)
@given(st.integers(0, 72))
def test_merge_of_simulated_parts_is_the_whole(
    sim_pairs: list[tuple[ActionBatch, Outcomes]], k: int
) -> None:
    """On a simulated run with random latencies, any time split merges back to the whole."""
    whole = Metrics(300, START, STATES, PROFILES, latest_n=50)
    feed(whole, sim_pairs)
    a = feed(Metrics(300, START, STATES, PROFILES, latest_n=50), sim_pairs[:k])
    b = feed(Metrics(300, START, STATES, PROFILES, latest_n=50), sim_pairs[k:])
    assert a.merge(b).equals(whole)
    assert b.merge(a).equals(whole)


def test_state_round_trips_through_npz(sim_pairs: list[tuple[ActionBatch, Outcomes]]) -> None:
    """state_arrays() saved with np.savez and JSON meta load back equal."""
    import json

    m = feed(Metrics(300, START, STATES, PROFILES), sim_pairs)
    arrays, meta = m.state_arrays(), m.settings()
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    buf.seek(0)
    with np.load(buf) as data:
        back = Metrics.from_state({k: data[k] for k in data.files}, json.loads(json.dumps(meta)))
    assert back.equals(m)
    assert back.summary() == m.summary()
    assert back.latest_actions() == m.latest_actions()


def test_merge_refuses_other_clocks() -> None:
    """Metrics of runs with different tick lengths do not merge."""
    with pytest.raises(ValueError, match="different clocks"):
        new_metrics().merge(Metrics(60, START, STATES, PROFILES))
