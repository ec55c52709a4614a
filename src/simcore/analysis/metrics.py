"""Run metrics accumulated from batches and outcomes: a vectorised, mergeable, serialisable sink.

:class:`Metrics` is a sink (``write(batch, outcomes)``, ``close()``) over the
:class:`~simcore.analysis.tables.MetricTables` it extends (what is kept, how it is
saved and merged). The work lives in the modules of this package: accounting for
a batch in :mod:`simcore.analysis.accumulate`, the latest actions in
:mod:`simcore.analysis.latest`, the per-hour views in :mod:`simcore.analysis.hourly`
and the per-endpoint tables in :mod:`simcore.analysis.endpoints`.

``a.merge(b)`` is exactly the metrics of the union of the two runs' actions.
:meth:`Metrics.state_arrays` and :meth:`Metrics.settings` save the metrics,
:meth:`Metrics.from_state` rebuilds an equal object from both, and
:meth:`Metrics.load_state` replaces an existing object's numbers (the snapshot
module's ``Stateful`` protocol, through :class:`simcore.run.runfiles.MetricsSink`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from simcore.analysis import endpoints, hourly
from simcore.analysis.accumulate import account
from simcore.analysis.endpoint import REFERENCE_ENDPOINTS, Endpoint
from simcore.analysis.latest import latest_records
from simcore.analysis.tables import MetricTables, merge_arrays
from simcore.core.actions import ActionBatch
from simcore.scenario.durations import ends_hour
from simcore.seam.contract import Outcomes


class Metrics(MetricTables):
    """Everything measured about a run, from its batches and outcomes."""

    def __init__(
        self,
        tick_seconds: int,
        start: dt.datetime,
        state_names: Sequence[str],
        profile_names: Sequence[str],
        latest_n: int = 100,
        endpoints: Sequence[Endpoint] = REFERENCE_ENDPOINTS,
    ) -> None:
        super().__init__(tick_seconds, start, state_names, profile_names, latest_n, endpoints)
        #: Optional probe giving every user's state; called at each hour's last tick.
        self.population_states: Callable[[], NDArray[np.uint8]] | None = None
        #: Optional probe giving how many users are in a session; called for each batch
        #: sent in real time, and recorded at its last send (the wall-time series' gauge).
        self.population_sessions: Callable[[], int] | None = None

    # --- the sink ---------------------------------------------------------------------

    def write(self, batch: ActionBatch, outcomes: Outcomes) -> None:
        """Account for one batch (a sink's ``write``)."""
        hour = self.hour_of(batch.tick)
        self.grow_hours(hour + 1)
        if len(batch):
            sent = account(self, batch, outcomes, hour)
            if sent is not None and self.population_sessions is not None:
                self.wall.sample_sessions(sent, self.population_sessions())
        if ends_hour(batch.tick, self.tick_seconds) and self.population_states is not None:
            self.observe_states(batch.tick, self.population_states())

    def observe_states(self, tick: int, states: NDArray[np.uint8]) -> None:
        """Count users by routine state at ``tick`` (the controller's population, sampled hourly)."""
        hour = self.hour_of(tick)
        self.grow_hours(hour + 1)
        n_states = len(self.state_names)
        self.hour_states[hour] += np.bincount(states, minlength=n_states)[:n_states]
        self.hour_samples[hour] += 1

    def close(self) -> None:
        """Nothing to release (a sink's ``close``)."""

    # --- merging and rebuilding -------------------------------------------------------

    def merge(self, other: Metrics) -> Metrics:
        """The metrics of both runs' actions together (``self`` and ``other`` are unchanged)."""
        if (self.tick_seconds, self.start, self.state_names, self.kind_names) != (
            other.tick_seconds,
            other.start,
            other.state_names,
            other.kind_names,
        ):
            raise ValueError("cannot merge metrics of runs with different clocks or routine states")
        latest_n = max(self.latest_n, other.latest_n)  # the same whichever side merges
        arrays = merge_arrays(self.state_arrays(), other.state_arrays(), latest_n)
        sent = self.sent_requests or other.sent_requests
        return Metrics.from_state(arrays, dict(self.settings(), latest_n=latest_n, sent_requests=sent))

    @classmethod
    def from_state(cls, arrays: dict[str, NDArray[Any]], meta: dict[str, Any]) -> Metrics:
        """Rebuild metrics saved by :meth:`state_arrays` and :meth:`settings`."""
        m = cls(
            meta["tick_seconds"],
            dt.datetime.fromisoformat(meta["start"]),
            meta["state_names"],
            meta["profile_names"],
            meta["latest_n"],
            [Endpoint(*e) for e in meta["endpoints"]] if "endpoints" in meta else REFERENCE_ENDPOINTS,
        )
        m.sent_requests = bool(meta.get("sent_requests", False))
        m.load_state(arrays)
        return m

    # --- views ------------------------------------------------------------------------

    @property
    def latest(self) -> dict[str, NDArray[Any]]:
        """The latest ``latest_n`` actions as columns (see :data:`~simcore.analysis.latest.LATEST_FIELDS`), oldest first."""
        return self.recent.columns

    def latest_actions(self) -> list[dict[str, Any]]:
        """The latest actions, oldest first, as plain records."""
        return latest_records(
            self.latest,
            self.start,
            self.tick_seconds,
            self.profile_names,
            self.state_names,
            self.endpoints,
        )

    def hour_starts(self) -> list[dt.datetime]:
        """The simulated time at which each hour of the series begins."""
        return hourly.hour_starts(self)

    def users_by_hour(self) -> NDArray[np.int64]:
        """Users signed up by the end of each hour."""
        return hourly.users_by_hour(self)

    def actions_by_hour(self) -> NDArray[np.int64]:
        """Actions by kind in each hour, shape ``(hours, kinds)``."""
        return hourly.actions_by_hour(self)

    def latency_by_hour(self, percents: Sequence[float] = (50, 90, 99)) -> NDArray[np.float64]:
        """Latency percentiles (all endpoints) in each hour, NaN where none."""
        return hourly.latency_by_hour(self, percents)

    def day_shape(self) -> dict[str, NDArray[np.float64]]:
        """By hour of the day: mean users in each state, and mean actions per hour (weekday, weekend)."""
        return hourly.day_shape(self)

    def wall_time(self) -> dict[str, Any] | None:
        """The wall-time span of the run's sends (UTC) and its bucket width; None without real time."""
        return endpoints.wall_time(self)

    def endpoint_stats(self) -> list[dict[str, Any]]:
        """Per endpoint (action kind) and for all together: count, failures, latency figures."""
        return endpoints.endpoint_stats(self)

    def failures(self) -> dict[str, dict[str, int]]:
        """Failures by endpoint: ``{"read_post": {"404": 3, "timeout": 1}}`` (only non-empty)."""
        return endpoints.failures(self)

    def top_posters(self, n: int = 10) -> list[dict[str, int]]:
        """The ``n`` users with the most posts (ties: lower id first)."""
        return endpoints.top_posters(self, n)

    def top_posts(self, n: int = 10) -> list[dict[str, int]]:
        """The ``n`` most viewed posts with their authors (-1 if unknown)."""
        return endpoints.top_posts(self, n)

    def totals(self) -> dict[str, Any]:
        """Headline numbers: actions, failures, error rate, actions per simulated hour."""
        return endpoints.totals(self)

    def summary(self, top: int = 10) -> dict[str, Any]:
        """Everything for summary.json."""
        return endpoints.summary(self, top)
