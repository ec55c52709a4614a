"""Pass/fail thresholds on a run's numbers, checked at its end (exit code 3 when one fails).

In a config, ``[thresholds]`` maps a metric name to a comparison::

    [thresholds]
    p99_ms = "< 250"                 # all endpoints together
    error_rate = "< 0.01"
    actions_per_hour = "> 1000"
    "read_post.p99_ms" = "< 100"     # one endpoint (an action kind)
    "crowd.share_users_posted" = ">= 0.05"

Comparisons are ``<``, ``<=``, ``>`` or ``>=`` followed by a number. A metric
without a value (no latency measured, no action log for the crowd numbers)
fails its threshold. This module only names, parses and evaluates; the values
come from :mod:`simcore.metrics` and :mod:`simcore.crowd`.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from simcore.actions import KIND_NAMES
from simcore.metrics import PERCENTS

#: The exit code of a run whose thresholds failed.
EXIT_THRESHOLDS_FAILED = 3

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
#: The latency figures of an endpoint (and of the whole run), as ``Metrics.endpoint_stats`` names them.
LATENCY_METRICS = ("mean_ms", *(f"p{q:g}_ms" for q in PERCENTS), "max_ms")
ENDPOINT_METRICS = ("count", "failures", "error_rate", *LATENCY_METRICS)
RUN_METRICS = (
    "actions",
    "actions_per_hour",
    "actions_per_second",
    "users",
    "posts",
    "failures",
    "error_rate",
    *LATENCY_METRICS,
)
CROWD_METRICS = (
    "share_users_posted",
    "top1_posters_share",
    "top10_posters_share",
    "top1_posts_view_share",
    "burstiness",
)
#: Every metric a threshold can name.
METRIC_NAMES: tuple[str, ...] = (
    *RUN_METRICS,
    *(f"{k}.{m}" for k in KIND_NAMES for m in ENDPOINT_METRICS),
    *(f"crowd.{m}" for m in CROWD_METRICS),
)
_CONDITION = re.compile(r"^\s*(<=|>=|<|>)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
CONDITION_HELP = "a comparison such as '< 250', '<= 0.01' or '> 1000'"


def parse_condition(text: str) -> tuple[str, float]:
    """``"< 250"`` → ``("<", 250.0)``; ValueError with the expected form otherwise."""
    match = _CONDITION.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"got {text!r}, expected {CONDITION_HELP}")
    return match.group(1), float(match.group(2))


def values_from(
    run: Mapping[str, Any], endpoints: list[dict[str, Any]], crowd: Mapping[str, Any] | None
) -> dict[str, float | None]:
    """The value of every metric name, from a run's totals, endpoint stats and crowd shape."""
    values: dict[str, float | None] = {name: None for name in METRIC_NAMES}
    for row in endpoints:
        prefix = "" if row["endpoint"] == "all" else f"{row['endpoint']}."
        for m in ENDPOINT_METRICS:
            if row.get(m) is not None:
                values[prefix + m] = float(row[m])
    for m in RUN_METRICS:
        if run.get(m) is not None:
            values[m] = float(run[m])
    if crowd:
        for m in CROWD_METRICS:
            if m != "burstiness" and crowd.get(m) is not None:
                values[f"crowd.{m}"] = float(crowd[m])
        median = (crowd.get("burstiness") or {}).get("median")
        values["crowd.burstiness"] = None if median is None else float(median)
    return values


def evaluate(thresholds: Mapping[str, str], values: Mapping[str, float | None]) -> list[dict[str, Any]]:
    """One result per threshold: metric, condition, value, passed (in the config's order)."""
    results: list[dict[str, Any]] = []
    for metric, condition in thresholds.items():
        op, limit = parse_condition(condition)
        value = values.get(metric)
        ok = value is not None and math.isfinite(value) and OPERATORS[op](value, limit)
        results.append(
            {
                "metric": metric,
                "condition": f"{op} {limit:g}",
                "value": value,
                "passed": bool(ok),
            }
        )
    return results


def all_passed(results: list[dict[str, Any]]) -> bool:
    """True when every threshold passed (or there are none)."""
    return all(r["passed"] for r in results)
