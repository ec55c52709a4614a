"""Times of day and schedules: parsing ``HH:MM`` and the minutes a block of a schedule covers."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from simcore.scenario.schema import Block

MINUTES_PER_DAY = 1440


def parse_clock(text: str) -> int:
    """Minute of the day for ``HH:MM`` (``24:00`` allowed as the end of the day)."""
    hours, sep, minutes = text.partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise ValueError(f"got {text!r}, expected a time of day 'HH:MM' such as '07:30'")
    h, m = int(hours), int(minutes)
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m != 0):
        raise ValueError(f"got {text!r}, expected a time of day between '00:00' and '24:00'")
    return h * 60 + m


def block_minutes(block: Block) -> NDArray[np.int64]:
    """The minutes of the day a block covers (it wraps past midnight when end <= start)."""
    start, end = parse_clock(block.start) % MINUTES_PER_DAY, parse_clock(block.end)
    if end == MINUTES_PER_DAY:
        end = 0
    length = (end - start) % MINUTES_PER_DAY or MINUTES_PER_DAY
    return (start + np.arange(length)) % MINUTES_PER_DAY


def coverage(blocks: tuple[Block, ...] | list[Block]) -> NDArray[np.int64]:
    """How many blocks cover each minute of the day (a valid schedule: all ones)."""
    counts = np.zeros(MINUTES_PER_DAY, dtype=np.int64)
    for block in blocks:
        np.add.at(counts, block_minutes(block), 1)
    return counts
