"""Views of a run's metrics by simulated hour: series over the run and the shape of a day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from simcore.analysis.histogram import percentiles
from simcore.analysis.tables import MetricTables
from simcore.scenario.kinds import ActionKind


def hour_starts(t: MetricTables) -> list[dt.datetime]:
    """The simulated time at which each hour of the series begins."""
    return [t.start + dt.timedelta(hours=h) for h in range(t.n_hours)]


def users_by_hour(t: MetricTables) -> NDArray[np.int64]:
    """Users signed up by the end of each hour."""
    return np.cumsum(t.hour_kind[: t.n_hours, ActionKind.SIGN_UP])


def actions_by_hour(t: MetricTables) -> NDArray[np.int64]:
    """Actions by kind in each hour, shape ``(hours, kinds)``."""
    return t.hour_kind[: t.n_hours]


def latency_by_hour(t: MetricTables, percents: Sequence[float] = (50, 90, 99)) -> NDArray[np.float64]:
    """Latency percentiles (all endpoints) in each hour, NaN where none; ``(hours, len(percents))``."""
    return percentiles(t.hour_latency[: t.n_hours], percents)


def day_shape(t: MetricTables) -> dict[str, NDArray[np.float64]]:
    """By hour of the day: mean users in each state, and mean actions per hour (weekday, weekend)."""
    hours = np.arange(t.n_hours)
    base = t.start.weekday() * 24 + t.start.hour
    week_hour = (base + hours) % (7 * 24)
    hod = week_hour % 24
    weekend = week_hour >= 5 * 24
    acts = t.hour_kind[: t.n_hours].sum(axis=1) - t.hour_kind[: t.n_hours, 0]
    out: dict[str, NDArray[np.float64]] = {}
    sampled = t.hour_samples[: t.n_hours]
    s_sum = np.zeros((24, len(t.state_names)))
    np.add.at(s_sum, hod, t.hour_states[: t.n_hours])
    s_n = np.bincount(hod, weights=sampled, minlength=24)
    out["users_by_state"] = np.divide(
        s_sum, s_n[:, None], out=np.zeros_like(s_sum), where=s_n[:, None] > 0
    )
    for name, mask in (("weekday", ~weekend), ("weekend", weekend)):
        total = np.bincount(hod[mask], weights=acts[mask], minlength=24)
        seen = np.bincount(hod[mask], minlength=24)
        out[f"actions_{name}"] = np.divide(total, seen, out=np.zeros(24), where=seen > 0)
    return out
