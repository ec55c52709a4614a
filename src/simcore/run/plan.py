"""A load plan: what a run would send per real second, found by stepping the core alone.

``simcore plan CONFIG`` answers "how many requests per second will this be?"
before any traffic is sent. The core's decisions never depend on a backend's
answers, so stepping :class:`~simcore.core.simulation.Simulation` gives exactly
the action stream a mock run (or any run) of the same config and seed sends; a
day of the default profile steps in a few seconds.

From the actions per tick and per simulated minute, :class:`LoadPlan` predicts,
for a pacing (``--speed S`` or ``--rate N`` with ``S`` as its upper bound), each
tick's real duration (:func:`simcore.run.rate.tick_real_seconds`), and from
them the actions per real second hour by hour and the run's real duration; and
the speed that puts the busiest simulated minute at a given peak rate R:
``R * 60 / actions in that minute``. The predictions assume a backend that keeps
up; one that cannot makes the run fall behind (see the pacing lag in a run's
summary).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
from attrs import define
from numpy.typing import NDArray

from simcore.core.simulation import Simulation
from simcore.run.rate import tick_real_seconds
from simcore.scenario.schema import Config

HOUR = 3600


@define
class Stream:
    """How many actions a config's run sends per tick and per simulated minute."""

    start: dt.datetime
    tick_seconds: int
    per_tick: NDArray[np.int64]
    per_minute: NDArray[np.int64]

    @classmethod
    def of(cls, config: Config) -> Stream:
        """Step the core through the config's whole duration and count its actions."""
        sim = Simulation(config)
        ticks, tick_seconds = config.duration_ticks, config.tick_seconds
        per_tick = np.zeros(ticks, dtype=np.int64)
        per_minute = np.zeros(math.ceil(ticks * tick_seconds / 60), dtype=np.int64)
        for tick in range(ticks):
            batch = sim.step()
            per_tick[tick] = len(batch)
            if len(batch):
                sim_ms = tick * tick_seconds * 1000 + batch.offset_ms.astype(np.int64)
                minute = np.minimum(sim_ms // 60_000, len(per_minute) - 1)
                per_minute += np.bincount(minute, minlength=len(per_minute))
        return cls(config.start, tick_seconds, per_tick, per_minute)

    @property
    def actions(self) -> int:
        """Actions over the whole run."""
        return int(self.per_tick.sum())

    def busiest_minute(self, after: int = 0) -> tuple[int, int]:
        """(minute index from the start, actions in it) of the busiest simulated minute from
        minute ``after`` on."""
        if len(self.per_minute) <= after:
            return after, 0
        minute = after + int(np.argmax(self.per_minute[after:]))
        return minute, int(self.per_minute[minute])

    def first_tick_minutes(self) -> int:
        """Minutes the first tick spans (it holds the initial users' sign-ups)."""
        return max(1, math.ceil(self.tick_seconds / 60))

    def speed_for_peak(self, peak_rate: float, after: int = 0) -> float | None:
        """The speed at which the busiest simulated minute (from minute ``after`` on) sends
        ``peak_rate`` actions per real second (None: no actions there)."""
        _, actions = self.busiest_minute(after)
        return peak_rate * 60.0 / actions if actions else None


@define
class LoadPlan:
    """A stream under a pacing: each tick's real duration, and what follows from it."""

    stream: Stream
    speed: float | None
    rate: float | None

    def __attrs_post_init__(self) -> None:
        if self.speed is None and self.rate is None:
            raise ValueError("a plan needs a speed or a rate: at max speed the backend sets the pace")

    def tick_seconds_real(self) -> NDArray[np.float64]:
        """Real seconds each tick lasts (a backend that keeps up assumed)."""
        stream = self.stream
        if self.rate is not None:
            return tick_real_seconds(stream.per_tick, self.rate, stream.tick_seconds, self.speed)
        assert self.speed is not None
        return np.full(len(stream.per_tick), stream.tick_seconds / self.speed)

    def hours(self) -> list[dict[str, Any]]:
        """Per simulated hour: its start, actions, real seconds, actions per real second and the
        simulated speed it runs at."""
        stream = self.stream
        hour = np.arange(len(stream.per_tick)) * stream.tick_seconds // HOUR
        n = int(hour[-1]) + 1 if len(hour) else 0
        actions = np.bincount(hour, weights=stream.per_tick, minlength=n).astype(np.int64)
        real = np.bincount(hour, weights=self.tick_seconds_real(), minlength=n)
        simulated = np.bincount(hour, minlength=n) * stream.tick_seconds
        rows = []
        for h in range(n):
            seconds = float(real[h])
            rows.append(
                {
                    "start": (stream.start + dt.timedelta(seconds=h * HOUR)).isoformat(),
                    "actions": int(actions[h]),
                    "real_seconds": seconds,
                    "actions_per_second": actions[h] / seconds if seconds > 0 else None,
                    "speed": float(simulated[h]) / seconds if seconds > 0 else None,
                }
            )
        return rows

    def real_seconds(self) -> float:
        """The run's real duration."""
        return float(self.tick_seconds_real().sum())

    def busiest_minute_rate(self, after: int = 0) -> float | None:
        """Actions per real second during the busiest simulated minute (from minute ``after``
        on) under this pacing."""
        stream = self.stream
        minute, actions = stream.busiest_minute(after)
        if not actions:
            return None
        first, last = minute * 60 // stream.tick_seconds, ((minute + 1) * 60 - 1) // stream.tick_seconds
        ticks = self.tick_seconds_real()[first : last + 1]
        # the minute's share of each tick it spans (a tick is paced evenly over its length)
        share = min(60, stream.tick_seconds) / stream.tick_seconds
        seconds = float(ticks.sum()) * share
        return actions / seconds if seconds > 0 else None

    def as_json(self, peak_rate: float | None = None) -> dict[str, Any]:
        """The plan as plain data (``simcore plan --json``)."""
        stream = self.stream
        minute, peak = stream.busiest_minute()
        skip = stream.first_tick_minutes()
        later, later_peak = stream.busiest_minute(skip)
        out: dict[str, Any] = {
            "simulated_start": stream.start.isoformat(),
            "tick_seconds": stream.tick_seconds,
            "ticks": len(stream.per_tick),
            "speed": self.speed,
            "rate": self.rate,
            "actions": stream.actions,
            "real_seconds": self.real_seconds(),
            "actions_per_second": stream.actions / self.real_seconds()
            if self.real_seconds() > 0
            else None,
            "busiest_minute": {
                "start": (stream.start + dt.timedelta(minutes=minute)).isoformat(),
                "actions": peak,
                "actions_per_second": self.busiest_minute_rate(),
            },
            "busiest_minute_after_first_tick": {
                "start": (stream.start + dt.timedelta(minutes=later)).isoformat(),
                "actions": later_peak,
                "actions_per_second": self.busiest_minute_rate(skip),
            },
            "hours": self.hours(),
        }
        if peak_rate is not None:
            out["peak_rate"] = peak_rate
            out["speed_for_peak_rate"] = stream.speed_for_peak(peak_rate)
            out["speed_for_peak_rate_after_first_tick"] = stream.speed_for_peak(peak_rate, skip)
        return out
