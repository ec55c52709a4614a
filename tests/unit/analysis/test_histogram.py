"""The log-bucketed latency histogram: percentiles within 1% of numpy's exact ones, exact merges."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from simcore.analysis.histogram import (
    HIGHEST_MS,
    LOWEST_MS,
    N_BUCKETS,
    LatencyHistogram,
    bucket_of,
    bucket_value,
)

PERCENTS = (0.1, 1, 25, 50, 75, 90, 95, 99, 99.9, 100)
latencies = st.lists(
    st.floats(min_value=LOWEST_MS, max_value=HIGHEST_MS / 10, allow_nan=False), min_size=1, max_size=400
)


def _exact(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q, method="inverted_cdf"))


@given(latencies)
def test_percentiles_within_one_percent_of_numpy(values: list[float]) -> None:
    """Every percentile is within 1% of numpy's exact nearest-rank percentile."""
    h = LatencyHistogram()
    h.add(values)
    arr = np.array(values)
    for q in PERCENTS:
        assert math.isclose(h.percentile(q), _exact(arr, q), rel_tol=0.01), q
    assert h.count == len(values)
    assert h.max_ms == arr.max() and h.min_ms == arr.min()


@given(st.integers(1, 5000), st.floats(-3, 6), st.floats(0.1, 3), st.integers(0, 2**32 - 1))
def test_percentiles_on_lognormal_data(n: int, mu: float, sigma: float, seed: int) -> None:
    """Heavy-tailed generated latencies (as real ones are) stay within 1% too."""
    values = np.random.default_rng(seed).lognormal(mu, sigma, n)
    values = np.clip(values, LOWEST_MS, HIGHEST_MS / 10)
    h = LatencyHistogram()
    h.add(values)
    got = h.percentiles(PERCENTS)
    want = np.array([_exact(values, q) for q in PERCENTS])
    np.testing.assert_allclose(got, want, rtol=0.01)


@given(latencies, latencies)
def test_merge_is_the_histogram_of_all_values(a: list[float], b: list[float]) -> None:
    """merge(h(a), h(b)) == h(a + b), and the dict form round-trips."""
    ha, hb, hab = LatencyHistogram(), LatencyHistogram(), LatencyHistogram()
    ha.add(a)
    hb.add(b)
    hab.add(a + b)
    merged = ha.merge(hb)
    assert merged == hab
    assert LatencyHistogram.from_dict(merged.to_dict()) == merged


def test_tiny_zero_and_huge_values() -> None:
    """Values below the floor are within LOWEST_MS; above the ceiling the exact max is kept."""
    h = LatencyHistogram()
    h.add([0.0, 0.0, 0.0004, 5e7])
    assert h.percentile(50) <= LOWEST_MS
    assert h.percentile(100) == 5e7
    assert bucket_of([0.0, -1.0, np.nan, np.inf]).tolist() == [0, 0, 0, N_BUCKETS - 1]
    assert bucket_value(0) == 0.0


def test_empty_histogram() -> None:
    """An empty histogram has NaN percentiles and mean, and zero count."""
    h = LatencyHistogram()
    assert h.count == 0 and math.isnan(h.percentile(99)) and math.isnan(h.mean_ms)
    assert LatencyHistogram.from_dict(h.to_dict()) == h


def test_mean_is_exact_to_the_microsecond() -> None:
    """The mean comes from an integer sum of microseconds."""
    h = LatencyHistogram()
    h.add([1.0, 2.0, 3.5])
    assert h.mean_ms == 6.5 / 3
