"""A run directory's metric files: the metrics state, CSV time series, latest actions, the analysis.

Files (all written atomically):

- ``metrics.npz`` + ``metrics.json``: the :class:`~simcore.analysis.metrics.Metrics` state
  (arrays and settings), from which ``simcore report`` rebuilds everything;
- ``hourly.csv``: per simulated hour: users, actions by kind, failures, latency p50/p90/p99;
- ``day_shape.csv``: per hour of day: mean users by state, mean actions (weekday, weekend);
- ``endpoints.csv``: per endpoint: count, failures, error rate, latency figures, answer sizes;
- ``walltime.csv``: per wall-clock bucket (UTC): actions, failures, latency p50/p90/p99 and
  users in a session, for runs whose actions record when they were sent (not the mock);
- ``latest_actions.json``: the latest actions, rewritten every simulated hour during a run;
- ``summary.json`` gains ``metrics``, ``crowd`` and ``thresholds``; ``report.html``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from simcore import atomic
from simcore.analysis.crowd import crowd_shape
from simcore.analysis.metrics import Metrics
from simcore.analysis.thresholds import all_passed, evaluate, values_from
from simcore.core.actions import ActionBatch
from simcore.errors import SimcoreError
from simcore.logs.read import find_log, read_columns
from simcore.run import rundir
from simcore.scenario.durations import ends_hour
from simcore.seam.contract import Outcomes

METRICS_ARRAYS = "metrics.npz"
METRICS_META = "metrics.json"
LATEST_FILE = "latest_actions.json"
REPORT_FILE = "report.html"
WALLTIME_FILE = "walltime.csv"


class MetricsSink:
    """Feeds a :class:`Metrics` and rewrites latest_actions.json at the end of each simulated hour.

    It is ``Stateful`` for :mod:`simcore.run.snapshot`: snapshots carry the metrics
    under ``sink.metrics.*`` and a resumed run continues them.
    """

    state_key = "metrics"

    def __init__(self, metrics: Metrics, directory: Path | None) -> None:
        self.metrics = metrics
        self.directory = directory

    def state_arrays(self) -> dict[str, NDArray[Any]]:
        """The metrics' numbers (for snapshots)."""
        return self.metrics.state_arrays()

    def load_state(self, arrays: dict[str, NDArray[Any]]) -> None:
        """Continue from a snapshot's numbers."""
        self.metrics.load_state(arrays)

    def write(self, batch: ActionBatch, outcomes: Outcomes) -> None:
        """Account for one batch; at an hour's last tick, rewrite the latest actions."""
        self.metrics.write(batch, outcomes)
        m = self.metrics
        if self.directory is not None and ends_hour(batch.tick, m.tick_seconds):
            write_latest(self.directory, m)

    def close(self) -> None:
        """Write the latest actions one last time."""
        if self.directory is not None:
            write_latest(self.directory, self.metrics)


def write_latest(directory: Path, metrics: Metrics) -> None:
    """Rewrite latest_actions.json (newest last)."""
    atomic.write_text(directory / LATEST_FILE, json.dumps(metrics.latest_actions(), indent=1) + "\n")


def save_metrics(directory: Path, metrics: Metrics) -> None:
    """Write metrics.npz and metrics.json."""
    arrays, meta = metrics.state_arrays(), metrics.settings()
    buf = io.BytesIO()
    np.savez_compressed(buf, allow_pickle=False, **arrays)
    atomic.write_bytes(directory / METRICS_ARRAYS, buf.getvalue())
    atomic.write_text(directory / METRICS_META, json.dumps(meta, indent=2) + "\n")


def load_metrics(directory: Path) -> Metrics:
    """The metrics saved in a run directory, or else in its latest snapshot (a killed run)."""
    arrays_path, meta_path = directory / METRICS_ARRAYS, directory / METRICS_META
    if arrays_path.is_file() and meta_path.is_file():
        with np.load(arrays_path) as data:
            arrays = {k: data[k] for k in data.files}
        return Metrics.from_state(arrays, json.loads(meta_path.read_text(encoding="utf-8")))
    from simcore.run import snapshot

    latest = snapshot.latest(directory) if directory.is_dir() else None
    if latest is not None:
        snap = snapshot.load(latest)
        arrays = snap.group(f"sink.{MetricsSink.state_key}")
        if arrays:
            config = snap.config
            settings = {
                "tick_seconds": config.tick_seconds,
                "start": config.start.isoformat(),
                "state_names": list(config.routine.states),
                "profile_names": list(config.profiles),
                "latest_n": len(arrays["latest.seq"]),
            }
            return Metrics.from_state(arrays, settings)
    raise SimcoreError(
        f"'{directory}' has no {METRICS_ARRAYS} and {METRICS_META}, nor a snapshot with metrics; "
        "expected a run directory written by `simcore run` (pass the directory it printed)"
    )


def _csv(rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _cell(x: float) -> str:
    return "" if not math.isfinite(x) else f"{x:.3f}"


def write_csvs(directory: Path, metrics: Metrics) -> None:
    """Write hourly.csv, day_shape.csv and endpoints.csv."""
    users = metrics.users_by_hour()
    acts = metrics.actions_by_hour()
    lat = metrics.latency_by_hour((50, 90, 99))
    rows: list[list[Any]] = [
        [
            "hour",
            "time",
            "users",
            *metrics.kind_names,
            "actions",
            "failures",
            "p50_ms",
            "p90_ms",
            "p99_ms",
        ]
    ]
    for h, when in enumerate(metrics.hour_starts()):
        rows.append(
            [
                h,
                when.isoformat(),
                int(users[h]),
                *acts[h].tolist(),
                int(acts[h].sum()),
                int(metrics.hour_failed[h]),
                *(_cell(v) for v in lat[h]),
            ]
        )
    atomic.write_text(directory / "hourly.csv", _csv(rows))
    shape = metrics.day_shape()
    head = [
        "hour_of_day",
        *(f"users_{s}" for s in metrics.state_names),
        "actions_weekday",
        "actions_weekend",
    ]
    day_rows: list[list[Any]] = [head]
    for h in range(24):
        day_rows.append(
            [
                h,
                *(f"{v:.2f}" for v in shape["users_by_state"][h]),
                f"{shape['actions_weekday'][h]:.2f}",
                f"{shape['actions_weekend'][h]:.2f}",
            ]
        )
    atomic.write_text(directory / "day_shape.csv", _csv(day_rows))
    stats = metrics.endpoint_stats()
    keys = list(stats[0])
    atomic.write_text(
        directory / "endpoints.csv",
        _csv([keys, *[["" if r[k] is None else r[k] for k in keys] for r in stats]]),
    )
    if metrics.wall.n:
        atomic.write_text(directory / WALLTIME_FILE, _csv(wall_rows(metrics)))


def wall_rows(metrics: Metrics) -> list[list[Any]]:
    """walltime.csv: a header, then one row per wall-clock bucket."""
    wall = metrics.wall
    lat = wall.latency_percentiles((50, 90, 99))
    sessions = wall.users_in_session()
    rows: list[list[Any]] = [
        ["time_utc", "seconds", "actions", "actions_per_s", "failures", "p50_ms", "p90_ms", "p99_ms",
         "users_in_session"]
    ]  # fmt: skip
    sent, failed = wall.sent.sum(axis=1), wall.failed.sum(axis=1)
    for b, start in enumerate(wall.starts().tolist()):
        rows.append(
            [
                dt.datetime.fromtimestamp(start, dt.timezone.utc).isoformat(),
                wall.width,
                int(sent[b]),
                f"{sent[b] / wall.width:.3f}",
                int(failed[b]),
                *(_cell(v) for v in lat[b]),
                "" if not math.isfinite(sessions[b]) else f"{sessions[b]:.2f}",
            ]
        )
    return rows


def analyse(
    directory: Path,
    metrics: Metrics,
    summary: dict[str, Any],
    thresholds: dict[str, str],
    config_text: str,
    log: Path | None = None,
) -> dict[str, Any]:
    """Add metrics, crowd shape and threshold results to ``summary``; write every metric file.

    Returns the new summary (the caller writes summary.json). The crowd numbers
    come from the action log ``log`` (default: the run directory's own log, if any).
    """
    from simcore.analysis.report import write_report

    out = dict(summary)
    out["metrics"] = metrics.summary()
    log = log or find_log(directory)
    if log is not None and log.is_file():
        out["crowd"] = {"log": rundir.shown(log, directory), **crowd_shape(read_columns(log))}
    else:
        out["crowd"] = None
    run_values = dict(out["metrics"])
    run_values["actions_per_second"] = summary.get("actions_per_second")
    values = values_from(run_values, out["metrics"]["endpoints"], out["crowd"])
    results = evaluate(thresholds, values)
    out["thresholds"] = {"passed": all_passed(results), "results": results}
    save_metrics(directory, metrics)
    write_csvs(directory, metrics)
    write_latest(directory, metrics)
    write_report(directory / REPORT_FILE, out, metrics, config_text)
    return out
