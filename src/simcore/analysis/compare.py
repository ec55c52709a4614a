"""Run B against run A, endpoint by endpoint, on paired actions: latency ratios with bootstrap
intervals, a signed-rank test, throughput, status changes and a verdict.

Pure functions over the arrays of :class:`~simcore.analysis.pairing.PairedRuns`;
the command that reads two run directories is :mod:`simcore.ui.compare_command`.

For each endpoint, over the actions answered in both runs:

- the **median ratio** is the median of the per-action ratios ``latency_B / latency_A``;
- the **p95 / p99 ratios** are ``p95(B) / p95(A)`` (a ratio of quantiles);
- each has a percentile-bootstrap interval (``confidence``, 95 % by default):
  the paired actions are resampled with replacement, both runs' values of an
  action together, ``resamples`` times, from a generator seeded by ``seed`` —
  by simulated minute (``cluster_ms``): the actions of one minute are sent in
  one burst and wait in the same queues, so they are resampled together (a
  cluster bootstrap), or a burst of a thousand sign-ups would count as a
  thousand independent measurements;
- the **p-value** is Wilcoxon's signed-rank test on the paired log-latencies
  (B slower or faster than A at all, whatever the size; it takes the actions as
  independent, so it is a guide, and the verdict rests on the interval).

An endpoint is **regressed** when (with ``min_pairs`` paired latencies in
``min_clusters`` minutes at least: a bootstrap of a handful says nothing) its median-ratio interval lies wholly above
``1 + tolerance``, or its actions that succeeded in A and failed in B exceed
``max_new_failures`` of its actions; **improved** symmetrically (the interval
wholly below ``1 - tolerance``, or failures fixed beyond the same share), unless
it regressed.
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from attrs import frozen
from numpy.typing import NDArray

from simcore.analysis.pairing import PairedRuns, span_seconds
from simcore.scenario.kinds import KIND_NAMES
from simcore.seam.contract import ERROR_NAMES

#: Values in a bootstrap chunk: resamples are drawn in chunks of about this many indices.
_CHUNK = 4_000_000
#: Resampled values (resamples x paired actions) an endpoint's bootstrap may draw in full.
BUDGET = 10_000_000
MIN_RESAMPLES = 200
#: Quantiles compared as ratios of quantiles.
TAIL_QUANTILES = (0.95, 0.99)


@frozen
class CompareOptions:
    """How two runs are compared (the ``simcore compare`` options)."""

    tolerance: float = 0.05
    max_new_failures: float = 0.001
    seed: int = 0
    resamples: int = 1000
    confidence: float = 0.95
    listed: int = 10  # status changes listed per endpoint
    min_pairs: int = 20  # fewer paired latencies than this: too few to judge latency
    min_clusters: int = 10  # fewer bursts (clusters) than this: too few to judge latency
    cluster_ms: int = 60_000  # actions of one simulated minute resample together


@frozen
class Interval:
    """A point estimate and its bootstrap interval."""

    value: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high}


def _cluster_counts(clusters: int, m: int, rng: np.random.Generator) -> NDArray[np.int32]:
    """``m`` resamples of ``clusters`` clusters with replacement: how often each was drawn (m × C)."""
    draws = rng.integers(0, clusters, size=(m, clusters)) + clusters * np.arange(m)[:, None]
    counts = np.bincount(draws.ravel(), minlength=m * clusters).reshape(m, clusters)
    out: NDArray[np.int32] = np.ascontiguousarray(counts.astype(np.int32).T).T
    return out


def _weighted_quantiles(
    ordered: NDArray[np.float64], weights: NDArray[np.int32], qs: Sequence[float]
) -> list[NDArray[np.float64]]:
    """Per column of ``weights`` (n × m: one weight per value of the sorted ``ordered``, one
    column per resample), each quantile ``q`` of ``qs``: the first value whose cumulative
    weight reaches ``q`` of the column's total."""
    cum = np.cumsum(weights, axis=0, dtype=np.int32)  # down the rows: whole rows at a time
    total = cum[-1].astype(np.float64)
    out = []
    for q in qs:
        reach = np.ceil(q * total).astype(np.int32)
        pos = np.minimum(np.count_nonzero(cum < reach, axis=0), len(ordered) - 1)
        out.append(ordered[pos])
    return out


def bootstrap_ratios(
    latency_a: NDArray[np.float64],
    latency_b: NDArray[np.float64],
    rng: np.random.Generator,
    resamples: int = 1000,
    confidence: float = 0.95,
    clusters: NDArray[np.int64] | None = None,
) -> dict[str, Interval]:
    """Median of the paired ratios B/A and the p95, p99 ratios of quantiles, each with its
    percentile-bootstrap interval. Needs one pair at least.

    Pairs are resampled by ``clusters`` (one label per pair; default: each pair alone):
    actions sent in the same burst wait in the same queues, so their latencies move
    together and count as one draw, not many (a cluster bootstrap). A resample draws
    as many clusters as there are, with replacement, and weighs each pair by how often
    its cluster was drawn. Resampling costs ``resamples * n``; past :data:`BUDGET` the
    resamples are cut to ``BUDGET // n`` (at least :data:`MIN_RESAMPLES`).
    """
    a = np.asarray(latency_a, np.float64)
    b = np.asarray(latency_b, np.float64)
    n = len(a)
    if n == 0 or len(b) != n:
        raise ValueError(f"need as many latencies in B as in A, at least one (got {n} and {len(b)})")
    labels = np.arange(n) if clusters is None else np.unique(clusters, return_inverse=True)[1].ravel()
    n_clusters = int(labels.max()) + 1
    ratio = b / a
    point = {"median": float(np.median(ratio))}
    qa, qb = np.quantile(a, TAIL_QUANTILES), np.quantile(b, TAIL_QUANTILES)
    for q, x, y in zip(TAIL_QUANTILES, qa, qb):
        point[f"p{round(q * 100)}"] = float(y / x)
    orders = {name: np.argsort(v, kind="stable") for name, v in (("r", ratio), ("a", a), ("b", b))}
    values = {"r": ratio, "a": a, "b": b}
    draws: dict[str, list[NDArray[np.float64]]] = {k: [] for k in point}
    total = resamples if resamples * n <= BUDGET else max(MIN_RESAMPLES, BUDGET // n)
    per_chunk = max(1, _CHUNK // max(n, n_clusters))
    done = 0
    while done < total:  # a loop over chunks of resamples, each chunk whole-array operations
        m = min(per_chunk, total - done)
        counts = _cluster_counts(n_clusters, m, rng).T  # clusters × resamples
        (median,) = _weighted_quantiles(values["r"][orders["r"]], counts[labels[orders["r"]]], [0.5])
        draws["median"].append(median)
        ra = _weighted_quantiles(values["a"][orders["a"]], counts[labels[orders["a"]]], TAIL_QUANTILES)
        rb = _weighted_quantiles(values["b"][orders["b"]], counts[labels[orders["b"]]], TAIL_QUANTILES)
        for j, q in enumerate(TAIL_QUANTILES):
            draws[f"p{round(q * 100)}"].append(rb[j] / ra[j])
        done += m
    tail = (1 - confidence) / 2 * 100
    out = {}
    for key, value in point.items():
        low, high = np.percentile(np.concatenate(draws[key]), [tail, 100 - tail])
        out[key] = Interval(value, float(low), float(high))
    return out


def signed_rank_p(latency_a: NDArray[np.float64], latency_b: NDArray[np.float64]) -> float | None:
    """Two-sided p-value of Wilcoxon's signed-rank test on the paired log-latencies (None for
    fewer than 2 pairs; 1.0 when every pair is equal)."""
    from scipy.stats import wilcoxon

    d = np.log(np.asarray(latency_b, np.float64)) - np.log(np.asarray(latency_a, np.float64))
    if len(d) < 2:
        return None
    if not np.any(d != 0):
        return 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(wilcoxon(d).pvalue)


def verdict(
    median: Interval | None, new_failure_share: float, fixed_share: float, options: CompareOptions
) -> tuple[str, list[str]]:
    """``regressed``, ``improved`` or ``unchanged``, and why."""
    worse: list[str] = []
    better: list[str] = []
    if median is not None and median.low > 1 + options.tolerance:
        worse.append(f"median ratio interval above {1 + options.tolerance:g}")
    if median is not None and median.high < 1 - options.tolerance:
        better.append(f"median ratio interval below {1 - options.tolerance:g}")
    if new_failure_share > options.max_new_failures:
        worse.append(f"new failures {new_failure_share:.3%} > {options.max_new_failures:.3%}")
    if fixed_share > options.max_new_failures:
        better.append(f"fixed failures {fixed_share:.3%} > {options.max_new_failures:.3%}")
    if worse:
        return "regressed", worse
    if better:
        return "improved", better
    return "unchanged", []


def kind_name(code: int, kind_names: Sequence[str] = KIND_NAMES) -> str:
    """The name of kind ``code`` (``kind N`` for a code beyond ``kind_names``)."""
    return kind_names[code] if 0 <= code < len(kind_names) else f"kind {code}"


def endpoint_names(
    routes_a: Sequence[str], routes_b: Sequence[str], kind_names: Sequence[str] = KIND_NAMES
) -> tuple[list[str], list[str]]:
    """Each kind's endpoint name (its route template, ``GET /posts/{id}``, or the kind's name when
    A and B sent it to different routes) and a note for each kind whose routes differ."""
    names, notes = [], []
    for kind, ra, rb in zip(kind_names, routes_a, routes_b):
        if ra == rb:
            names.append(ra)
        else:
            names.append(kind)
            notes.append(f"{kind}: sent to {ra} in A and {rb} in B; compared by kind")
    return names, notes


def _pct(values: NDArray[np.float64], q: float) -> float | None:
    return float(np.quantile(values, q)) if len(values) else None


def _changes(
    pairs: PairedRuns, rows: NDArray[np.intp], listed: int, kind_names: Sequence[str]
) -> list[dict[str, Any]]:
    out = []
    for i in rows[:listed].tolist():
        out.append(
            {
                "seq": int(pairs.seq[i]),
                "kind": kind_name(int(pairs.kind[i]), kind_names),
                "status_a": int(pairs.status_a[i]),
                "status_b": int(pairs.status_b[i]),
                "error_a": ERROR_NAMES[int(pairs.error_a[i])],
                "error_b": ERROR_NAMES[int(pairs.error_b[i])],
            }
        )
    return out


def _note(paired: int, clusters: int, options: CompareOptions) -> str | None:
    if paired == 0:
        return "no latency measured in both runs (on the mock: no latency)"
    if paired < options.min_pairs:
        return f"latency not judged: {paired} paired actions, fewer than {options.min_pairs}"
    if clusters < options.min_clusters:
        return f"latency not judged: sent in {clusters} simulated minutes, fewer than {options.min_clusters}"
    return None


def compare_endpoint(
    name: str,
    pairs: PairedRuns,
    rows: NDArray[np.intp],
    spans: tuple[float | None, float | None],
    options: CompareOptions,
    kind_names: Sequence[str] = KIND_NAMES,
) -> dict[str, Any]:
    """The comparison of one endpoint, over the actions at ``rows`` of ``pairs``."""
    kinds = sorted({kind_name(k, kind_names) for k in np.unique(pairs.kind[rows]).tolist()})
    both = rows[pairs.answered[rows]]
    a, b = pairs.latency_a[both], pairs.latency_b[both]
    rng = np.random.default_rng([options.seed, zlib.crc32(name.encode())])
    clusters = pairs.time_ms[both] // options.cluster_ms
    n_clusters = len(np.unique(clusters))
    ratios = (
        bootstrap_ratios(a, b, rng, options.resamples, options.confidence, clusters) if len(both) else {}
    )
    new = rows[pairs.new_failures[rows]]
    fixed = rows[pairs.fixed[rows]]
    n = len(rows)
    new_share, fixed_share = len(new) / n if n else 0.0, len(fixed) / n if n else 0.0
    median = ratios.get("median")
    enough = len(both) >= options.min_pairs and n_clusters >= options.min_clusters
    judged = median if enough else None
    result, reasons = verdict(judged, new_share, fixed_share, options)
    sent_a = int(np.count_nonzero(pairs.sent_at_a[rows]))
    sent_b = int(np.count_nonzero(pairs.sent_at_b[rows]))
    return {
        "endpoint": name,
        "kinds": kinds,
        "actions": n,
        "paired": len(both),
        "median_ratio": median.as_dict() if median else None,
        "p95_ratio": ratios["p95"].as_dict() if ratios else None,
        "p99_ratio": ratios["p99"].as_dict() if ratios else None,
        "latency_ms": {
            run: {f"p{round(q * 100)}": _pct(x, q) for q in (0.5, *TAIL_QUANTILES)}
            for run, x in (("a", a), ("b", b))
        },
        "p_value": signed_rank_p(a, b),
        "throughput": {
            run: (sent / span if span else None)
            for run, sent, span in (("a", sent_a, spans[0]), ("b", sent_b, spans[1]))
        },
        "new_failures": len(new),
        "new_failure_share": new_share,
        "fixed_failures": len(fixed),
        "fixed_failure_share": fixed_share,
        "status_changes": _changes(pairs, new, options.listed, kind_names),
        "fixed": _changes(pairs, fixed, options.listed, kind_names),
        "verdict": result,
        "reasons": reasons,
        "clusters": n_clusters,
        "note": _note(len(both), n_clusters, options),
    }


def compare(
    pairs: PairedRuns,
    names: Sequence[str],
    options: CompareOptions | None = None,
    kind_names: Sequence[str] = KIND_NAMES,
) -> dict[str, Any]:
    """Every endpoint's comparison (``names``: each kind's endpoint name, from
    :func:`endpoint_names`; ``kind_names``: the run's kinds in code order), the run's
    throughput and the lists of regressed and improved ones."""
    options = options or CompareOptions()
    codes = int(pairs.kind.max()) + 1 if len(pairs) else 0
    names = [*names, *(f"kind {k}" for k in range(len(names), codes))]  # kinds beyond the names
    label = np.array(names, dtype=object)[pairs.kind]
    spans = (span_seconds(pairs.sent_at_a), span_seconds(pairs.sent_at_b))
    endpoints = []
    order = list(dict.fromkeys(names))  # the kinds' order, each endpoint once
    for name in order:
        rows = np.flatnonzero(label == name)
        if len(rows):
            endpoints.append(compare_endpoint(name, pairs, rows, spans, options, kind_names))
    sent = (int(np.count_nonzero(pairs.sent_at_a)), int(np.count_nonzero(pairs.sent_at_b)))
    return {
        "actions": len(pairs),
        "options": {
            "tolerance": options.tolerance,
            "max_new_failures": options.max_new_failures,
            "seed": options.seed,
            "resamples": options.resamples,
            "confidence": options.confidence,
            "min_pairs": options.min_pairs,
            "min_clusters": options.min_clusters,
            "cluster_ms": options.cluster_ms,
            "listed": options.listed,
        },
        "throughput": {run: (n / span if span else None) for run, n, span in zip("ab", sent, spans)},
        "endpoints": endpoints,
        "regressed": [e["endpoint"] for e in endpoints if e["verdict"] == "regressed"],
        "improved": [e["endpoint"] for e in endpoints if e["verdict"] == "improved"],
    }
