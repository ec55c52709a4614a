"""Locust's fastest client (FastHttpUser) sending the benchmark's GET as fast as it can.

The benchmark runs it headless, pinned to the client core::

    locust -f benchmarks/locustfile.py --headless -u 64 -r 64 --run-time 10s \\
        --host http://127.0.0.1:PORT --csv OUT/locust --reset-stats --only-summary

Settings come from the environment: ``BENCH_PATH`` (default ``/``), ``BENCH_TOKEN`` (a
bearer token, optional) and ``BENCH_MAX_REQUESTS`` (stop after this many requests in
all; 0 = only ``--run-time`` bounds the run).
"""

from __future__ import annotations

import os
from typing import Any

import gevent  # type: ignore[import-untyped]
from locust import FastHttpUser, constant, events, task
from locust.env import Environment

PATH = os.environ.get("BENCH_PATH", "/")
TOKEN = os.environ.get("BENCH_TOKEN", "")
MAX_REQUESTS = int(os.environ.get("BENCH_MAX_REQUESTS", "0"))
HEADERS = {"Authorization": f"Bearer {TOKEN}"} if TOKEN else {}

_state: dict[str, Any] = {"environment": None, "count": 0, "quitting": False}


def _remember(environment: Environment, **_kwargs: Any) -> None:
    _state["environment"] = environment


def _bound(**_kwargs: Any) -> None:
    """Stop the whole run once ``BENCH_MAX_REQUESTS`` requests have been made."""
    _state["count"] += 1
    if MAX_REQUESTS and _state["count"] >= MAX_REQUESTS and not _state["quitting"]:
        _state["quitting"] = True
        environment = _state["environment"]
        if environment is not None and environment.runner is not None:
            gevent.spawn(environment.runner.quit)


events.init.add_listener(_remember)  # type: ignore[no-untyped-call]
events.request.add_listener(_bound)  # type: ignore[no-untyped-call]


class BenchUser(FastHttpUser):
    """One of ``-u`` users: GET the benchmark path, no think time."""

    wait_time = constant(0)

    @task
    def get(self) -> None:
        """One request."""
        self.client.get(PATH, headers=HEADERS)
