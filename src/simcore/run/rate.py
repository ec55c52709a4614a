"""A rate target: how long a tick lasts in real time when a run aims at N actions per second.

``--rate N`` paces a run by its load instead of by a fixed speed: each tick lasts
``actions / N`` real seconds, so the run sends about N actions per real second
whatever the hour (the simulated clock runs faster through quiet hours and
slower at peaks). The core produces a tick's batch before it is executed, so its
size is known when its duration is chosen.

An empty tick would last no time at all; ``--speed S`` given with ``--rate`` is
the upper bound on the simulated speed, so no tick lasts less than
``tick_seconds / S`` (quiet hours then run at speed S and send fewer than N
actions per second). Without ``--speed`` quiet ticks pass as fast as the core
steps them.

Everything here is a pure function of the tick's size, the target and the
bound; :class:`~simcore.run.clock.Pacer` applies it and ``simcore plan`` uses it
to predict a run's real duration.
"""

from __future__ import annotations

import math
from typing import Any, overload

import numpy as np
from numpy.typing import NDArray

from simcore.errors import UsageError

RATE_HELP = "a number of actions per real second, e.g. 200 or 1000 ('off': pace by --speed alone)"

#: The rates ``+``/``-`` step through while a rate is set (actions per real second).
RATE_STEPS = (
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0,
    10000.0, 20000.0, 50000.0, 100000.0,
)  # fmt: skip


def parse_positive(
    text: str | float | None, option: str, expected: str, off: tuple[str, ...], suffix: str
) -> float | None:
    """A pacing option's value: ``None`` or one of the ``off`` words → ``None``; a positive
    finite number (``suffix`` allowed after it, any case) → that float; else a UsageError
    naming ``option`` and what was ``expected``."""
    if text is None:
        return None
    if isinstance(text, str):
        cleaned = text.strip().lower()
        if cleaned in off:
            return None
        try:
            value = float(cleaned.removesuffix(suffix))
        except ValueError:
            raise UsageError(f"{option}: got {text!r}, expected {expected}") from None
    else:
        value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"{option}: got {text!r}, expected {expected}")
    return value


def parse_rate(text: str | float | None, option: str = "--rate") -> float | None:
    """``None``/``'off'`` → ``None`` (no rate target); a positive finite number → that float."""
    return parse_positive(text, option, RATE_HELP, ("off", "none"), "/s")


def format_rate(rate: float | None) -> str:
    """``off`` or ``1,000/s``."""
    return "off" if rate is None else f"{rate:,.6g}/s"


@overload
def tick_real_seconds(
    actions: int, rate: float, tick_seconds: float, max_speed: float | None = None
) -> float: ...


@overload
def tick_real_seconds(
    actions: NDArray[Any], rate: float, tick_seconds: float, max_speed: float | None = None
) -> NDArray[np.float64]: ...


def tick_real_seconds(
    actions: int | NDArray[Any], rate: float, tick_seconds: float, max_speed: float | None = None
) -> float | NDArray[np.float64]:
    """Real seconds a tick of ``actions`` actions lasts at ``rate`` actions per second.

    ``actions / rate``, but at least ``tick_seconds / max_speed`` (the simulated
    clock never runs faster than ``max_speed``; ``None``: no bound, so an empty
    tick takes no time). Works on one count or on an array of them.
    """
    floor = 0.0 if max_speed is None else tick_seconds / max_speed
    if isinstance(actions, np.ndarray):
        return np.maximum(actions.astype(np.float64) / rate, floor)
    return max(actions / rate, floor)


def tick_speed(actions: int, rate: float, tick_seconds: float, max_speed: float | None = None) -> float:
    """The simulated speed a tick of ``actions`` actions runs at (``inf``: it takes no time)."""
    seconds = tick_real_seconds(actions, rate, tick_seconds, max_speed)
    return tick_seconds / seconds if seconds > 0 else math.inf
