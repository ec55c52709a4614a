"""Pass/fail thresholds on a run's numbers, checked at its end (exit code 3 when one fails).

What a threshold may name and how a comparison is written is
:mod:`simcore.scenario.thresholds`; the values come from :mod:`simcore.analysis.metrics`
and :mod:`simcore.analysis.crowd`. A metric without a value (no latency measured, no
action log for the crowd numbers) fails its threshold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from simcore.analysis.numbers import human
from simcore.scenario.thresholds import (
    CROWD_METRICS,
    ENDPOINT_METRICS,
    METRIC_NAMES,
    OPERATORS,
    RUN_METRICS,
    parse_condition,
)

#: The exit code of a run whose thresholds failed.
EXIT_THRESHOLDS_FAILED = 3


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
                "condition": f"{op} {human(limit)}",
                "value": value,
                "passed": bool(ok),
            }
        )
    return results


def all_passed(results: list[dict[str, Any]]) -> bool:
    """True when every threshold passed (or there are none)."""
    return all(r["passed"] for r in results)
