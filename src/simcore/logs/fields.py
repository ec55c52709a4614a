"""The values every action log stores, computed the same way for each format.

Simulated times as milliseconds since 1970 (naive times read as UTC), latencies
rounded to the microsecond, and each action's reference API path with the core's ids.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

import numpy as np
from attrs import frozen
from numpy.typing import NDArray

from simcore.core.actions import ActionBatch, Spelling, spelling
from simcore.core.simulation import Simulation
from simcore.scenario.kinds import BUILT_IN, KindSet


@frozen
class LogHeader:
    """What every log needs besides the actions: the run's clock and the names behind the
    profile and state codes."""

    start: dt.datetime
    tick_seconds: int
    profile_names: tuple[str, ...]
    state_names: tuple[str, ...]
    kinds: KindSet = BUILT_IN

    @classmethod
    def of(cls, sim: Simulation) -> LogHeader:
        """The header of ``sim``'s run."""
        config = sim.config
        return cls(
            config.start,
            config.tick_seconds,
            sim.profile_names,
            sim.routine.state_names,
            config.kind_set,
        )

    @property
    def spelling(self) -> Spelling:
        """How the log spells the run's kinds."""
        return spelling(self.kinds)


def epoch_ms(start: dt.datetime) -> int:
    """Milliseconds from 1970-01-01 to ``start`` (naive times are read as UTC)."""
    return calendar.timegm(start.timetuple()) * 1000 + start.microsecond // 1000


def action_epoch_ms(start: dt.datetime, tick_seconds: int, batch: ActionBatch) -> NDArray[np.int64]:
    """Each action's simulated time in milliseconds since 1970 (what every log stores)."""
    base = epoch_ms(start) + batch.tick * tick_seconds * 1000
    out: NDArray[np.int64] = base + batch.offset_ms.astype(np.int64)
    return out


def logged_latency(latency_ms: NDArray[np.floating[Any]]) -> NDArray[np.float64]:
    """Latencies as every log writes them: milliseconds rounded to the microsecond."""
    exact: NDArray[np.float64] = latency_ms.astype(np.float64)
    return np.round(exact, 3)


def action_times(start: dt.datetime, tick_seconds: int, batch: ActionBatch) -> NDArray[np.str_]:
    """Simulated ISO-8601 times (millisecond precision) of each action of ``batch``."""
    stamps = action_epoch_ms(start, tick_seconds, batch).astype("datetime64[ms]")
    return np.datetime_as_string(stamps, unit="ms")


def action_paths(
    kind: NDArray[np.uint8],
    post: NDArray[np.integer[Any]],
    ref: NDArray[np.integer[Any]],
    kinds: KindSet = BUILT_IN,
) -> list[str]:
    """The reference API path of each action, with the core's ids in place of ``{id}``.

    The id is the ``post`` of reads, updates, deletes and likes, and the ``ref`` of
    reposts, follows and unfollows (``/posts/7/repost``, ``/users/45/follow``).
    """
    spelled = spelling(kinds)
    paths = spelled.paths
    source = spelled.path_id[kind]
    ids = np.where(source == 2, ref, post).tolist()
    return [
        paths[k] if s == 0 else paths[k].replace("{id}", str(i))
        for k, s, i in zip(kind.tolist(), source.tolist(), ids)
    ]
