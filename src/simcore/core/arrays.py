"""Growable numpy arrays: the one capacity-doubling rule every store uses."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray


def grow(a: NDArray[Any], n: int, fill: float = 0) -> NDArray[Any]:
    """``a`` with room for at least ``n`` rows: ``a`` itself if it has them, else a copy with
    the capacity doubled (or ``n``, at least 16) whose new rows hold ``fill``."""
    if n <= len(a):
        return a
    out = np.full((max(n, 2 * len(a), 16), *a.shape[1:]), fill, dtype=a.dtype)
    out[: len(a)] = a
    return out
