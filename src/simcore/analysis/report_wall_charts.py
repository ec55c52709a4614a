"""report.html's charts over wall-clock time (UTC) and the response-time distribution per endpoint.

From :mod:`simcore.analysis.walltime`: actions per second, latency p50/p90/p99
(log scale when they span decades), failures per second, p90 latency per
endpoint and users in a session, each per wall-clock bucket on a UTC axis, so
they line up with the server's own dashboards. A run without send times (the
mock) gets one note instead of empty charts. The response-time distribution
comes from the whole run's per-endpoint histograms.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simcore.analysis.charts import chart, no_chart
from simcore.analysis.metrics import Metrics
from simcore.analysis.report_sim_charts import LATENCY_PERCENTS, latency_note
from simcore.analysis.walltime import GROUP, coarse_value

#: The percentile drawn per endpoint over wall time.
ENDPOINT_PERCENT = 90


def no_real_time(backend: str | None) -> str:
    """Why a run has no wall-time charts."""
    if backend == "mock":
        return "no real time on the mock: its actions are not sent, so they carry no send time (sent_at)"
    return "no real time in this run: no action recorded when it was sent (sent_at)"


def wall_charts(metrics: Metrics, backend: str | None = None) -> list[str]:
    """Every chart of the "over wall-clock time" section, in page order."""
    wall = metrics.wall
    if not wall.n:
        return [no_chart("wall-none", "Over wall-clock time (UTC)", no_real_time(backend))]
    x = wall.starts().astype(np.float64)
    per = f"{wall.width} s" if wall.width > 1 else "second"
    lat = wall.latency_percentiles(LATENCY_PERCENTS)
    names = metrics.kind_names
    timed = [k for k in range(len(names)) if wall.latency[:, k].any()]
    by_endpoint = {names[k]: wall.latency_percentiles((ENDPOINT_PERCENT,), k)[:, 0] for k in timed}
    out = [
        chart(
            "wall-actions",
            "Actions per second (wall clock)",
            x,
            x_step=wall.width,
            series={"actions/s": wall.sent.sum(axis=1) / wall.width},
            y_label="actions / s",
            y_log=False,
        ),
        chart(
            "wall-latency",
            f"Latency percentiles per {per} (all endpoints)",
            x,
            x_step=wall.width,
            series={f"p{q}": lat[:, j] for j, q in enumerate(LATENCY_PERCENTS)},
            y_label="ms",
        ),
        chart(
            "wall-failures",
            "Failures per second (wall clock)",
            x,
            x_step=wall.width,
            series={"failures/s": wall.failed.sum(axis=1) / wall.width},
            y_label="failures / s",
            y_log=False,
        ),
        chart(
            "wall-endpoints",
            f"p{ENDPOINT_PERCENT} latency per endpoint, per {per}",
            x,
            by_endpoint,
            x_step=wall.width,
            y_label="ms",
        ),
    ]
    if wall.session_samples.any():
        out.append(
            chart(
                "wall-sessions",
                f"Users in a session (mean per {per})",
                x,
                {"users in a session": wall.users_in_session()},
                x_step=wall.width,
                y_label="users",
                y_log=False,
            )
        )
    else:
        out.append(no_chart("wall-sessions", "Users in a session", "not sampled in this run"))
    return out


def distribution_chart(metrics: Metrics, backend: str | None = None) -> str:
    """Each endpoint's response-time distribution over the whole run, cumulative: the share of
    its answers at or under each time (log axis)."""
    title = "Response-time distribution per endpoint (share answered within each time)"
    note = latency_note(metrics, backend)
    if note is not None:
        return no_chart("latency-distribution", title, note)
    counts = _coarse(metrics.kind_latency)
    used = np.flatnonzero(counts.sum(axis=0))
    lo, hi = int(used[0]), int(used[-1])
    totals = counts.sum(axis=1)
    within = np.cumsum(counts[:, lo : hi + 1], axis=1)
    series: dict[str, Any] = {
        name: 100.0 * within[k] / totals[k] for k, name in enumerate(metrics.kind_names) if totals[k]
    }
    return chart(
        "latency-distribution",
        title,
        coarse_value(np.arange(lo, hi + 1)),
        series,
        x_axis="log",
        x_label="ms",
        y_label="% answered within",
        y_log=False,
    )


def _coarse(fine: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Fine latency histograms ``(..., N_BUCKETS)`` summed :data:`GROUP` buckets at a time."""
    pad = -fine.shape[-1] % GROUP
    padded = np.concatenate([fine, np.zeros((*fine.shape[:-1], pad), fine.dtype)], axis=-1)
    out: np.ndarray[Any, Any] = padded.reshape(*fine.shape[:-1], -1, GROUP).sum(axis=-1)
    return out
