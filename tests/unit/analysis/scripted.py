"""A scripted run for the metrics and report tests: batches whose numbers are worked out by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np

from simcore.analysis.metrics import Metrics
from simcore.core.actions import ActionBatch
from simcore.scenario.kinds import ActionKind
from simcore.seam.contract import ErrorKind, Outcomes

K = ActionKind
START = dt.datetime(2026, 1, 5)  # a Monday
T0 = 1_764_561_600_000  # 2025-12-01 04:00:00 UTC in epoch ms: when a real-time batch is sent
STATES = ("sleeping", "working", "relaxing")
PROFILES = ("lurker", "chatterbox")


def batch_of(
    tick: int, seq0: int, rows: list[tuple[int, int, int, int, float, int]]
) -> tuple[ActionBatch, Outcomes]:
    """rows: (user, kind, post, status, latency_ms, error)."""
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


def scripted() -> list[tuple[ActionBatch, Outcomes]]:
    """Four ticks of 30 minutes (two simulated hours) whose numbers are worked out by hand below."""
    T = ErrorKind.TIMEOUT
    S = ErrorKind.SKIPPED
    return [
        batch_of(
            0,
            0,
            [
                (0, K.SIGN_UP, -1, 201, 10, 0),
                (1, K.SIGN_UP, -1, 201, 20, 0),
                (2, K.SIGN_UP, -1, 201, 30, 0),
            ],
        ),
        batch_of(
            1,
            3,
            [
                (0, K.CREATE_POST, 0, 201, 5, 0),
                (1, K.BROWSE_FEED, -1, 200, 1, 0),
                (2, K.CREATE_POST, 1, 201, 5, 0),
            ],
        ),
        batch_of(
            2,
            6,
            [
                (1, K.READ_POST, 0, 200, 2, 0),
                (2, K.READ_POST, 0, 200, 4, 0),
                (0, K.READ_POST, 1, 404, 3, 0),
                (1, K.UPDATE_POST, 0, 403, 6, 0),
            ],
        ),
        batch_of(
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
    """Empty metrics with the scripted run's clock (30-minute ticks) and names."""
    return Metrics(1800, START, STATES, PROFILES, latest_n=latest_n)


def feed(m: Metrics, pairs: list[tuple[ActionBatch, Outcomes]]) -> Metrics:
    """``m`` after writing every pair."""
    for batch, outcomes in pairs:
        m.write(batch, outcomes)
    return m


def sent_at(pair: tuple[ActionBatch, Outcomes], t_ms: int, size: int) -> tuple[ActionBatch, Outcomes]:
    """``pair`` as a backend that sends requests reports it: every action sent at ``t_ms``
    (epoch ms), each answer ``size`` bytes (none where there was no answer)."""
    batch, out = pair
    n = len(batch)
    real = Outcomes(
        status=out.status,
        latency_ms=out.latency_ms,
        attempts=out.attempts,
        error=out.error,
        server_id=out.server_id,
        sent_at=np.full(n, t_ms, np.int64),
        response_bytes=np.where(out.status > 0, size, -1).astype(np.int64),
        sent_path=np.full(n, "/x", dtype=object),
    )
    return batch, real
