"""report.html's charts over simulated time and over the simulated day (uPlot, via :mod:`simcore.analysis.charts`).

Users over time, actions per hour by kind (every kind the metrics count), users by
state and actions over the mean day, latency percentiles (log scale when they span
decades; a note instead of a flat 0 line where no latency was measured, as on the
mock) and failures per hour. Runs longer than :data:`MAX_HOURLY_BARS` hours are
drawn a day per bar. Simulated time is shown as written in the config (as UTC).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from simcore.analysis.charts import chart, no_chart
from simcore.analysis.histogram import percentiles
from simcore.analysis.metrics import Metrics

#: Over-time charts show at most this many bars; longer runs are drawn a day per bar.
MAX_HOURLY_BARS = 336
#: The percentiles of the latency charts.
LATENCY_PERCENTS = (50, 90, 99)
HOURS_OF_DAY = [f"{h:02d}:00" for h in range(24)]


def epoch_seconds(t: dt.datetime) -> float:
    """Seconds since 1970 of ``t``, a naive time read as UTC (how the charts show simulated time)."""
    return (t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)).timestamp()


def latency_note(metrics: Metrics, backend: str | None) -> str | None:
    """Why the run has no latency to chart (None when it has some)."""
    measured = metrics.kind_latency.sum() > 0 and float(metrics.kind_lat_max.max()) > 0
    if measured:
        return None
    if backend == "mock":
        return "no latency on the mock: it answers every action at once (0 ms)"
    return "no latency recorded in this run"


class Bars:
    """The over-time charts' bars: an hour each, or a day each for runs longer than :data:`MAX_HOURLY_BARS`."""

    def __init__(self, metrics: Metrics) -> None:
        self.n_hours = n = metrics.n_hours
        self.step = 24 if n > MAX_HOURLY_BARS else 1
        self.unit = "day" if self.step == 24 else "hour"
        self.groups = np.arange(n) // self.step
        starts = metrics.hour_starts()[:: self.step]
        self.n_bars = len(starts)
        self.x = [epoch_seconds(t) for t in starts]
        self.seconds = 3600 * self.step

    def per_bar(self, values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Per-hour ``values`` summed over each bar."""
        out = np.zeros((self.n_bars, *values.shape[1:]), dtype=values.dtype)
        np.add.at(out, self.groups, values)
        return out


def sim_charts(metrics: Metrics, backend: str | None = None) -> list[str]:
    """Every chart of the "over simulated time and over the day" section, in page order."""
    if metrics.n_hours == 0:
        return [no_chart("sim-empty", "Over simulated time", "no simulated hour in this run")]
    bars = Bars(metrics)
    return [
        *_activity_charts(metrics, bars),
        *_day_charts(metrics),
        *_quality_charts(metrics, bars, backend),
    ]


def _activity_charts(metrics: Metrics, bars: Bars) -> list[str]:
    """Users over time and actions by kind per bar."""
    acts = bars.per_bar(metrics.actions_by_hour())
    users = metrics.users_by_hour()
    last_hour_of_bar = np.minimum(np.arange(bars.n_bars) * bars.step + bars.step - 1, bars.n_hours - 1)
    return [
        chart(
            "sim-users",
            "Users over time",
            bars.x,
            {"users": users[last_hour_of_bar]},
            x_step=bars.seconds,
            y_log=False,
        ),
        chart(
            "sim-actions",
            f"Actions per {bars.unit} by kind",
            bars.x,
            {name: acts[:, k] for k, name in enumerate(metrics.kind_names)},
            style="stacked",
            x_step=bars.seconds,
            y_label=f"actions / {bars.unit}",
            y_log=False,
        ),
    ]


def _day_charts(metrics: Metrics) -> list[str]:
    """The mean day: users by state and actions per hour of day (weekday, weekend)."""
    shape = metrics.day_shape()
    by_state = shape["users_by_state"]
    hours = list(range(24))
    title = "Users by state over the day (mean)"
    states = (
        chart(
            "day-states",
            title,
            hours,
            {s: by_state[:, i] for i, s in enumerate(metrics.state_names)},
            x_axis="category",
            labels=HOURS_OF_DAY,
            x_label="hour of day",
            style="stacked",
            y_label="users",
            y_log=False,
        )
        if metrics.hour_samples.any()
        else no_chart("day-states", title, "no simulated hour ended, so no users by state were counted")
    )
    return [
        states,
        chart(
            "day-actions",
            "Actions per hour of day (mean)",
            hours,
            {"weekday": _gaps(shape["actions_weekday"]), "weekend": _gaps(shape["actions_weekend"])},
            x_axis="category",
            labels=HOURS_OF_DAY,
            x_label="hour of day",
            y_label="actions / hour",
            y_log=False,
        ),
    ]


def _quality_charts(metrics: Metrics, bars: Bars, backend: str | None) -> list[str]:
    """Latency percentiles (log scale when they span decades) and failures per bar."""
    n = bars.n_hours
    title = f"Latency percentiles per {bars.unit} (all endpoints)"
    note = latency_note(metrics, backend)
    if note is not None:
        latency = no_chart("sim-latency", title, note)
    else:
        lat = percentiles(bars.per_bar(metrics.hour_latency[:n]), LATENCY_PERCENTS)
        latency = chart(
            "sim-latency",
            title,
            bars.x,
            {f"p{q}": lat[:, j] for j, q in enumerate(LATENCY_PERCENTS)},
            x_step=bars.seconds,
            y_label="ms",
        )
    failures = chart(
        "sim-failures",
        f"Failures per {bars.unit}",
        bars.x,
        {"failures": bars.per_bar(metrics.hour_failed[:n])},
        style="bars",
        x_step=bars.seconds,
        y_label="failures",
        y_log=False,
    )
    return [latency, failures]


def _gaps(values: np.ndarray[Any, Any]) -> list[float | None]:
    return [float(v) if v > 0 else None for v in values]
