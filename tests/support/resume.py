"""Run a config straight, or split by a snapshot and resumed, and compare the two runs exactly.

Used by the snapshot tests (tests/unit/run/test_snapshot.py) and by the community tests that
check the interaction web survives a resume (tests/unit/core/test_community.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simcore.core.simulation import Simulation
from simcore.logs.fields import LogHeader
from simcore.logs.jsonl import JsonlSink
from simcore.run import snapshot
from simcore.run.controller import Controller
from simcore.run.session import log_position
from simcore.scenario.schema import Config
from simcore_backends.mock import MockBackend

#: Summary keys that depend on the wall clock or on where a run stopped, not on what it did.
VOLATILE_SUMMARY_KEYS = ("wall_seconds", "actions_per_second", "stopped_early")

#: What a finished run leaves: its log's bytes, its final state arrays, its stable summary.
RunResult = tuple[bytes, dict[str, np.ndarray], dict[str, object]]


def mock_controller(config: Config, log: Path, append: bool = False) -> Controller:
    """A controller running ``config`` through the mock backend into a JSONL log at ``log``."""
    sim = Simulation(config)
    sink = JsonlSink(log, LogHeader.of(sim), append=append)
    return Controller(sim, MockBackend(), [sink])


def final_state(controller: Controller) -> dict[str, np.ndarray]:
    """Copies of the core's and the mock backend's state arrays, and the world's tick starts."""
    backend = controller.backend
    assert isinstance(backend, MockBackend)
    world = controller.sim.world
    return {
        **{k: np.array(v, copy=True) for k, v in controller.sim.state_arrays().items()},
        **{f"backend.{k}": v for k, v in backend.state_arrays().items()},
        "tick_start": world.tick_start[: world.ticks_seen + 1].copy(),
    }


def stable_summary(controller: Controller) -> dict[str, object]:
    """The controller's summary without the keys of VOLATILE_SUMMARY_KEYS."""
    return {k: v for k, v in controller.summary().items() if k not in VOLATILE_SUMMARY_KEYS}


def run_straight(config: Config, n: int, folder: Path) -> RunResult:
    """Run ``n`` ticks in one go, logging to ``folder``/straight.jsonl."""
    log = folder / "straight.jsonl"
    c = mock_controller(config, log)
    c.run(n)
    c.close()
    return log.read_bytes(), final_state(c), stable_summary(c)


def run_split(config: Config, n: int, k: int, folder: Path, overshoot: int = 0) -> RunResult:
    """Run k ticks, snapshot, (run ``overshoot`` more that a crash will lose), load, resume to n."""
    log = folder / "split.jsonl"
    first = mock_controller(config, log)
    first.run(k)
    path = snapshot.save(folder / "snap.npz", first, log=log_position(log, folder))
    first.run(overshoot)
    first.close()
    snap = snapshot.load(path)
    assert snap.tick == k
    snapshot.truncate_log(log, snap.manifest["log"]["bytes"])
    second = mock_controller(snap.config, log, append=True)
    snapshot.restore(snap, second)
    second.run(n - k)
    second.close()
    return log.read_bytes(), final_state(second), stable_summary(second)


def assert_same_run(a: RunResult, b: RunResult) -> None:
    """The two runs wrote the same log bytes, ended in the same state and report the same totals."""
    assert a[0] == b[0], "the action logs differ"
    assert a[1].keys() == b[1].keys()
    for key in a[1]:
        assert np.array_equal(a[1][key], b[1][key]), f"final state {key} differs"
    assert a[2] == b[2]
