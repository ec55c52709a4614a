"""Scheduled events (``[[events]]``): launch-day arrival spikes, viral posts, outages.

Each event is a window of ticks fixed by the config; what it changes is a pure
function of (config, tick, world), and its draws are keyed on streams of their
own, so a run with events is as deterministic as one without, and adding an event
moves no other draw:

- ``launch``: ``arrivals_per_hour`` more Poisson sign-ups an hour in the window;
- ``viral``: each read in the window goes, with probability ``share``, to the viral
  post (``post``, or the newest post existing when the window opens) while it is live;
- ``outage``: the crowd only retries its session's opener (the feed) and gives up after
  ``give_up_after`` actions of a session; the mock and testclient backends fail every
  attempt in the window (:mod:`simcore.seam.faults`).
"""

from __future__ import annotations

import numpy as np
from attrs import frozen
from numpy.typing import NDArray

from simcore.core import rng
from simcore.core.world import World
from simcore.scenario.durations import parse_seconds
from simcore.scenario.schema import Config, Event

S_VIRAL = rng.stream_id("event.viral")


@frozen
class Window:
    """One event over ticks ``[first, end)``."""

    event: Event
    first: int
    end: int

    def covers(self, tick: int) -> bool:
        """Whether ``tick`` is inside the window."""
        return self.first <= tick < self.end


def windows(config: Config, kind: str | None = None) -> list[Window]:
    """The config's events (of ``kind``, if given) as tick windows, in the config's order."""
    out = []
    for event in config.events:
        if kind is not None and event.kind != kind:
            continue
        first = int(parse_seconds(event.at, config.tick_seconds) // config.tick_seconds)
        length = max(1, round(parse_seconds(event.duration, config.tick_seconds) / config.tick_seconds))
        out.append(Window(event, first, first + length))
    return out


class Events:
    """What the config's events change at each tick."""

    def __init__(self, config: Config, seed: int) -> None:
        self.seed = seed
        self.tick_seconds = config.tick_seconds
        self.launches = windows(config, "launch")
        self.launch_streams = [rng.stream_id(f"event.launch.{i}") for i in range(len(self.launches))]
        self.virals = windows(config, "viral")
        self.outages = windows(config, "outage")

    def extra_arrivals(self, tick: int) -> int:
        """Sign-ups the tick's launch windows add (a keyed Poisson draw per window)."""
        count = 0
        for i, w in enumerate(self.launches):
            if w.covers(tick):
                mean = w.event.arrivals_per_hour * self.tick_seconds / 3600.0
                count += rng.poisson(self.seed, self.launch_streams[i], tick, mean)
        return count

    def give_up_after(self, tick: int) -> int | None:
        """The actions a session gets in an outage covering ``tick`` (None: no outage)."""
        caps = [w.event.give_up_after for w in self.outages if w.covers(tick)]
        return min(caps) if caps else None

    def viral_reads(
        self, tick: int, users: NDArray[np.int64], post: NDArray[np.int64], world: World
    ) -> NDArray[np.int64]:
        """The readers' posts with the viral post in place of a ``share`` of them."""
        for w in self.virals:
            if not w.covers(tick):
                continue
            target = w.event.post if w.event.post >= 0 else int(world.tick_start[w.first]) - 1
            if not 0 <= target < world.n or world.deleted_tick[target] >= 0:
                continue
            drawn = rng.uniform(self.seed, S_VIRAL, tick, users) < w.event.share
            post = np.where(drawn & (post >= 0), target, post)
        return post
