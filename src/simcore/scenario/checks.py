"""What every check of a config's meaning shares: the problem list and two messages."""

from __future__ import annotations

import difflib
import math

#: Problems found: ``(TOML key path, message with the fix)``.
Problems = list[tuple[str, str]]


def did_you_mean(name: str, known: list[str] | tuple[str, ...]) -> str:
    """'did you mean …?' for the known name nearest ``name``, else the known names."""
    near = difflib.get_close_matches(name, list(known), n=1)
    if near:
        return f"did you mean '{near[0]}'?"
    return f"expected one of: {', '.join(known)}" if known else "none are defined"


def check_known(
    out: Problems, path: str, what: str, name: str, names: list[str] | tuple[str, ...]
) -> bool:
    """Whether ``name`` is one of ``names``; if not, a problem at ``path``: ``unknown WHAT
    'NAME'`` and the nearest names."""
    if name in names:
        return True
    out.append((path, f"unknown {what} '{name}'; {did_you_mean(name, names)}"))
    return False


def check_range(
    out: Problems,
    path: str,
    value: float,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
) -> None:
    """Add a problem at ``path`` unless ``value`` is finite and within the bounds."""
    if not math.isfinite(value):
        out.append((path, f"got {value}, expected a finite number"))
        return
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and value > high
    if too_low or too_high:
        lo = "" if low is None else (f"> {low}" if low_open else f">= {low}")
        hi = "" if high is None else f"<= {high}"
        bounds = " and ".join(b for b in (lo, hi) if b)
        out.append((path, f"got {value}, expected a value {bounds}"))
