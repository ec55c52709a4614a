"""The ``[thresholds]`` vocabulary: the metric names a threshold can name and its comparisons.

In a config, ``[thresholds]`` maps a metric name to a comparison::

    [thresholds]
    p99_ms = "< 250"                 # all endpoints together
    error_rate = "< 0.01"
    actions_per_hour = "> 1000"
    "read_post.p99_ms" = "< 100"     # one endpoint (an action kind)
    "crowd.share_users_posted" = ">= 0.05"

Comparisons are ``<``, ``<=``, ``>`` or ``>=`` followed by a number. This module
names and parses; :mod:`simcore.analysis.thresholds` evaluates them at a run's end.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable

from simcore.scenario.kinds import KIND_NAMES

#: The latency percentiles every endpoint reports (``p50_ms`` …).
PERCENTS = (50.0, 90.0, 95.0, 99.0)
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
    "top1_followed_share",
    "night.weekday.trough_ratio",
    "night.weekend.trough_ratio",
    "retention.day1",
    "retention.day7",
    "sessions.median_actions",
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
