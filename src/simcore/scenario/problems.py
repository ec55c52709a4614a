"""Structuring errors as config problems: cattrs' ``transform_error`` with TOML key paths and hints.

cattrs walks its error tree and names each error's place (``$.population.mix['x']``);
this module words each error for a TOML author, turns the place into a TOML key path
(``population.mix.x``) and gives every unknown key its own line with a "did you mean"
hint. The locations of unknown keys are returned too, so the rest of a config can
still be checked once they are set aside.
"""

from __future__ import annotations

import ast
import datetime as dt
import difflib
import json
import re

import attrs
from cattrs import transform_error
from cattrs.errors import ForbiddenExtraKeysError

Keys = tuple[str | int, ...]
Problems = list[tuple[str, str]]

_UNKNOWN = "unknown keys: "  # a sentinel prefix; the JSON after it lists (key, hint) pairs
_NAME = re.compile(r"\.([A-Za-z_]\w*)")


class TypeProblem(TypeError):
    """A TOML value of the wrong type, worded for the config's author."""

    def __init__(self, expected: str, value: object) -> None:
        super().__init__(f"expected {expected}, got {value!r} ({toml_type(value)})")


def toml_type(value: object) -> str:
    """The TOML name of a parsed value's type (``table``, ``array``, ``integer`` …)."""
    names = {bool: "boolean", int: "integer", float: "float", str: "string", list: "array"}
    if isinstance(value, dict):
        return "table"
    if isinstance(value, dt.datetime):
        return "datetime"
    return names.get(type(value), type(value).__name__)


def _hint(key: str, known: list[str]) -> str:
    near = difflib.get_close_matches(key, known, n=1)
    return f"did you mean '{near[0]}'?" if near else f"known keys: {', '.join(known)}"


def _worded(exc: BaseException, _type: object) -> str:
    if isinstance(exc, ForbiddenExtraKeysError):
        known = [a.name for a in attrs.fields(exc.cl)]
        return _UNKNOWN + json.dumps([[key, _hint(key, known)] for key in sorted(exc.extra_fields)])
    if isinstance(exc, KeyError):
        return "required key is missing"
    if isinstance(exc, TypeProblem):
        return str(exc)
    if isinstance(exc, AttributeError) and "items" in str(exc):
        return "expected a table"
    if isinstance(exc, TypeError) and "not iterable" in str(exc):
        return "expected an array"
    return str(exc) or type(exc).__name__


def _keys(place: str) -> Keys:
    """``$.a.b[0]['c d']`` → ``("a", "b", 0, "c d")``."""
    keys: list[str | int] = []
    i = 1  # after "$"
    while i < len(place):
        name = _NAME.match(place, i)
        if name is not None:
            keys.append(name.group(1))
            i = name.end()
            continue
        end = place.index("]", i)
        while True:  # the shortest bracketed text that is a whole literal (a key may hold "]")
            try:
                keys.append(ast.literal_eval(place[i + 1 : end]))
                break
            except (ValueError, SyntaxError):
                end = place.index("]", end + 1)
        i = end + 1
    return tuple(keys)


def key_path(keys: Keys) -> str:
    """The TOML key path of ``keys``: ``population.mix."a b"``, ``routine.weekday[2].start``."""
    out = ""
    for key in keys:
        if isinstance(key, int):
            out += f"[{key}]"
            continue
        bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
        text = key if bare else f'"{key}"'
        out = f"{out}.{text}" if out else text
    return out


def problems_of(exc: BaseException) -> tuple[Problems, list[Keys]]:
    """The problems a cattrs structuring error holds, and where its unknown keys are."""
    problems: Problems = []
    unknown: list[Keys] = []
    for line in transform_error(exc, "$", _worded):
        message, _, place = line.rpartition(" @ $")
        keys = _keys("$" + place)
        if message.startswith(_UNKNOWN):
            for key, hint in json.loads(message[len(_UNKNOWN) :]):
                problems.append((key_path((*keys, key)), f"unknown key; {hint}"))
                unknown.append((*keys, key))
        else:
            problems.append((key_path(keys) or "(top level)", message))
    return problems, unknown
