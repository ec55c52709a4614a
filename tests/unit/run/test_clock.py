"""Pacing, pause, speed and stop, on a fake clock (no test here sleeps for real)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simcore.core.actions import ActionBatch
from simcore.core.simulation import Simulation
from simcore.errors import UsageError
from simcore.run.clock import Pacer, batch_slice, format_speed, parse_speed
from simcore.run.control import RunControl, RunGate
from simcore.run.controller import Controller
from simcore.run.timesource import FakeTime
from simcore.scenario.parse import with_overrides
from simcore.scenario.schema import Config
from simcore.seam.contract import BackendContext, Outcomes
from simcore_backends.mock import MockBackend


class Recorder:
    """A mock backend that notes the fake time, tick and size of every call."""

    name = "recorder"

    def __init__(self, clock: FakeTime, cost: float = 0.0) -> None:
        self.clock = clock
        self.cost = cost  # fake seconds each call takes (a slow backend)
        self.inner = MockBackend()
        self.calls: list[tuple[float, int, int, int]] = []  # (time, tick, size, first offset_ms)

    def open(self, context: BackendContext) -> None:
        self.inner.open(context)

    def close(self) -> None:
        self.inner.close()

    def execute(self, batch: ActionBatch) -> Outcomes:
        first = int(batch.offset_ms[0]) if len(batch) else -1
        self.calls.append((self.clock.now(), batch.tick, len(batch), first))
        self.clock.advance(self.cost)
        return self.inner.execute(batch)


@pytest.fixture
def busy_config(small_config: Config) -> Config:
    """1000 users in the evening (relaxing): ticks have tens of actions."""
    import datetime as dt

    return with_overrides(
        small_config, population__initial_users=1000, duration="1h", start=dt.datetime(2026, 1, 5, 19, 0)
    )


def _paced(
    config: Config, speed: float | None, cost: float = 0.0, control: RunControl | None = None
) -> tuple[Controller, Recorder, FakeTime, Pacer]:
    clock = FakeTime()
    backend = Recorder(clock, cost)
    pacer = Pacer(config.tick_seconds, speed, clock=clock, flags=control)
    gate = RunGate(control, pacer) if control is not None else None
    controller = Controller(Simulation(config), backend, [], pacer=pacer, gate=gate)
    return controller, backend, clock, pacer


def test_parse_speed() -> None:
    """'max' is None, numbers are speeds, anything else is a clear usage error."""
    assert parse_speed("max") is None and parse_speed(None) is None
    assert parse_speed("60") == 60.0 and parse_speed("2.5x") == 2.5
    for bad in ("0", "-3", "fast", "nan"):
        with pytest.raises(UsageError, match="--speed"):
            parse_speed(bad)
    assert format_speed(None) == "max" and format_speed(60.0) == "60x"


def test_max_speed_never_waits(busy_config: Config) -> None:
    """At max speed each tick is one backend call and the clock never moves."""
    controller, backend, clock, _ = _paced(busy_config, None)
    controller.run(20)
    assert clock.waits == [] and len(backend.calls) == 20
    assert all(t == clock.t for t, *_ in backend.calls)


def test_paced_mode_spreads_dispatch_within_a_tick(busy_config: Config) -> None:
    """Each slice goes out at its own sub-tick time: tick start + offset / speed."""
    speed = 60.0  # a 60 s tick lasts 1 real second
    controller, backend, clock, pacer = _paced(busy_config, speed)
    start = clock.now()
    controller.run(10)
    assert len(backend.calls) > 10 * 5, "batches were not cut into slices"
    for when, tick, _size, first in backend.calls:
        due = start + (tick * 60 + first / 1000.0) / speed
        assert due <= when < due + pacer.resolution + 1e-9
    per_tick = {}
    for when, tick, _, _ in backend.calls:
        per_tick.setdefault(tick, []).append(when)
    spread = [max(v) - min(v) for v in per_tick.values() if len(v) >= 10]
    assert min(spread) > 0.5, "a tick's requests burst at its start instead of spreading"
    assert clock.now() == pytest.approx(start + 10.0)  # ten ticks of 1 s each
    assert pacer.max_lag == pytest.approx(0.0, abs=1e-9)


def test_paced_mode_dispatches_the_same_actions(busy_config: Config) -> None:
    """Slicing changes when actions go out, never what they are or how the mock answers."""
    a, ba, _, _ = _paced(busy_config, None)
    b, bb, _, _ = _paced(busy_config, 120.0)
    got_a = [a.run_tick() for _ in range(15)]
    got_b = [b.run_tick() for _ in range(15)]
    for (x, ox), (y, oy) in zip(got_a, got_b):
        assert x.equals(y)
        assert np.array_equal(ox.status, oy.status) and np.array_equal(ox.server_id, oy.server_id)
    assert sum(c[2] for c in ba.calls) == sum(c[2] for c in bb.calls)


def test_slices_keep_sequence_numbers(busy_config: Config) -> None:
    """A slice of a batch keeps its actions' run-wide sequence numbers."""
    batch = Simulation(busy_config).step()
    pacer = Pacer(busy_config.tick_seconds, 1.0, clock=FakeTime())
    parts = [batch_slice(batch, s, e) for s, e in pacer.slices(batch)]
    assert len(parts) > 1
    assert np.array_equal(np.concatenate([p.seq for p in parts]), batch.seq)
    outs = Outcomes.concat([Outcomes.ok(len(p)) for p in parts])
    assert len(outs) == len(batch)


def test_slow_backend_falls_behind_without_queueing(busy_config: Config) -> None:
    """When calls take longer than the schedule allows, the run lags; the lag is measured."""
    controller, backend, _clock, pacer = _paced(busy_config, 600.0, cost=0.02)
    controller.run(20)
    assert pacer.max_lag > 0.5 and pacer.late_slices > 0
    times = [t for t, *_ in backend.calls]
    assert all(b - a >= 0.02 - 1e-9 for a, b in itertools.pairwise(times)), "calls overlapped: a queue"
    assert pacer.summary()["max_lag_seconds"] == round(pacer.max_lag, 3)


def test_pause_freezes_the_clock_and_dispatches_nothing(busy_config: Config) -> None:
    """While paused the simulated clock stands still and the backend gets no call."""
    control = RunControl(speed=60.0)
    controller, backend, clock, pacer = _paced(busy_config, 60.0, control=control)
    seen: list[tuple[float, int, int]] = []  # (fake time, sim tick, calls so far) during the pause

    def script(fake: FakeTime) -> None:
        if control.paused:
            seen.append((fake.now(), controller.sim.tick, len(backend.calls)))
            if len(seen) == 50:  # 50 polls of 0.2 s: 10 fake seconds paused
                control.resume()

    clock.on_wait = script
    controller.run(3)
    control.pause()
    paused_at = clock.now()
    controller.run(3)
    assert len(seen) == 50
    assert {tick for _, tick, _ in seen} == {3}, "the simulated clock moved while paused"
    assert {calls for _, _, calls in seen} == {seen[0][2]}, "something was dispatched while paused"
    assert controller.sim.tick == 6
    after = [t for t, tick, *_ in backend.calls if tick >= 3]
    assert min(after) >= paused_at + 10.0 - 1e-9
    # the schedule restarts after the pause: no catch-up burst, no lag
    assert pacer.max_lag == pytest.approx(0.0, abs=1e-9)
    assert clock.now() == pytest.approx(paused_at + 10.0 + 3.0, abs=0.25)
    # a pause between ticks counts in the summary's paused_seconds like one inside a tick
    assert pacer.paused_seconds == pytest.approx(10.0, abs=0.01)


def test_pause_mid_tick_holds_the_rest_of_the_tick(busy_config: Config) -> None:
    """A pause that arrives inside a paced tick holds the remaining slices."""
    control = RunControl(speed=60.0)
    controller, backend, clock, pacer = _paced(busy_config, 60.0, control=control)
    polls = []

    def script(fake: FakeTime) -> None:
        if len(backend.calls) == 5 and not polls and not control.paused:
            control.pause()
            return
        if control.paused:
            polls.append(fake.now())
            if len(polls) == 25:
                control.resume()

    held_at: list[float | None] = []

    def script_and_look(fake: FakeTime) -> None:
        script(fake)
        if control.paused:
            held_at.append(pacer.sim_seconds_now())

    clock.on_wait = script_and_look
    controller.run(1)
    assert len(polls) == 25 and pacer.paused_seconds == pytest.approx(5.0, abs=0.01)
    assert len(set(held_at[1:])) == 1, "the simulated clock moved during a mid-tick pause"
    times = [t for t, *_ in backend.calls]
    gap = max(b - a for a, b in itertools.pairwise(times))
    assert gap >= 5.0 - 1e-9
    assert pacer.max_lag == pytest.approx(0.0, abs=1e-9)


def test_speed_changes_take_effect_between_ticks(busy_config: Config) -> None:
    """A speed change asked mid-tick leaves that tick's schedule alone and applies from the next."""
    control = RunControl(speed=60.0)
    controller, backend, clock, pacer = _paced(busy_config, 60.0, control=control)

    def script(fake: FakeTime) -> None:
        if controller.sim.tick == 3 and control.speed == 60.0:  # inside tick 2
            control.set_speed(600.0)

    clock.on_wait = script
    start = clock.now()
    controller.run(6)
    ends = {}
    for when, tick, *_ in backend.calls:
        ends[tick] = max(ends.get(tick, when), when)
    assert pacer.speed == 600.0
    # ticks 0-2 at 1 s each, ticks 3-5 at 0.1 s each
    assert clock.now() == pytest.approx(start + 3.0 + 0.3, abs=1e-6)
    assert ends[2] <= start + 3.0 and ends[2] > start + 2.0


def test_stop_mid_tick_finishes_the_tick_at_once(busy_config: Config) -> None:
    """A stop inside a paced tick dispatches the rest of it without waiting, then stops."""
    control = RunControl(speed=1.0)  # real time: a tick lasts a minute
    controller, backend, clock, _ = _paced(busy_config, 1.0, control=control)

    def script(fake: FakeTime) -> None:
        if len(backend.calls) >= 3:
            control.request_stop("test")

    clock.on_wait = script
    start = clock.now()
    controller.run(5)
    assert controller.sim.tick == 1 and controller.stopped_early
    assert sum(c[2] for c in backend.calls) == controller.totals.actions > 0
    assert clock.now() - start < 60.0


class SelfPaced(Recorder):
    """A backend that paces itself: it gets the whole batch and each action's delay."""

    def __init__(self, clock: FakeTime) -> None:
        super().__init__(clock)
        self.delays: list[np.ndarray] = []

    async def execute_paced(self, batch: ActionBatch, delays: np.ndarray) -> Outcomes:
        self.delays.append(delays)
        return self.execute(batch)


def test_self_pacing_backends_get_per_action_delays(busy_config: Config) -> None:
    """execute_paced receives the batch once, at its first due time, with each action's delay."""
    clock = FakeTime()
    backend = SelfPaced(clock)
    speed = 30.0
    pacer = Pacer(busy_config.tick_seconds, speed, clock=clock)
    controller = Controller(Simulation(busy_config), backend, [], pacer=pacer)
    start = clock.now()
    batches = [controller.run_tick()[0] for _ in range(4)]
    assert len(backend.calls) == 4  # one call per tick, not slices
    for batch, delays, (when, *_) in zip(batches, backend.delays, backend.calls):
        assert len(delays) == len(batch)
        due = start + (batch.tick * 60 + batch.offset_ms / 1000.0) / speed
        assert np.allclose(when + delays, due)
        assert delays[0] == pytest.approx(0.0) and np.all(np.diff(delays) >= 0)


class AsyncMock(Recorder):
    """An async backend (``execute_async``), as the http backend is."""

    async def execute_async(self, batch: ActionBatch) -> Outcomes:
        return super().execute(batch)


def test_async_backends_are_paced_in_slices(busy_config: Config) -> None:
    """An async backend's execute_async is run per slice on the controller's loop, with the same answers."""
    clock = FakeTime()
    backend = AsyncMock(clock)
    pacer = Pacer(busy_config.tick_seconds, 60.0, clock=clock)
    paced = Controller(Simulation(busy_config), backend, [], pacer=pacer)
    plain = Controller(Simulation(busy_config), MockBackend(), [])
    for _ in range(5):
        (a, oa), (b, ob) = paced.run_tick(), plain.run_tick()
        assert a.equals(b) and np.array_equal(oa.status, ob.status)
    assert len(backend.calls) > 5
    paced.close()


@given(
    offsets=st.lists(st.integers(0, 59_999), max_size=300),
    speed=st.floats(0.5, 100_000.0),
    resolution=st.sampled_from([0.001, 0.01, 0.1]),
)
def test_slices_cover_the_batch_in_order(offsets: list[int], speed: float, resolution: float) -> None:
    """Slices partition the batch into consecutive runs whose due times share one resolution bucket."""
    offset_ms = np.sort(np.array(offsets, dtype=np.int32))
    batch = ActionBatch(
        tick=3,
        user=np.arange(len(offset_ms), dtype=np.int32),
        kind=np.ones(len(offset_ms), np.uint8),
        post=np.full(len(offset_ms), -1, np.int32),
        offset_ms=offset_ms,
        state=np.zeros(len(offset_ms), np.uint8),
        profile=np.zeros(len(offset_ms), np.uint8),
    )
    pacer = Pacer(60, speed, clock=FakeTime(), resolution=resolution)
    slices = pacer.slices(batch)
    covered = [i for start, end in slices for i in range(start, end)]
    assert covered == list(range(len(batch)))
    for start, end in slices:
        due = offset_ms[start:end] / 1000.0 / speed
        assert end > start and due[-1] - due[0] < resolution + 1e-12


def test_a_pause_at_the_end_of_a_tick_is_not_lag(busy_config: Config) -> None:
    """A pause that arrives while the pacer waits out the end of a tick (after its last slice)
    is paused time, not lag."""
    control = RunControl(speed=60.0)
    controller, backend, clock, pacer = _paced(busy_config, 60.0, control=control)
    polls: list[float] = []

    def script(fake: FakeTime) -> None:
        last_slice_sent = backend.calls and backend.calls[-1][0] <= fake.now()
        if not polls and not control.paused and len(backend.calls) > 0 and last_slice_sent:
            n_slices = len(pacer.slices(controller_batch[0])) if controller_batch else 0
            if len(backend.calls) == n_slices:  # all of tick 0 sent: the end-of-tick wait
                control.pause()
                return
        if control.paused:
            polls.append(fake.now())
            if len(polls) == 25:
                control.resume()

    controller_batch: list[Any] = []
    original = controller.sim.step

    def step(*args: Any, **kwargs: Any) -> Any:
        batch = original(*args, **kwargs)
        controller_batch.append(batch)
        return batch

    controller.sim.step = step  # type: ignore[method-assign]
    clock.on_wait = script
    controller.run(2)
    assert len(polls) == 25 and pacer.paused_seconds == pytest.approx(5.0, abs=0.01)
    assert pacer.max_lag < 1.0, f"the pause was counted as lag: {pacer.max_lag:.2f} s"
