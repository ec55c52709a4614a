"""What the web view shows: a sink that buckets a run's outcomes by wall-clock second, and the
state of the run as one JSON document (:meth:`WebFeed.state`) the page redraws from.

The run thread writes batches (:meth:`WebFeed.write`); the web server's thread reads
:meth:`WebFeed.state` about once a second. The two meet under one lock, around small
per-second buffers; the rest of the state is read from the controller and the
metrics as they stand (counts are only ever added to, so a read between two
updates is off by at most one batch).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from simcore.core.actions import ActionBatch, spelling
from simcore.run.rate import format_rate
from simcore.scenario.kinds import MAX_KINDS
from simcore.seam.contract import ERROR_NAMES, Outcomes

if TYPE_CHECKING:
    from simcore.run.builder import Run

#: Wall-clock points kept for the charts (one a second: 15 minutes).
HISTORY = 900
#: Latest actions shown, and examples kept per kind of error.
LATEST = 15
EXAMPLES = 3


class WebFeed:
    """A sink for the web view: actions, failures and latencies per wall-clock second."""

    def __init__(self, run: Run, history: int = HISTORY) -> None:
        self.run = run
        config = run.config
        self.kind_names = config.kind_set.names
        self.methods = spelling(config.kind_set).methods
        self._lock = threading.Lock()
        self._kinds = np.zeros(MAX_KINDS, np.int64)  # this second's actions by kind
        self._failed = 0
        self._latencies: list[NDArray[np.float32]] = []
        self.points: deque[dict[str, Any]] = deque(maxlen=history)
        self.latest: deque[dict[str, Any]] = deque(maxlen=LATEST)
        self.examples: dict[str, list[dict[str, Any]]] = {}
        self._last_sample = time.time()
        self.ended = False
        self.report: str | None = None
        self.sent_requests = False

    # -- the sink (run thread) -------------------------------------------------------------

    def write(self, batch: ActionBatch, outcomes: Outcomes) -> None:
        """Count one batch into the current second."""
        n = len(batch)
        if n == 0:
            return
        failed = outcomes.failed()
        sent = outcomes.error != ERROR_NAMES.index("skipped")
        with self._lock:
            self._kinds += np.bincount(batch.kind, minlength=MAX_KINDS)[:MAX_KINDS]
            self._failed += int(np.count_nonzero(failed))
            if sent.any():
                self._latencies.append(outcomes.latency_ms[sent])
            self.sent_requests |= outcomes.real
            for i in range(max(n - LATEST, 0), n):
                self.latest.append(self._record(batch, outcomes, i))
            for i in np.flatnonzero(failed)[:20].tolist():
                key = self._error_key(batch, outcomes, i)
                kept = self.examples.setdefault(key, [])
                if len(kept) < EXAMPLES:
                    kept.append(self._record(batch, outcomes, i))

    def close(self) -> None:
        """Nothing to release (a sink's ``close``)."""

    def _record(self, batch: ActionBatch, outcomes: Outcomes, i: int) -> dict[str, Any]:
        kind = int(batch.kind[i])
        sent_path = outcomes.sent_path[i] if outcomes.real else None
        run = self.run
        when = run.controller.sim_time(batch.tick) + dt.timedelta(milliseconds=int(batch.offset_ms[i]))
        return {
            "seq": batch.seq0 + i,
            "time": when.isoformat(timespec="seconds"),
            "user": int(batch.user[i]),
            "action": self.kind_names[kind],
            "method": self.methods[kind],
            "path": sent_path or _reference_path(self, batch, i),
            "status": int(outcomes.status[i]),
            "latency_ms": round(float(outcomes.latency_ms[i]), 2),
            "error": ERROR_NAMES[int(outcomes.error[i])] if outcomes.error[i] else None,
        }

    def _error_key(self, batch: ActionBatch, outcomes: Outcomes, i: int) -> str:
        error = int(outcomes.error[i])
        what = ERROR_NAMES[error] if error else str(int(outcomes.status[i]))
        return f"{self.kind_names[int(batch.kind[i])]} {what}"

    # -- sampling (web thread) -------------------------------------------------------------

    def sample(self) -> dict[str, Any]:
        """Close the current second: one point of the wall-clock series."""
        now = time.time()
        with self._lock:
            kinds, self._kinds = self._kinds, np.zeros(MAX_KINDS, np.int64)
            failed, self._failed = self._failed, 0
            latencies, self._latencies = self._latencies, []
        seconds = max(now - self._last_sample, 1e-3)
        self._last_sample = now
        lat = np.concatenate(latencies) if latencies else np.zeros(0, np.float32)
        pct = np.percentile(lat, [50, 95, 99]).tolist() if len(lat) else [None, None, None]
        ctl = self.run.controller
        pop = ctl.sim.population
        point = {
            "t": round(now, 3),
            "actions": {
                name: round(float(kinds[k]) / seconds, 3) for k, name in enumerate(self.kind_names)
            },
            "failures": round(failed / seconds, 3),
            "p50": pct[0],
            "p95": pct[1],
            "p99": pct[2],
            "users": int(pop.n),
        }
        self.points.append(point)
        return point

    def state(self) -> dict[str, Any]:
        """The whole page's data: the run's position and controls, series, tables."""
        run = self.run
        ctl = run.controller
        sim = ctl.sim
        control = run.control
        pacer = ctl.pacer
        done = ctl.ticks_done
        now = ctl.sim_time(done)
        names = sim.routine.state_names
        pop = sim.population
        counts = np.bincount(pop.state[: pop.n], minlength=len(names))[: len(names)]
        status = (
            "ended"
            if self.ended
            else "stopping"
            if control.stopping
            else "paused"
            if control.paused
            else "running"
        )
        return {
            "status": status,
            "simulated_time": now.isoformat(timespec="minutes"),
            "day": (now.date() - sim.config.start.date()).days + 1,
            "tick": done,
            "ticks": run.config.duration_ticks,
            "speed": control.status()["speed"],
            "rate": format_rate(control.rate),
            "lag": round(pacer.lag, 3) if pacer is not None and pacer.paced else None,
            "max_lag": round(pacer.max_lag, 3) if pacer is not None and pacer.paced else None,
            "actions": ctl.totals.actions,
            "real_time": self.sent_requests,
            "kinds": list(self.kind_names),
            "states": dict(zip(names, counts.tolist())),
            "points": list(self.points),
            "endpoints": _endpoints(run),
            "top_posters": _top(pop.n_posts[: pop.n], 5, "user", "posts"),
            "top_posts": _top(sim.world.views[: sim.world.n], 5, "post", "views"),
            "latest": list(self.latest),
            "errors": {k: {"count": v, **_examples(self, k)} for k, v in ctl.totals.errors.items()},
            "failures": {key: examples for key, examples in self.examples.items()},
            "report": self.report,
        }


def _reference_path(feed: WebFeed, batch: ActionBatch, i: int) -> str:
    spelled = spelling(feed.run.config.kind_set)
    kind = int(batch.kind[i])
    source = int(spelled.path_id[kind])
    the_id = int(batch.ref[i]) if source == 2 else int(batch.post[i])
    path = spelled.paths[kind]
    return path if source == 0 else path.replace("{id}", str(the_id))


def _examples(feed: WebFeed, error: str) -> dict[str, Any]:
    return {
        "examples": [e for key, kept in feed.examples.items() if key.endswith(error) for e in kept][
            :EXAMPLES
        ]
    }


def _endpoints(run: Run) -> list[dict[str, Any]]:
    rows = run.metrics.endpoint_stats()
    keep = ("endpoint", "method", "path", "count", "failures", "p50_ms", "p95_ms", "p99_ms", "max_ms")
    return [{k: row.get(k) for k in keep} for row in rows if row["count"] or row["endpoint"] == "all"]


def _top(values: NDArray[Any], n: int, what: str, count: str) -> list[dict[str, int]]:
    if len(values) == 0:
        return []
    k = min(n, len(values))
    idx = np.argpartition(-values.astype(np.int64), k - 1)[:k]
    idx = idx[np.lexsort((idx, -values[idx].astype(np.int64)))]
    return [{what: int(i), count: int(values[i])} for i in idx if values[i] > 0]
