"""The controller's pipeline: an async backend with ticks in flight logs exactly what a tick-by-tick run logs."""

from __future__ import annotations

import asyncio

import pytest

from simcore.core.actions import ActionBatch
from simcore.core.simulation import Simulation
from simcore.run.controller import Controller
from simcore.scenario.schema import Config
from simcore.seam.contract import BackendContext, Outcomes
from simcore_backends.mock import MockBackend
from tests.support.runner import Collect, small


class SlowAsyncMock:
    """The mock, answering each tick after a delay that varies, so later ticks may finish first."""

    name = "slow-mock"

    def __init__(self, pipeline: int) -> None:
        self.pipeline = pipeline
        self.mock = MockBackend()
        self.in_flight = 0
        self.max_in_flight = 0

    def open(self, context: BackendContext) -> None:
        self.mock.open(context)

    def close(self) -> None:
        pass

    async def execute_async(self, batch: ActionBatch) -> Outcomes:
        outcomes = self.mock.execute(batch)  # effects in call order, like the http backend's
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.002 * (3 - batch.tick % 3))
        finally:
            self.in_flight -= 1
        return outcomes


def _run(cfg: Config, backend: object, stop_at: int | None = None) -> tuple[Controller, Collect]:
    sim = Simulation(cfg)
    sink = Collect(sim)
    sinks: list[object] = []
    if stop_at is not None:

        class Stop:
            def write(self, batch: ActionBatch, outcomes: Outcomes) -> None:
                if batch.tick == stop_at:
                    raise KeyboardInterrupt

            def close(self) -> None:
                pass

        sinks.append(Stop())  # before the log: the stopped tick is not written
    sinks.append(sink)
    controller = Controller(sim, backend, sinks)  # type: ignore[arg-type]
    try:
        controller.run(cfg.duration_ticks)
    except KeyboardInterrupt:
        pass
    finally:
        controller.close()
    return controller, sink


def test_pipelined_log_equals_tick_by_tick(default_config: Config) -> None:
    """Same records, in order, with up to `pipeline` ticks in flight."""
    cfg = small(default_config, users=150, duration="40m")
    _, reference = _run(cfg, MockBackend())
    backend = SlowAsyncMock(pipeline=3)
    controller, sink = _run(cfg, backend)
    assert sink.records == reference.records
    assert backend.max_in_flight == 3
    assert controller.ticks_done == cfg.duration_ticks


def test_pipelined_hourly_state_samples_equal_tick_by_tick(default_config: Config) -> None:
    """The metrics' users-by-state sample at each hour's end is the core's state after that
    hour's last tick, however far ahead the pipeline has stepped."""
    from simcore.analysis.metrics import Metrics

    cfg = small(default_config, users=300, duration="3h")
    samples = []
    for backend in (MockBackend(), SlowAsyncMock(pipeline=4)):
        sim = Simulation(cfg)
        metrics = Metrics(cfg.tick_seconds, cfg.start, sim.routine.state_names, sim.profile_names)
        metrics.population_states = lambda sim=sim: sim.population.state[: sim.population.n]
        controller = Controller(sim, backend, [metrics])  # type: ignore[arg-type]
        controller.run(cfg.duration_ticks)
        controller.close()
        samples.append(metrics.hour_states.copy())
    assert samples[0].tolist() == samples[1].tolist()


@pytest.mark.parametrize("pipeline", [1, 4])
def test_ctrl_c_with_ticks_in_flight_ends_the_log_cleanly(default_config: Config, pipeline: int) -> None:
    """Stopped at tick 12: the log and the summary hold ticks 0..11, whatever the core stepped ahead."""
    cfg = small(default_config, users=150, duration="40m")
    controller, sink = _run(cfg, SlowAsyncMock(pipeline=pipeline), stop_at=12)
    assert controller.stopped_early
    assert controller.ticks_done == 12 and sink.records[-1]["tick"] == 11
    exact, _ = _run(small(default_config, users=150, duration="12m"), MockBackend())
    got, want = controller.summary(), exact.summary()
    for key in ("ticks", "users", "users_by_profile", "posts_created", "posts_live", "actions"):
        assert got[key] == want[key], key
