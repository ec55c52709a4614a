"""Parsing simulated durations: ``90s``, ``45m``, ``6h``, ``2d``, ``1w``, ``1440 ticks``."""

from __future__ import annotations

import math
import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w|ticks?)\s*$")

DURATION_HELP = "a duration such as '90s', '45m', '6h', '2d', '1w' or '1440 ticks'"


def parse_seconds(text: str, tick_seconds: int) -> float:
    """Simulated seconds in ``text``; raises ``ValueError`` with a fix on bad input."""
    match = _PATTERN.match(str(text).lower())
    if not match:
        raise ValueError(f"got {text!r}, expected {DURATION_HELP}")
    number, unit = float(match.group(1)), match.group(2)
    if unit.startswith("tick"):
        return number * tick_seconds
    return number * _UNITS[unit]


def parse_ticks(text: str, tick_seconds: int) -> int:
    """Whole ticks in ``text`` (rounded up, so '90s' with 60 s ticks is 2 ticks)."""
    return math.ceil(parse_seconds(text, tick_seconds) / tick_seconds - 1e-9)


def hour_of(tick: int, tick_seconds: int) -> int:
    """The simulated hour (from the start) that ``tick`` begins in."""
    return tick * tick_seconds // 3600


def ends_hour(tick: int, tick_seconds: int) -> bool:
    """Whether ``tick`` is the last tick that begins in its simulated hour."""
    return hour_of(tick + 1, tick_seconds) != hour_of(tick, tick_seconds)
