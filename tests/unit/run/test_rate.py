"""Pacing at a rate target (--rate): the pure math, and the pacer on a fake clock (no sleeping)."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simcore.core.actions import ActionBatch
from simcore.core.simulation import Simulation
from simcore.errors import UsageError
from simcore.run.clock import Pacer
from simcore.run.control import RunControl, RunGate
from simcore.run.controller import Controller
from simcore.run.rate import format_rate, parse_rate, tick_real_seconds, tick_speed
from simcore.run.timesource import FakeTime
from simcore.scenario.parse import with_overrides
from simcore.scenario.schema import Config
from simcore.seam.contract import Outcomes
from tests.unit.run.test_clock import Recorder


@pytest.fixture
def evening(small_config: Config) -> Config:
    """1000 users from 21:00 into the night: busy ticks, then quieter and empty ones."""
    return with_overrides(
        small_config, population__initial_users=1000, duration="6h", start=dt.datetime(2026, 1, 5, 21, 0)
    )


class TickEnds:
    """A sink noting the fake time at which each tick was fully executed, and its size."""

    def __init__(self, clock: FakeTime) -> None:
        self.clock = clock
        self.ends: list[tuple[int, float, int]] = []  # (tick, time, actions)

    def write(self, batch: ActionBatch, outcomes: Outcomes) -> None:
        self.ends.append((batch.tick, self.clock.now(), len(batch)))

    def close(self) -> None:
        pass


def _at_rate(
    config: Config,
    rate: float,
    speed: float | None = None,
    cost: float = 0.0,
    control: RunControl | None = None,
) -> tuple[Controller, Recorder, FakeTime, Pacer, TickEnds]:
    clock = FakeTime()
    backend = Recorder(clock, cost)
    pacer = Pacer(config.tick_seconds, speed, clock=clock, flags=control, rate=rate)
    gate = RunGate(control, pacer) if control is not None else None
    ends = TickEnds(clock)
    controller = Controller(Simulation(config), backend, [ends], pacer=pacer, gate=gate)
    return controller, backend, clock, pacer, ends


def test_parse_and_format_rate() -> None:
    """Numbers (with an optional /s) are rates, off/None is none, anything else a usage error."""
    assert parse_rate(None) is None and parse_rate("off") is None and parse_rate("none") is None
    assert parse_rate("200") == 200.0 and parse_rate("1e3") == 1000.0 and parse_rate("50/s") == 50.0
    for bad in ("0", "-5", "fast", "inf", "nan", ""):
        with pytest.raises(UsageError, match="--rate"):
            parse_rate(bad)
    with pytest.raises(UsageError, match=r"^rate:"):
        parse_rate("x", "rate")
    assert (
        format_rate(None) == "off" and format_rate(1000.0) == "1,000/s" and format_rate(2.5) == "2.5/s"
    )


@given(
    actions=st.integers(0, 100_000),
    rate=st.floats(0.1, 1e6),
    tick_seconds=st.integers(1, 3600),
    max_speed=st.one_of(st.none(), st.floats(0.01, 1e6)),
)
def test_tick_duration_is_actions_over_rate_bounded_by_the_speed(
    actions: int, rate: float, tick_seconds: int, max_speed: float | None
) -> None:
    """A tick lasts actions / rate, never less than tick_seconds / max_speed; its speed follows."""
    seconds = tick_real_seconds(actions, rate, tick_seconds, max_speed)
    floor = 0.0 if max_speed is None else tick_seconds / max_speed
    assert seconds == max(actions / rate, floor)
    assert seconds >= actions / rate
    speed = tick_speed(actions, rate, tick_seconds, max_speed)
    if seconds == 0:
        assert math.isinf(speed)  # an empty tick with no bound takes no time
    else:
        assert speed == pytest.approx(tick_seconds / seconds)
        if max_speed is not None:
            assert speed <= max_speed * (1 + 1e-12)
        if actions / rate >= floor:
            assert actions / (tick_seconds / speed) == pytest.approx(rate)  # the tick runs at the rate


@given(
    st.lists(st.integers(0, 5000), max_size=50),
    st.floats(1, 1e4),
    st.one_of(st.none(), st.floats(1, 1e4)),
)
def test_tick_duration_of_an_array_matches_each_count(
    counts: list[int], rate: float, max_speed: float | None
) -> None:
    """The vectorised form (simcore plan) gives each tick what the pacer gives it."""
    array = tick_real_seconds(np.asarray(counts, dtype=np.int64), rate, 60, max_speed)
    assert array.tolist() == [tick_real_seconds(n, rate, 60, max_speed) for n in counts]


def test_each_tick_lasts_its_actions_over_the_rate(evening: Config) -> None:
    """With an instant backend every tick lasts exactly actions / rate: the run sends `rate`
    actions per real second through busy and quiet hours alike, never early."""
    rate = 400.0
    controller, backend, clock, pacer, ends = _at_rate(evening, rate)
    start = clock.now()
    controller.run(90)
    previous = start
    for _tick, at, n in ends.ends:
        assert at - previous == pytest.approx(n / rate, abs=1e-9)
        previous = at
    total = sum(n for *_, n in ends.ends)
    assert total > 1000
    assert total / (clock.now() - start) == pytest.approx(rate)
    speeds = {round(tick_speed(n, rate, 60), 6) for *_, n in ends.ends if n}
    assert len(speeds) > 5, "the simulated speed should change with the tick's size"
    # each slice goes out at tick start + its share of the tick's real duration, never early
    starts = {tick: at - n / rate for tick, at, n in ends.ends}
    by_tick = {tick: n for tick, _, n in ends.ends}
    for when, tick, _size, first in backend.calls:
        due = starts[tick] + first / 1000.0 / 60.0 * (by_tick[tick] / rate)
        assert due - 1e-9 <= when < due + pacer.resolution + 1e-9
    assert pacer.max_lag == pytest.approx(0.0, abs=1e-9)


def test_the_speed_bounds_quiet_ticks(evening: Config) -> None:
    """With --speed as the upper bound an empty tick lasts tick_seconds / speed, a busy one
    actions / rate."""
    rate, speed = 400.0, 600.0
    controller, _, clock, _, ends = _at_rate(evening, rate, speed)
    start = clock.now()
    controller.run(360)
    previous = start
    sizes = []
    for _tick, at, n in ends.ends:
        assert at - previous == pytest.approx(max(n / rate, 60 / speed), abs=1e-9)
        previous = at
        sizes.append(n)
    assert min(sizes) * 1.0 / rate < 60 / speed < max(sizes) / rate, "both bounds should be exercised"


def test_empty_ticks_take_no_time_without_a_speed_bound(small_config: Config) -> None:
    """No bound: a tick without actions passes at once (a quiet night runs as fast as the core)."""
    night = with_overrides(
        small_config, population__initial_users=5, start=dt.datetime(2026, 1, 6, 3, 0)
    )
    controller, _, clock, pacer, ends = _at_rate(night, 100.0)
    start = clock.now()
    controller.run(120)
    empty = [i for i, (_, _, n) in enumerate(ends.ends) if n == 0]
    assert empty, "expected empty ticks at 3 a.m. with five users"
    assert clock.now() - start == pytest.approx(sum(n for *_, n in ends.ends) / 100.0)
    assert pacer.sim_seconds_now() is None or pacer.sim_seconds_now() >= 0


def test_a_slow_backend_lags(evening: Config) -> None:
    """Calls slower than the rate allows put the run behind; the lag is measured, and the run
    ends no sooner than the backend allows."""
    controller, backend, clock, pacer, _ = _at_rate(evening, 2000.0, cost=0.05)
    controller.run(30)
    assert pacer.max_lag > 0.1 and pacer.late_slices > 0
    assert clock.now() - 1000.0 >= 0.05 * len(backend.calls) - 1e-9


class StallOnce(Recorder):
    """The mock, stalling for ``seconds`` in its first call of tick ``tick``."""

    def __init__(self, clock: FakeTime, tick: int, seconds: float) -> None:
        super().__init__(clock)
        self.stall_tick, self.stall_seconds = tick, seconds

    def execute(self, batch: ActionBatch) -> Outcomes:
        if batch.tick == self.stall_tick and self.stall_seconds:
            self.clock.advance(self.stall_seconds)
            self.stall_seconds = 0.0
        return super().execute(batch)


def test_after_a_stall_the_run_catches_up_at_most_five_percent_above_the_rate(evening: Config) -> None:
    """A 1-second stall: half a second (`burst`) is made up at once, the rest without a burst (no
    tick faster than rate × 1.05); once caught up the ticks last actions / rate again and the run
    ends on schedule. A lag within `burst` is made up at once."""
    rate = 400.0
    clock = FakeTime()
    backend = StallOnce(clock, tick=5, seconds=1.0)
    pacer = Pacer(evening.tick_seconds, None, clock=clock, rate=rate)
    ends = TickEnds(clock)
    Controller(Simulation(evening), backend, [ends], pacer=pacer).run(300)
    assert pacer.max_lag >= 0.5
    times = [1000.0] + [at for _, at, _ in ends.ends]
    sizes = [n for *_, n in ends.ends]
    durations = [b - a for a, b in itertools.pairwise(times)]
    first = next(i for i in range(6, len(sizes)) if durations[i] > 0)  # the burst is over
    assert sum(sizes[6:first]) <= 0.5 * rate <= sum(sizes[6 : first + 1]), "half a second at once"
    for i in range(first + 1, len(sizes)):
        assert durations[i] >= sizes[i] / (rate * 1.05) - 1e-9, i
    assert any(durations[i] < sizes[i] / rate - 1e-6 for i in range(first + 1, first + 20)), (
        "no catch-up"
    )
    assert times[-1] == pytest.approx(1000.0 + sum(sizes) / rate, abs=1e-6), "not back on schedule"
    assert durations[-1] == pytest.approx(sizes[-1] / rate, abs=1e-9)
    # a small lag (a late wake-up) is made up at once: the next tick ends on schedule
    quick = FakeTime()
    small = StallOnce(quick, tick=5, seconds=0.2)
    pacer = Pacer(evening.tick_seconds, None, clock=quick, rate=rate)
    ends = TickEnds(quick)
    Controller(Simulation(evening), small, [ends], pacer=pacer).run(8)
    assert ends.ends[-1][1] == pytest.approx(1000.0 + sum(n for *_, n in ends.ends) / rate, abs=1e-9)


def test_rate_and_speed_change_between_ticks_through_the_gate(evening: Config) -> None:
    """A rate set through the control takes effect at the next tick; +/- step the rate."""
    control = RunControl(None, 200.0)
    controller, _, clock, pacer, ends = _at_rate(evening, 200.0, control=control)
    controller.run(10)
    control.set_rate(1000.0)
    mark = clock.now()
    controller.run(10)
    assert pacer.rate == 1000.0
    late = [n for tick, _, n in ends.ends if tick >= 10]
    assert clock.now() - mark == pytest.approx(sum(late) / 1000.0)
    control.step_speed(up=True)  # the + key: one rate step up
    assert control.rate == 2000.0 and control.speed is None
    control.step_speed(up=False)
    control.step_speed(up=False)
    assert control.rate == 500.0
    control.set_rate(None)  # back to speed pacing: max speed, no waiting
    mark = clock.now()
    controller.run(10)
    assert pacer.rate is None and not pacer.paced and clock.now() == mark
    assert control.status()["rate"] is None
    assert control.apply("rate", "250")["rate"] == 250.0


def test_pause_at_a_rate_holds_and_is_left_out(evening: Config) -> None:
    """A pause between ticks holds the run; the schedule restarts after it (no burst)."""
    control = RunControl(None, 500.0)
    paused_at: list[float] = []

    def on_wait(fake: FakeTime) -> None:
        if control.paused and fake.t - paused_at[0] >= 5.0:
            control.resume()

    controller, _, clock, pacer, ends = _at_rate(evening, 500.0, control=control)
    clock.on_wait = on_wait
    controller.run(5)
    control.pause()
    paused_at.append(clock.now())
    controller.run(5)
    assert pacer.paused_seconds == pytest.approx(5.0, abs=0.21)
    after = [n for tick, _, n in ends.ends if tick >= 5]
    assert clock.now() - paused_at[0] - pacer.paused_seconds == pytest.approx(sum(after) / 500.0)


class PipelinedAsyncMock(Recorder):
    """An async backend with a pipeline, as the http backend is: paced on the event loop."""

    pipeline = 4

    async def execute_async(self, batch: ActionBatch) -> Outcomes:
        return super().execute(batch)


def test_a_pipelined_async_backend_is_paced_on_the_loop(evening: Config) -> None:
    """With backend.pipeline > 1 slices are handed over on the event loop at their due times
    (without waiting for earlier answers); ticks last actions / rate; the log is the same."""
    rate = 400.0
    clock = FakeTime()
    backend = PipelinedAsyncMock(clock)
    pacer = Pacer(evening.tick_seconds, None, clock=clock, rate=rate)
    ends = TickEnds(clock)
    piped = Controller(Simulation(evening), backend, [ends], pacer=pacer)
    start = clock.now()
    piped.run(60)
    assert piped.max_ticks_in_flight >= 1 and len(backend.calls) > 60, "expected slices on the loop"
    plain, plain_backend, *_ = _at_rate(evening, rate)
    plain.run(60)
    assert [c[1:] for c in backend.calls] == [c[1:] for c in plain_backend.calls]
    assert [t for t, *_ in backend.calls] == pytest.approx([t for t, *_ in plain_backend.calls])
    total = sum(n for *_, n in ends.ends)
    assert clock.now() - start == pytest.approx(total / rate)
    piped.close()
