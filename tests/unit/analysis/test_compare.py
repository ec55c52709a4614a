"""simcore compare's statistics: pairing, the stream check, bootstrap intervals, verdicts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simcore.analysis.compare import (
    CompareOptions,
    Interval,
    bootstrap_ratios,
    compare,
    endpoint_names,
    signed_rank_p,
    verdict,
)
from simcore.analysis.pairing import PairedRuns, first_difference
from simcore.logs.read import LogColumns
from simcore.scenario.kinds import KIND_NAMES

READ = KIND_NAMES.index("read_post")
FEED = KIND_NAMES.index("browse_feed")


def columns(
    kind: list[int] | np.ndarray,
    latency: np.ndarray | None = None,
    status: np.ndarray | None = None,
    sent_at: np.ndarray | None = None,
) -> LogColumns:
    """A log of ``len(kind)`` actions: user i, post i, one second apart."""
    n = len(kind)
    idx = np.arange(n, dtype=np.int64)
    cols = LogColumns(idx * 1000, idx.copy(), np.asarray(kind, np.int64), idx.copy())
    cols.seq = idx.copy()
    cols.status = np.full(n, 200, np.int64) if status is None else np.asarray(status, np.int64)
    cols.latency_ms = np.ones(n) if latency is None else np.asarray(latency, np.float64)
    cols.error = np.zeros(n, np.int64)
    cols.sent_at = np.zeros(n, np.int64) if sent_at is None else np.asarray(sent_at, np.int64)
    cols.bytes = np.full(n, -1, np.int64)
    return cols


ROUTES = [f"GET /{k}" for k in KIND_NAMES]


def test_same_stream_has_no_difference() -> None:
    a = columns([READ, FEED, READ])
    assert first_difference(a, columns([READ, FEED, READ], latency=np.full(3, 9.0))) is None


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("kind", FEED, "kind read_post in A, browse_feed in B"),
        ("user", 77, "user 2 in A, 77 in B"),
        ("post", -1, "post 2 in A, none in B"),
        ("time_ms", 5000, "time_ms 1970-01-01T00:00:02.000 in A, 1970-01-01T00:00:05.000 in B"),
    ],
)
def test_first_difference_names_the_seq_and_what_differs(field: str, value: int, said: str) -> None:
    a, b = columns([READ] * 5), columns([READ] * 5)
    getattr(b, field)[2] = value
    getattr(b, field)[4] = value  # a later difference is not the first
    message = first_difference(a, b)
    assert message is not None
    assert "seq 2 " in message and said in message


def test_a_shorter_stream_is_a_difference() -> None:
    message = first_difference(columns([READ] * 5), columns([READ] * 3))
    assert message is not None and "run B has 3 actions and run A 5" in message and "seq 3" in message


@given(st.floats(0.2, 5.0), st.integers(1, 300), st.integers(0, 2**32 - 1))
@settings(max_examples=30)
def test_a_constant_ratio_is_found_exactly(k: float, n: int, seed: int) -> None:
    """B = k × A for every action: every ratio and every interval is k (to rounding)."""
    a = np.random.default_rng(seed).lognormal(1.0, 0.8, n)
    out = bootstrap_ratios(a, a * k, np.random.default_rng(seed), resamples=200)
    for interval in out.values():
        assert interval.value == pytest.approx(k, rel=1e-9)
        assert interval.low == pytest.approx(k, rel=1e-9) and interval.high == pytest.approx(k, rel=1e-9)


@given(st.integers(1, 200).map(lambda x: 2 * x + 1), st.integers(0, 2**32 - 1))
@settings(max_examples=30)
def test_swapping_the_runs_inverts_the_median_ratio(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = rng.lognormal(1, 0.5, n), rng.lognormal(1.2, 0.5, n)
    ab = bootstrap_ratios(a, b, np.random.default_rng(1), resamples=100)["median"]
    ba = bootstrap_ratios(b, a, np.random.default_rng(1), resamples=100)["median"]
    assert ab.value * ba.value == pytest.approx(1.0)  # odd n: the median is one of the ratios


def test_bootstrap_is_seeded() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.lognormal(1, 0.5, 500), rng.lognormal(1.1, 0.5, 500)
    one = bootstrap_ratios(a, b, np.random.default_rng(7))
    assert one == bootstrap_ratios(a, b, np.random.default_rng(7))
    assert one != bootstrap_ratios(a, b, np.random.default_rng(8))


@pytest.mark.slow
def test_median_interval_covers_a_known_ratio_about_95_percent_of_the_time() -> None:
    """Synthetic pairs with a true median ratio of 1.2: the 95 % interval holds it in 91-99 % of
    300 replications (binomial bounds for 300 draws at 95 %)."""
    rng = np.random.default_rng(2024)
    hits = 0
    trials = 300
    for _ in range(trials):
        a = rng.lognormal(1.0, 0.7, 301)
        b = a * 1.2 * rng.lognormal(0.0, 0.3, 301)  # noise with median 1
        median = bootstrap_ratios(a, b, rng, resamples=500)["median"]
        hits += median.low <= 1.2 <= median.high
    assert 0.91 * trials <= hits <= 0.99 * trials


def test_a_burst_that_moves_together_counts_as_one_draw() -> None:
    """30 bursts of 40 actions whose ratios move together: resampled by burst, the interval is
    several times wider than resampled action by action (which would take 1,200 draws for 30)."""
    rng = np.random.default_rng(4)
    burst = np.repeat(np.arange(30), 40)
    a = rng.lognormal(1, 0.5, len(burst))
    b = a * rng.lognormal(0, 0.2, 30)[burst] * rng.lognormal(0, 0.01, len(burst))
    alone = bootstrap_ratios(a, b, np.random.default_rng(1))["median"]
    together = bootstrap_ratios(a, b, np.random.default_rng(1), clusters=burst * 7 + 3)["median"]
    assert alone.value == together.value
    assert (together.high - together.low) > 4 * (alone.high - alone.low)


def test_one_cluster_has_no_spread_and_is_not_judged() -> None:
    a = columns([READ] * 40, latency=np.linspace(1, 2, 40))
    b = columns([READ] * 40, latency=np.linspace(1, 2, 40) * 3)
    a.time_ms[:] = b.time_ms[:] = 0  # one simulated minute: one burst
    names, _ = endpoint_names(ROUTES, ROUTES)
    (read,) = compare(PairedRuns.of(a, b), names)["endpoints"]
    assert read["clusters"] == 1 and read["verdict"] == "unchanged"
    assert read["note"] == "latency not judged: sent in 1 simulated minutes, fewer than 10"


@pytest.mark.slow
def test_large_endpoints_stay_within_the_budget_and_agree() -> None:
    rng = np.random.default_rng(9)
    a = rng.lognormal(1, 0.5, 30_001)
    b = a * 1.1 * rng.lognormal(0, 0.2, 30_001)
    out = bootstrap_ratios(a, b, rng, resamples=1000)  # 30M resampled values: over the budget
    assert out["median"].low < 1.1 < out["median"].high
    assert out["median"].high - out["median"].low < 0.01


def test_signed_rank_p() -> None:
    rng = np.random.default_rng(1)
    a = rng.lognormal(1, 0.3, 200)
    assert signed_rank_p(a, a) == 1.0
    assert signed_rank_p(a, a * 1.3 * rng.lognormal(0, 0.05, 200)) < 1e-6  # type: ignore[operator]
    assert signed_rank_p(a[:1], a[:1]) is None


OPTIONS = CompareOptions(tolerance=0.05, max_new_failures=0.01)


@pytest.mark.parametrize(
    ("median", "new", "fixed", "expected"),
    [
        (Interval(1.2, 1.1, 1.3), 0.0, 0.0, "regressed"),
        (Interval(1.2, 1.04, 1.3), 0.0, 0.0, "unchanged"),  # the interval reaches below 1.05
        (Interval(0.8, 0.7, 0.9), 0.0, 0.0, "improved"),
        (Interval(0.9, 0.8, 0.96), 0.0, 0.0, "unchanged"),
        (Interval(1.0, 0.99, 1.01), 0.02, 0.0, "regressed"),  # new failures over 1 %
        (Interval(1.0, 0.99, 1.01), 0.01, 0.0, "unchanged"),  # exactly at the limit
        (Interval(1.0, 0.99, 1.01), 0.0, 0.02, "improved"),  # failures fixed
        (Interval(0.8, 0.7, 0.9), 0.02, 0.0, "regressed"),  # faster, but failing: regressed
        (None, 0.0, 0.0, "unchanged"),  # no latency (the mock)
    ],
)
def test_verdict(median: Interval | None, new: float, fixed: float, expected: str) -> None:
    assert verdict(median, new, fixed, OPTIONS)[0] == expected


def test_compare_flags_the_slowed_endpoint_and_no_other() -> None:
    rng = np.random.default_rng(11)
    kind = rng.choice([READ, FEED], 4000)
    base = rng.lognormal(1.5, 0.6, 4000) * np.where(kind == FEED, 3.0, 1.0)  # per-action cost
    noise = rng.lognormal(0, 0.1, (2, 4000))
    a = columns(kind, latency=base * noise[0], sent_at=1_000_000 + np.arange(4000) * 10)
    b = columns(
        kind,
        latency=base * noise[1] * np.where(kind == READ, 1.15, 1.0),
        sent_at=2_000_000 + np.arange(4000) * 20,
    )
    names, notes = endpoint_names(ROUTES, ROUTES)
    result = compare(PairedRuns.of(a, b), names, OPTIONS)
    assert notes == []
    assert result["regressed"] == [f"GET /{KIND_NAMES[READ]}"] and result["improved"] == []
    read = next(e for e in result["endpoints"] if e["kinds"] == ["read_post"])
    assert read["median_ratio"]["low"] > 1.05 and read["p_value"] < 1e-6
    assert result["throughput"]["a"] == pytest.approx(4000 / 39.99) and result["throughput"][
        "b"
    ] == pytest.approx(4000 / 79.98)


def test_status_changes_are_counted_listed_and_judged() -> None:
    n = 2000
    kind = np.full(n, READ)
    status_b = np.full(n, 200)
    status_b[[5, 50, 500]] = [500, 0, 404]
    status_a = np.full(n, 200)
    status_a[7] = 503  # failed in A, fixed in B
    a = columns(kind, status=status_a)
    b = columns(kind, status=status_b)
    names, _ = endpoint_names(ROUTES, ROUTES)
    result = compare(PairedRuns.of(a, b), names, CompareOptions(max_new_failures=0.001, listed=2))
    (read,) = result["endpoints"]
    assert read["new_failures"] == 3 and read["new_failure_share"] == pytest.approx(0.0015)
    assert [c["seq"] for c in read["status_changes"]] == [5, 50]  # the first two listed
    assert read["status_changes"][0]["status_a"] == 200 and read["status_changes"][0]["status_b"] == 500
    assert read["fixed_failures"] == 1 and read["verdict"] == "regressed"
    assert read["paired"] == n - 1  # only seq 50 (no answer in B) leaves; 500, 404 and 503 are answers
    assert result["throughput"] == {"a": None, "b": None}


def test_no_latency_is_said_not_judged() -> None:
    """The mock records no latency: nothing to compare, no verdict from latency."""
    zero = np.zeros(50)
    a, b = columns([READ] * 50, latency=zero), columns([READ] * 50, latency=zero)
    names, _ = endpoint_names(ROUTES, ROUTES)
    (read,) = compare(PairedRuns.of(a, b), names)["endpoints"]
    assert read["paired"] == 0 and read["median_ratio"] is None and read["p_value"] is None
    assert read["verdict"] == "unchanged" and "no latency" in read["note"]


def test_routes_that_differ_are_compared_by_kind() -> None:
    routes_b = list(ROUTES)
    routes_b[READ] = "GET /v2/posts/{id}"
    names, notes = endpoint_names(ROUTES, routes_b)
    assert names[READ] == "read_post" and names[FEED] == ROUTES[FEED]
    assert notes == [
        "read_post: sent to GET /read_post in A and GET /v2/posts/{id} in B; compared by kind"
    ]


def test_kinds_sent_to_one_route_are_one_endpoint() -> None:
    routes = list(ROUTES)
    routes[FEED] = routes[READ]
    names, _ = endpoint_names(routes, routes)
    a = columns([READ, FEED] * 20)
    (endpoint,) = compare(PairedRuns.of(a, a), names)["endpoints"]
    assert endpoint["kinds"] == ["browse_feed", "read_post"] and endpoint["actions"] == 40


def test_too_few_pairs_are_reported_but_not_judged() -> None:
    """A bootstrap of 3 pairs has an interval of nothing: no latency verdict below min_pairs."""
    a = columns([READ] * 3, latency=np.array([1.0, 2.0, 3.0]))
    b = columns([READ] * 3, latency=np.array([9.0, 18.0, 27.0]))
    names, _ = endpoint_names(ROUTES, ROUTES)
    (read,) = compare(PairedRuns.of(a, b), names, CompareOptions(min_pairs=4, min_clusters=1))[
        "endpoints"
    ]
    assert read["median_ratio"]["value"] == pytest.approx(9.0) and read["verdict"] == "unchanged"
    assert read["note"] == "latency not judged: 3 paired actions, fewer than 4"
    (read,) = compare(PairedRuns.of(a, b), names, CompareOptions(min_pairs=3, min_clusters=1))[
        "endpoints"
    ]
    assert read["verdict"] == "regressed"


def test_kinds_beyond_the_names_are_compared_by_code() -> None:
    """A kind code the names do not cover (a config's own kind) is its own endpoint, not an error."""
    extra = len(KIND_NAMES) + 2
    a = columns([READ, extra] * 20)
    names, _ = endpoint_names(ROUTES, ROUTES)
    result = compare(PairedRuns.of(a, a), names)
    assert [e["endpoint"] for e in result["endpoints"]] == [ROUTES[READ], f"kind {extra}"]
