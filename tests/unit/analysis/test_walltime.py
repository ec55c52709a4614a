"""The wall-time series: buckets by send second, widening that keeps memory flat, exact merges,
and the metrics that carry it (answer sizes, the session gauge, saving and loading)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simcore.analysis.histogram import bucket_of
from simcore.analysis.metrics import Metrics
from simcore.analysis.walltime import MAX_BUCKETS, WallSeries, coarse_percentiles, merge
from simcore.scenario.kinds import ActionKind as K
from tests.unit.analysis.scripted import T0, batch_of, feed, new_metrics, scripted, sent_at

N_KINDS = 12


def _add(
    w: WallSeries, sent_ms: list[int], kinds: list[int], failed: list[bool], lat: list[float]
) -> None:
    w.add(
        np.array(sent_ms, np.int64),
        np.array(kinds, np.intp),
        np.array(failed, bool),
        bucket_of(np.array(lat, np.float64)),
    )


def test_actions_failures_and_latency_by_second_and_kind() -> None:
    """Each action lands in its send second and kind; unsent actions (0) are left out."""
    w = WallSeries(N_KINDS)
    _add(w, [T0 + 10, T0 + 999, T0 + 2_500, 0], [1, 2, 1, 1], [False, True, False, True], [5, 50, 7, 1])
    assert (w.width, w.n) == (1, 3)
    assert w.starts().tolist() == [T0 // 1000, T0 // 1000 + 1, T0 // 1000 + 2]
    assert w.sent[:, 1].tolist() == [1, 0, 1] and w.sent[:, 2].tolist() == [1, 0, 0]
    assert w.failed.sum() == 1 and w.failed[0, 2] == 1
    p = w.latency_percentiles((50, 100))
    assert p[0, 0] == pytest.approx(5, rel=0.07) and p[0, 1] == pytest.approx(50, rel=0.07)
    assert np.isnan(p[1]).all()
    assert w.latency_percentiles((50,), kind=1)[2, 0] == pytest.approx(7, rel=0.07)


def test_out_of_order_batches_extend_the_span_backwards() -> None:
    """A batch sent earlier than the ones before it (pipelined ticks) is still counted in place."""
    w = WallSeries(N_KINDS)
    _add(w, [T0 + 5_000], [0], [False], [1])
    _add(w, [T0 + 1_000], [0], [False], [1])
    assert w.n == 5 and w.sent[:, 0].tolist() == [1, 0, 0, 0, 1]


def test_buckets_widen_so_memory_stays_flat() -> None:
    """A long run doubles the bucket width: at most MAX_BUCKETS buckets, nothing lost."""
    w = WallSeries(N_KINDS)
    seconds = np.arange(0, 6 * 3600, 7)  # six hours, an action every 7 s
    for chunk in np.array_split(seconds, 50):
        _add(w, (T0 + chunk * 1000).tolist(), [3] * len(chunk), [False] * len(chunk), [2.0] * len(chunk))
    assert w.n <= MAX_BUCKETS and w.width == 64  # 21,600 s / 400 -> 54 -> 64 s
    assert int(w.sent.sum()) == len(seconds)
    assert w.first == (T0 // 1000) // 64


def _random_parts(
    seed: int, n_batches: int
) -> list[tuple[list[int], list[int], list[bool], list[float]]]:
    rng = np.random.default_rng(seed)
    out = []
    t = T0
    for _ in range(n_batches):
        t += int(rng.integers(0, 120_000))  # up to 2 minutes between batches: spans cross MAX_BUCKETS
        n = int(rng.integers(1, 6))
        sent = (t + rng.integers(-3_000, 3_000, n)).tolist()
        sent = [s if rng.random() > 0.1 else 0 for s in sent]
        out.append(
            (
                sent,
                rng.integers(0, N_KINDS, n).tolist(),
                (rng.random(n) < 0.2).tolist(),
                rng.lognormal(2, 1, n).tolist(),
            )
        )
    return out


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 60))
def test_merge_of_any_two_parts_is_the_whole(seed: int, k: int) -> None:
    """Whatever the split (and whatever widths the parts reached), merge(a, b) == whole."""
    parts = _random_parts(seed, 60)
    whole, a, b = WallSeries(N_KINDS), WallSeries(N_KINDS), WallSeries(N_KINDS)
    for i, p in enumerate(parts):
        _add(whole, *p)
        _add(a if i < k else b, *p)
    for merged in (merge(a.arrays(), b.arrays(), N_KINDS), merge(b.arrays(), a.arrays(), N_KINDS)):
        expected = whole.arrays()
        assert merged.keys() == expected.keys()
        assert all(np.array_equal(merged[name], expected[name]) for name in expected), merged["span"]


def test_coarse_percentiles_are_within_six_percent() -> None:
    """The coarse buckets' middle is within about 6 % of the exact nearest-rank value."""
    rng = np.random.default_rng(3)
    values = rng.lognormal(1, 2, 5_000)
    counts = np.bincount(bucket_of(values) // 8, minlength=WallSeries(1).latency.shape[2])
    got = coarse_percentiles(counts, (50, 90, 99))
    exact = np.percentile(values, (50, 90, 99), method="inverted_cdf")
    assert np.all(np.abs(got / exact - 1) < 0.065), (got, exact)


def test_metrics_with_real_time_sizes_and_sessions() -> None:
    """Real outcomes feed the series, answer sizes per endpoint, and the session gauge."""
    m = new_metrics()
    sessions = iter([40, 60, 10])
    m.population_sessions = lambda: next(sessions)
    m.write(
        *sent_at(
            batch_of(0, 0, [(0, K.SIGN_UP, -1, 201, 10, 0), (1, K.BROWSE_FEED, -1, 200, 20, 0)]), T0, 100
        )
    )
    m.write(*sent_at(batch_of(1, 2, [(1, K.BROWSE_FEED, -1, 500, 30, 0)]), T0 + 400, 300))
    m.write(*sent_at(batch_of(2, 3, [(2, K.BROWSE_FEED, -1, 0, 0, 2)]), T0 + 3_000, 999))  # timed out
    rows = {r["endpoint"]: r for r in m.endpoint_stats()}
    assert rows["browse_feed"]["bytes_total"] == 400 and rows["browse_feed"]["bytes_mean"] == 200
    assert rows["all"]["bytes_total"] == 500 and rows["read_post"]["bytes_mean"] is None
    assert m.wall.sent.sum(axis=1).tolist() == [3, 0, 0, 1]
    assert m.wall.failed.sum(axis=1).tolist() == [1, 0, 0, 1]
    assert m.wall.users_in_session()[[0, 3]].tolist() == [50.0, 10.0]
    assert np.isnan(m.wall.users_in_session()[1])
    wall = m.summary()["wall_time"]
    assert wall["first_bucket"] == "2025-12-01T04:00:00+00:00" and wall["bucket_seconds"] == 1
    assert wall["sent"] == 4


def test_the_mock_has_no_wall_time() -> None:
    """Outcomes without send times (the mock) leave the series empty."""
    m = new_metrics()
    m.population_sessions = lambda: 5
    m.write(*batch_of(0, 0, [(0, K.SIGN_UP, -1, 201, 0, 0)]))
    assert m.wall.n == 0 and m.summary()["wall_time"] is None
    assert all(r["bytes_total"] is None for r in m.endpoint_stats())


def test_state_with_wall_time_round_trips_and_old_state_loads() -> None:
    """The series and sizes survive state_arrays/from_state; a state saved before them loads empty."""
    m = new_metrics()
    m.write(*sent_at(batch_of(0, 0, [(0, K.SIGN_UP, -1, 201, 10, 0)]), T0, 100))
    back = Metrics.from_state(m.state_arrays(), m.settings())
    assert back.equals(m) and back.summary() == m.summary()
    old = {k: v for k, v in m.state_arrays().items() if not k.startswith("wall.") and "bytes" not in k}
    loaded = Metrics.from_state(old, m.settings())
    assert loaded.wall.n == 0 and loaded.kind_bytes_n.sum() == 0
    assert loaded.summary()["actions"] == 1


@pytest.mark.parametrize("k", [0, 1, 2, 3, 4])
def test_metrics_with_real_time_merge_to_the_whole(k: int) -> None:
    """Metrics.merge of two parts of a real-time run (wall series and sizes included) == whole."""
    pairs = [sent_at(p, T0 + 700 * i, 10 * i) for i, p in enumerate(scripted())]
    whole = feed(new_metrics(), pairs)
    merged = feed(new_metrics(), pairs[:k]).merge(feed(new_metrics(), pairs[k:]))
    assert whole.wall.n == 3 and merged.equals(whole)
    assert merged.summary() == whole.summary()
