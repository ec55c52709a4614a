"""A scripted run for metrics tests: four hand-made ticks whose numbers are worked out by hand.

tests/unit/analysis/test_metrics.py checks Metrics against those numbers; the report tests
(tests/unit/analysis/test_report.py) render the same run. ``batch_with_outcomes`` builds one
tick's batch and outcomes from rows, for tests that script their own ticks.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from simcore.analysis.metrics import Metrics
from simcore.core.actions import ActionBatch
from simcore.scenario.kinds import ActionKind
from simcore.seam.contract import ErrorKind, Outcomes

K = ActionKind
#: The scripted run's start: a Monday at midnight.
START = dt.datetime(2026, 1, 5)
#: The scripted run's routine states and profiles, by index.
STATES = ("sleeping", "working", "relaxing")
PROFILES = ("lurker", "chatterbox")
#: One scripted action: (user, kind, post, status, latency_ms, error).
Row = tuple[int, int, int, int, float, int]


def batch_with_outcomes(tick: int, seq0: int, rows: list[Row]) -> tuple[ActionBatch, Outcomes]:
    """One tick's batch and its outcomes; actions 1 s apart, all relaxing, profile = user % 2."""
    n = len(rows)
    user, kind, post, status, lat, err = (np.array(c) for c in zip(*rows))
    batch = ActionBatch(
        tick=tick,
        user=user.astype(np.int32),
        kind=kind.astype(np.uint8),
        post=post.astype(np.int32),
        offset_ms=(np.arange(n) * 1000).astype(np.int32),
        state=np.full(n, 2, np.uint8),
        profile=(user % 2).astype(np.uint8),
        seq0=seq0,
    )
    outcomes = Outcomes(
        status=status.astype(np.int16),
        latency_ms=lat.astype(np.float32),
        attempts=np.ones(n, np.uint8),
        error=err.astype(np.uint8),
        server_id=np.full(n, -1, np.int64),
    )
    return batch, outcomes


def scripted_run() -> list[tuple[ActionBatch, Outcomes]]:
    """Four ticks of 30 minutes (two simulated hours) whose numbers are worked out by hand in test_metrics.py."""
    T = ErrorKind.TIMEOUT
    S = ErrorKind.SKIPPED
    return [
        batch_with_outcomes(
            0,
            0,
            [
                (0, K.SIGN_UP, -1, 201, 10, 0),
                (1, K.SIGN_UP, -1, 201, 20, 0),
                (2, K.SIGN_UP, -1, 201, 30, 0),
            ],
        ),
        batch_with_outcomes(
            1,
            3,
            [
                (0, K.CREATE_POST, 0, 201, 5, 0),
                (1, K.BROWSE_FEED, -1, 200, 1, 0),
                (2, K.CREATE_POST, 1, 201, 5, 0),
            ],
        ),
        batch_with_outcomes(
            2,
            6,
            [
                (1, K.READ_POST, 0, 200, 2, 0),
                (2, K.READ_POST, 0, 200, 4, 0),
                (0, K.READ_POST, 1, 404, 3, 0),
                (1, K.UPDATE_POST, 0, 403, 6, 0),
            ],
        ),
        batch_with_outcomes(
            3,
            10,
            [
                (0, K.DELETE_POST, 0, 204, 8, 0),
                (2, K.READ_POST, 1, 0, 1000, T),
                (1, K.READ_POST, 1, 0, 0, S),
            ],
        ),
    ]


def new_metrics(latest_n: int = 4) -> Metrics:
    """Metrics with 30-minute ticks from START over STATES and PROFILES, keeping ``latest_n`` actions."""
    return Metrics(1800, START, STATES, PROFILES, latest_n=latest_n)


def feed(m: Metrics, pairs: list[tuple[ActionBatch, Outcomes]]) -> Metrics:
    """Write every (batch, outcomes) pair into ``m``; return ``m``."""
    for batch, outcomes in pairs:
        m.write(batch, outcomes)
    return m
