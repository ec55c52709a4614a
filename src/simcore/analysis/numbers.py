"""How pages and the terminal print numbers: ``10,140`` in tables, ``10.1k`` on chart axes, never ``1.014e+04``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: Suffixes of :func:`compact`, largest first.
_UNITS = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def human(v: Any) -> str:
    """A number as a person reads it: thousands separated, at most 4 significant digits
    below 1,000, no exponent; ``–`` for None, NaN and infinities."""
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    x = float(v)
    if not math.isfinite(x):
        return "–"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if x == 0:
        return "0"
    return str(np.format_float_positional(x, precision=4, unique=False, fractional=False, trim="-"))


def compact(v: float) -> str:
    """A number in at most 3 significant digits with a k/M/G/T suffix (``10.1k``), for axes."""
    x = float(v)
    if not math.isfinite(x):
        return "–"
    for size, unit in _UNITS:
        if abs(x) >= size:
            return f"{x / size:.3g}{unit}"
    return human(x)
