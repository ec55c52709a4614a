"""A live run's numbers for monitoring: the Prometheus exposition (``/metrics``, through
prometheus_client) and OpenTelemetry export (OTLP over HTTP, ``--otel-endpoint``).

Both read the same figures at collection time (:func:`figures`): actions by kind,
route and status and failures by kind and route (from the run's metrics, so they
equal the log's counts), latency histograms by route, users by routine state, the
simulated time, ticks done, lag and speed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
from attrs import frozen

from simcore.analysis.endpoints import route_of
from simcore.analysis.histogram import GROWTH, LOWEST_MS, N_BUCKETS
from simcore.errors import UsageError

if TYPE_CHECKING:
    from simcore.run.builder import Run

#: Latency histogram bounds, in seconds (Prometheus ``le``).
LATENCY_BOUNDS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)


@frozen
class Latency:
    """One route's latency histogram: cumulative counts at :data:`LATENCY_BOUNDS`, count, sum (s)."""

    kind: str
    route: str
    cumulative: tuple[int, ...]
    count: int
    sum_seconds: float


@frozen
class Figures:
    """Everything exported, read once per collection."""

    actions: tuple[tuple[str, str, str, int], ...]  # (kind, route, status, count)
    failures: tuple[tuple[str, str, int], ...]  # (kind, route, count)
    latency: tuple[Latency, ...]
    users: tuple[tuple[str, int], ...]  # by routine state
    ticks: int
    simulated_seconds: float
    lag_seconds: float
    speed: float  # +Inf at max speed
    rate: float  # the rate target in actions per real second, 0 if none


def _bucket_edges_ms() -> np.ndarray[Any, Any]:
    """The upper edge of each of the histogram's buckets, in ms (the last is open)."""
    i = np.arange(N_BUCKETS, dtype=np.float64)
    edges = LOWEST_MS * np.power(GROWTH, i)
    edges[-1] = np.inf
    return edges


_EDGES_MS = _bucket_edges_ms()


def figures(run: Run) -> Figures:
    """The run's exported figures as they stand."""
    m = run.metrics
    ctl = run.controller
    actions, failures, latency = [], [], []
    for k in range(m.n_kinds):
        name = m.kind_names[k]
        method, path = route_of(m, k)
        route = f"{method} {path}"
        row = m.kind_status[k]
        for status in np.flatnonzero(row).tolist():
            actions.append((name, route, str(status), int(row[status])))
        failed = int(row[0] + row[400:].sum())
        if failed:
            failures.append((name, route, failed))
        hist = m.kind_latency[k]
        total = int(hist.sum())
        if total:
            below = [int(hist[bound * 1000.0 >= _EDGES_MS].sum()) for bound in LATENCY_BOUNDS]
            latency.append(Latency(name, route, tuple(below), total, float(m.kind_lat_sum_us[k]) / 1e6))
    sim = ctl.sim
    names = sim.routine.state_names
    pop = sim.population
    counts = np.bincount(pop.state[: pop.n], minlength=len(names))[: len(names)]
    pacer = ctl.pacer
    speed = run.control.speed
    return Figures(
        tuple(actions),
        tuple(failures),
        tuple(latency),
        tuple(zip(names, counts.tolist())),
        ctl.ticks_done,
        float(ctl.ticks_done * sim.config.tick_seconds),
        float(pacer.lag) if pacer is not None and pacer.paced else 0.0,
        math.inf if speed is None else float(speed),
        float(run.control.rate or 0.0),
    )


class PrometheusCollector:
    """A prometheus_client collector over a run (register it in a ``CollectorRegistry``)."""

    def __init__(self, run: Run) -> None:
        self.run = run

    def collect(self) -> Iterator[Any]:
        """The metric families, read now."""
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        f = figures(self.run)
        actions = CounterMetricFamily(
            "simcore_actions",
            "Actions answered, by kind, route and status",
            labels=["kind", "route", "status"],
        )
        for kind, route, status, count in f.actions:
            actions.add_metric([kind, route, status], count)
        yield actions
        failures = CounterMetricFamily(
            "simcore_failures", "Actions failed (no answer, or status >= 400)", labels=["kind", "route"]
        )
        for kind, route, count in f.failures:
            failures.add_metric([kind, route], count)
        yield failures
        latency = HistogramMetricFamily(
            "simcore_request_latency_seconds", "Latency by route", labels=["kind", "route"]
        )
        for h in f.latency:
            buckets = [(_le(b), c) for b, c in zip(LATENCY_BOUNDS, h.cumulative)]
            latency.add_metric([h.kind, h.route], [*buckets, ("+Inf", h.count)], h.sum_seconds)
        yield latency
        users = GaugeMetricFamily("simcore_users", "Users by routine state", labels=["state"])
        for state, count in f.users:
            users.add_metric([state], count)
        yield users
        for name, help_text, value in _gauges(f):
            yield GaugeMetricFamily(name, help_text, value=value)


def _gauges(f: Figures) -> Iterable[tuple[str, str, float]]:
    return (
        ("simcore_ticks_done", "Ticks done", float(f.ticks)),
        ("simcore_simulated_seconds", "Simulated seconds since the start", f.simulated_seconds),
        ("simcore_lag_seconds", "How far the paced run is behind its schedule", f.lag_seconds),
        ("simcore_speed", "Simulated seconds per real second (+Inf: as fast as possible)", f.speed),
        ("simcore_rate_target", "The rate target in actions per real second (0: none)", f.rate),
    )


def _le(bound: float) -> str:
    return f"{bound:g}"


def prometheus_text(run: Run) -> bytes:
    """The exposition text of a run's figures."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(PrometheusCollector(run))
    data: bytes = generate_latest(registry)
    return data


class OtelExport:
    """Exports the same figures through OpenTelemetry (OTLP over HTTP) every ``interval`` seconds."""

    def __init__(self, run: Run, endpoint: str, interval: float = 5.0) -> None:
        try:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
            from opentelemetry.sdk.metrics import MeterProvider
            from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
            from opentelemetry.sdk.resources import Resource
        except ImportError as exc:
            raise UsageError(
                f"--otel-endpoint needs the OpenTelemetry SDK ({exc}); install it with "
                "pip install 'simcore[otel]'"
            ) from None
        url = endpoint.rstrip("/")
        if not url.endswith("/v1/metrics"):
            url += "/v1/metrics"
        self.run = run
        reader = PeriodicExportingMetricReader(
            OTLPMetricExporter(endpoint=url, timeout=5), export_interval_millis=int(interval * 1000)
        )
        resource = Resource.create({"service.name": "simcore", "simcore.run": str(run.directory)})
        self.provider = MeterProvider(resource=resource, metric_readers=[reader])
        meter = self.provider.get_meter("simcore")
        meter.create_observable_counter(
            "simcore_actions", [self._actions], description="Actions answered"
        )
        meter.create_observable_counter(
            "simcore_failures", [self._failures], description="Actions failed"
        )
        meter.create_observable_gauge(
            "simcore_users", [self._users], description="Users by routine state"
        )
        meter.create_observable_gauge("simcore_ticks_done", [self._ticks], description="Ticks done")
        meter.create_observable_gauge(
            "simcore_lag_seconds", [self._lag], description="Lag behind schedule"
        )

    def _actions(self, _options: Any) -> Iterable[Any]:
        from opentelemetry.metrics import Observation

        f = figures(self.run)
        return [Observation(c, {"kind": k, "route": r, "status": s}) for k, r, s, c in f.actions]

    def _failures(self, _options: Any) -> Iterable[Any]:
        from opentelemetry.metrics import Observation

        return [Observation(c, {"kind": k, "route": r}) for k, r, c in figures(self.run).failures]

    def _users(self, _options: Any) -> Iterable[Any]:
        from opentelemetry.metrics import Observation

        return [Observation(c, {"state": s}) for s, c in figures(self.run).users]

    def _ticks(self, _options: Any) -> Iterable[Any]:
        from opentelemetry.metrics import Observation

        return [Observation(self.run.controller.ticks_done)]

    def _lag(self, _options: Any) -> Iterable[Any]:
        from opentelemetry.metrics import Observation

        return [Observation(figures(self.run).lag_seconds)]

    def close(self) -> None:
        """Export once more (the final figures) and stop."""
        self.provider.force_flush(timeout_millis=5000)
        self.provider.shutdown()
