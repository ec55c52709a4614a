"""The contract is declared: built-ins name their protocols, snapshots and stops use them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from simcore.core.actions import ActionBatch
from simcore.core.simulation import Simulation
from simcore.logs.fields import LogHeader
from simcore.logs.jsonl import JsonlSink
from simcore.run import snapshot
from simcore.run.control import RunControl
from simcore.run.controller import Controller
from simcore.run.session import RunSession
from simcore.scenario.parse import loads_config
from simcore.seam.contract import (
    AsyncBackend,
    LogSink,
    Outcomes,
    OwnsEventLoop,
    Pipelined,
    Stateful,
    StatefulSink,
    SyncBackend,
)
from simcore_backends.http import HttpBackend
from simcore_backends.mock import MockBackend
from simcore_backends.testclient import TestClientBackend


def test_built_in_backends_declare_their_protocols() -> None:
    """In the class line, not by happening to have the methods."""
    assert {SyncBackend, Stateful} <= set(MockBackend.__mro__)
    # the backends talking to a server keep its id map (tokens, server ids) in snapshots
    assert {SyncBackend, Stateful} <= set(TestClientBackend.__mro__)
    assert {AsyncBackend, Pipelined, OwnsEventLoop, Stateful} <= set(HttpBackend.__mro__)
    assert SyncBackend not in HttpBackend.__mro__


class Counting:
    """A stateful sink: counts the actions it was given."""

    state_key = "counting"

    def __init__(self) -> None:
        self.seen = 0

    def write(self, batch: ActionBatch, outcomes: Outcomes) -> None:
        self.seen += len(batch)

    def close(self) -> None:
        pass

    def state_arrays(self) -> dict[str, NDArray[Any]]:
        return {"seen": np.array([self.seen])}

    def load_state(self, arrays: dict[str, NDArray[Any]]) -> None:
        self.seen = int(arrays["seen"][0])


def test_a_snapshot_carries_stateful_sinks_under_their_declared_key(tmp_path: Path) -> None:
    config = loads_config('duration = "20m"\n[population]\ninitial_users = 20\n')
    sim = Simulation(config)
    log = JsonlSink(tmp_path / "a.jsonl", LogHeader.of(sim))
    counting = Counting()
    assert not isinstance(log, StatefulSink) and isinstance(counting, StatefulSink)
    controller = Controller(sim, MockBackend(), [log, counting])
    controller.run(20)
    log.close()
    _, arrays = snapshot.capture(controller)
    assert int(arrays["sink.counting.seen"][0]) == counting.seen > 0
    assert any(name.startswith("backend.") for name in arrays)  # the mock is Stateful

    fresh = Counting()
    again = Controller(Simulation(config), MockBackend(), [fresh])
    path = snapshot.write(tmp_path / "s.npz", *snapshot.capture(controller))
    snapshot.restore(snapshot.load(path), again)
    assert fresh.seen == counting.seen


def test_a_sink_without_a_state_key_is_not_a_stateful_sink() -> None:
    """Snapshots save only sinks that name their group; state alone is not enough."""

    class Keyless:
        write, close = Counting.write, Counting.close
        state_arrays, load_state = Counting.state_arrays, Counting.load_state

    assert isinstance(Keyless(), Stateful)
    assert not isinstance(Keyless(), StatefulSink)


class FlushCounting(Counting):
    """A log sink: it has a path and counts its flushes."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1


def test_a_stop_flushes_every_log_sink(tmp_path: Path) -> None:
    config = loads_config('duration = "10m"\n[population]\ninitial_users = 10\n')
    log = FlushCounting(tmp_path / "log")
    assert isinstance(log, LogSink)
    controller = Controller(Simulation(config), MockBackend(), [log, Counting()])
    session = RunSession(controller, tmp_path, RunControl(), serve_control=False, handle_signals=False)
    session.run(10)
    assert log.flushes == 1 and log.seen > 0
