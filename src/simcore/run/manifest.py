"""Checks of a snapshot's manifest and arrays as read back from a file that may have been
edited: each problem as a message naming the field."""

from __future__ import annotations

import hashlib
from typing import Any

from numpy.typing import NDArray


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _totals_problem(name: str, data: Any) -> str | None:
    if not isinstance(data, dict):
        return f"its manifest's '{name}' is {type(data).__name__}, expected an object"
    by_kind, statuses, errors = data.get("by_kind"), data.get("statuses"), data.get("errors")
    if not isinstance(by_kind, list) or not all(_count(v) for v in by_kind):
        return f"its manifest's '{name}.by_kind' is {by_kind!r:.60}, expected a list of counts"
    for key, table in (("statuses", statuses), ("errors", errors)):
        if not isinstance(table, dict) or not all(_count(v) for v in table.values()):
            return f"its manifest's '{name}.{key}' is {table!r:.60}, expected an object of counts"
    if statuses and not all(str(k).isdigit() for k in statuses):
        return f"its manifest's '{name}.statuses' has keys that are not status codes"
    if not _count(data.get("actions")):
        return f"its manifest's '{name}.actions' is {data.get('actions')!r:.40}, expected a count"
    return None


def manifest_problem(manifest: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> str | None:
    """What makes a snapshot's manifest (or its arrays) unusable, or None.

    Checked before anything is restored: a hand-edited manifest (missing or mistyped
    totals, a negative or fractional log position, arrays whose lengths disagree) is
    refused with its key named, never met later as a crash.
    """
    for key in ("tick", "seq", "config", "config_sha256", "totals", "hour_totals"):
        if key not in manifest:
            return f"its manifest lacks '{key}'"
    for key in ("tick", "seq"):
        if not _count(manifest[key]):
            return f"its manifest's '{key}' is {manifest[key]!r:.40}, expected a count >= 0"
    if not isinstance(manifest["config"], str) or not isinstance(manifest["config_sha256"], str):
        return "its manifest's 'config' and 'config_sha256' must be strings"
    if hashlib.sha256(manifest["config"].encode()).hexdigest() != manifest["config_sha256"]:
        return "its saved config does not match its recorded SHA-256 (edited or damaged)"
    for name in ("totals", "hour_totals"):
        problem = _totals_problem(name, manifest[name])
        if problem:
            return problem
    log = manifest.get("log")
    if log is not None:
        if not isinstance(log, dict) or not isinstance(log.get("path"), (str, type(None))):
            return f"its manifest's 'log' is {log!r:.60}, expected {{path, bytes}}"
        if not _count(log.get("bytes")):
            return f"its manifest's 'log.bytes' is {log.get('bytes')!r:.40}, expected a byte count >= 0"
    wall = manifest.get("wall_seconds", 0.0)
    if isinstance(wall, bool) or not isinstance(wall, (int, float)) or not wall >= 0:
        return f"its manifest's 'wall_seconds' is {wall!r:.40}, expected seconds >= 0"
    return _arrays_problem(manifest, arrays)


def _arrays_problem(manifest: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> str | None:
    if "clock" not in arrays or "users.created_tick" not in arrays or "posts.author" not in arrays:
        return "it lacks the core's arrays (clock, users.*, posts.*)"
    clock = arrays["clock"]
    if clock.shape != (3,) or clock.dtype.kind != "i":
        return f"its clock array is {clock.dtype.str}{list(clock.shape)}, expected 3 integers"
    if int(clock[0]) < 0 or int(clock[1]) < 0:
        return f"its clock array holds a negative tick or sequence number ({clock.tolist()})"
    for group in ("users", "posts"):
        member = f"{group}.{'created_tick' if group == 'users' else 'author'}"
        n = len(arrays[member])
        for name, array in arrays.items():
            flat = name.startswith(group + ".") and name.count(".") == 1
            if flat and name not in _OWN_LENGTH and (array.ndim != 1 or len(array) != n):
                return f"array {name} has shape {list(array.shape)}, expected [{n}] like {member}"
    return None


#: Core arrays whose length is not the count of users or posts.
_OWN_LENGTH = frozenset({"posts.recent_reads", "posts.reads_total", "posts.trend_pool"})
