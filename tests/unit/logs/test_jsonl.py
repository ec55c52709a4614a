"""The vectorised JSONL formatter writes exactly the bytes of the per-action reference."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from simcore.core.actions import ActionBatch
from simcore.core.simulation import Simulation
from simcore.logs.fields import LogHeader
from simcore.logs.jsonl import format_lines, format_lines_reference
from simcore.scenario.kinds import KIND_NAMES
from simcore.scenario.parse import with_overrides
from simcore.scenario.schema import Config
from simcore.seam.contract import ErrorKind, Outcomes
from simcore_backends.mock import MockBackend

PROFILES = ("lurker", 'quote"d', "night owl")
STATES = ("sleeping", "working", "relaxing")
latency = st.one_of(
    st.floats(0, 1e4, allow_nan=False),
    st.sampled_from(
        [
            0.0,
            -0.0,
            0.0004,
            0.0005,
            0.001,
            0.1,
            2.5,
            999.9995,
            1e12,
            3e13,
            float("nan"),
            float("inf"),
            -3.0,
        ]
    ),
)


@st.composite
def batches(draw: st.DrawFn) -> tuple[ActionBatch, Outcomes, dt.datetime, int]:
    n = draw(st.integers(1, 30))
    ints = lambda lo, hi: np.array(draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n)))  # noqa: E731
    tick_seconds = draw(st.sampled_from([1, 7, 60, 3600]))
    start = draw(st.datetimes(dt.datetime(1969, 12, 1), dt.datetime(2100, 1, 1))).replace(microsecond=0)
    batch = ActionBatch(
        tick=draw(st.integers(0, 10_000)),
        user=ints(0, 2**31 - 2).astype(np.int32),
        kind=ints(0, len(KIND_NAMES) - 1).astype(np.uint8),
        post=ints(-1, 2**31 - 2).astype(np.int32),
        offset_ms=ints(0, tick_seconds * 1000 - 1).astype(np.int32),
        state=ints(0, len(STATES) - 1).astype(np.uint8),
        profile=ints(0, len(PROFILES) - 1).astype(np.uint8),
        seq0=draw(st.integers(0, 2**40)),
        ref=ints(-1, 2**31 - 2).astype(np.int32),
    )
    outcomes = Outcomes(
        status=np.array(
            draw(
                st.lists(
                    st.sampled_from([0, 200, 201, 204, 404, 503, 999, 1000, -1]), min_size=n, max_size=n
                )
            ),
            np.int16,
        ),
        latency_ms=np.array(draw(st.lists(latency, min_size=n, max_size=n)), np.float32),
        attempts=ints(0, 255).astype(np.uint8),
        error=ints(0, len(ErrorKind) - 1).astype(np.uint8),
    )
    if draw(st.booleans()):  # a backend with real time: send times, sizes, sent paths
        outcomes.sent_at = ints(0, 2**45).astype(np.int64)
        outcomes.response_bytes = ints(-1, 10**9).astype(np.int64)
        paths = st.one_of(st.none(), st.text(max_size=12).map(lambda t: "/x/" + t))
        outcomes.sent_path = np.array([*draw(st.lists(paths, min_size=n, max_size=n)), None])[:n]
    return batch, outcomes, start, tick_seconds


@given(batches())
def test_same_bytes_as_the_reference(case: tuple[ActionBatch, Outcomes, dt.datetime, int]) -> None:
    """Any batch (odd names, latencies, statuses, times before 1970) formats identically."""
    batch, outcomes, start, tick_seconds = case
    header = LogHeader(start, tick_seconds, PROFILES, STATES)
    fast = format_lines(batch, outcomes, header)
    assert fast == format_lines_reference(batch, outcomes, header)


def test_same_bytes_on_a_simulated_run(small_config: Config) -> None:
    """A real run with lognormal latencies and some errors: identical text, valid JSON lines."""
    config = with_overrides(small_config, duration="2h")
    sim, mock = Simulation(config), MockBackend()
    rng = np.random.default_rng(4)
    for _ in range(config.duration_ticks):
        batch = sim.step()
        out = mock.execute(batch)
        out.latency_ms = rng.lognormal(1, 2, len(batch)).astype(np.float32)
        out.error = rng.integers(0, len(ErrorKind), len(batch)).astype(np.uint8)
        args = (batch, out, LogHeader.of(sim))
        text = format_lines(*args)
        assert text == format_lines_reference(*args)
        for line in text.splitlines():  # the mock records no real time; it sends the reference path
            record = json.loads(line)
            assert record["sent_path"] == record["path"]
            assert "sent_at" not in record and "bytes" not in record
        assert all(json.loads(line)["tick"] == batch.tick for line in text.splitlines())
