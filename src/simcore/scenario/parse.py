"""Reading a scenario: TOML text into a checked :class:`~simcore.scenario.schema.Config`.

``loads_config(text)`` parses TOML, structures it strictly with cattrs (unknown
keys, wrong types) and then checks its meaning (:mod:`simcore.scenario.validate`).
Every problem is reported with its TOML key path and a fix, all at once, as one
:class:`~simcore.errors.ConfigError`. ``dump_config`` renders the fully resolved
config back as TOML that loads to an equal config. Reading files is the shell's
job (:mod:`simcore.run.loading`): this module does no I/O.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import difflib
import sys
import typing
from typing import Any

import attrs
import cattrs
import tomli_w
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn

from simcore.errors import ConfigError
from simcore.scenario.schema import Config, reference_routes
from simcore.scenario.validate import problems_in

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]


# --- structuring -----------------------------------------------------------------


class _TypeProblem(TypeError):
    def __init__(self, expected: str, value: object) -> None:
        super().__init__(f"expected {expected}, got {value!r} ({_toml_type(value)})")


def _toml_type(value: object) -> str:
    names = {bool: "boolean", int: "integer", float: "float", str: "string", list: "array"}
    if isinstance(value, dict):
        return "table"
    if isinstance(value, dt.datetime):
        return "datetime"
    return names.get(type(value), type(value).__name__)


def _strict_int(value: object, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _TypeProblem("an integer", value)
    return value


def _strict_float(value: object, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _TypeProblem("a number", value)
    return float(value)


def _strict_str(value: object, _: type) -> str:
    if not isinstance(value, str):
        raise _TypeProblem("a string", value)
    return value


def _datetime(value: object, _: type) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value).replace(tzinfo=None)
        except ValueError:
            pass
    raise _TypeProblem("a date-time such as 2026-01-05T00:00:00", value)


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)

    def tables(cl: type) -> Any:
        inner: Any = make_dict_structure_fn(cl, conv, _cattrs_forbid_extra_keys=True)

        def structure_table(value: object, _: type) -> Any:
            if not isinstance(value, dict):
                raise _TypeProblem("a table", value)
            return inner(value, cl)

        return structure_table

    def arrays(item: type) -> Any:
        def structure_array(value: object, cl: type) -> tuple[Any, ...]:
            if not isinstance(value, list | tuple):
                raise _TypeProblem("an array", value)
            out: list[Any] = []
            errors: list[Exception] = []
            for i, element in enumerate(value):
                try:
                    out.append(conv.structure(element, item))
                except Exception as exc:
                    note = IterableValidationNote(f"Structuring {cl} @ index {i}", i, item)
                    setattr(exc, "__notes__", [*getattr(exc, "__notes__", []), note])  # noqa: B010
                    errors.append(exc)
            if errors:
                raise IterableValidationError(f"While structuring {cl}", errors, cl)
            return tuple(out)

        return structure_array

    conv.register_structure_hook_factory(attrs.has, tables)

    def homogeneous_tuple(t: Any) -> bool:
        args = typing.get_args(t)
        return typing.get_origin(t) is tuple and len(args) == 2 and args[1] is Ellipsis

    conv.register_structure_hook_factory(homogeneous_tuple, lambda t: arrays(typing.get_args(t)[0]))
    conv.register_structure_hook(int, _strict_int)
    conv.register_structure_hook(float, _strict_float)
    conv.register_structure_hook(str, _strict_str)
    conv.register_structure_hook(dt.datetime, _datetime)
    conv.register_unstructure_hook(dt.datetime, lambda d: d)
    return conv


converter = _make_converter()


def _key(name: object) -> str:
    text = str(name)
    bare = text.replace("_", "").replace("-", "").isalnum() and text.isascii()
    return text if bare else f'"{text}"'


def _join(path: str, name: object) -> str:
    return f"{path}.{_key(name)}" if path else _key(name)


def _describe(exc: BaseException) -> str:
    # unknown keys never get here: _walk names each of them at its own key path
    if isinstance(exc, KeyError):
        return "required key is missing"
    if isinstance(exc, _TypeProblem):
        return str(exc)
    if isinstance(exc, AttributeError) and "items" in str(exc):
        return "expected a table"
    if isinstance(exc, TypeError) and "not iterable" in str(exc):
        return "expected an array"
    return str(exc) or type(exc).__name__


Keys = tuple[str | int, ...]


def _walk(
    exc: BaseException, path: str, keys: Keys, out: list[tuple[str, str]], unknown: list[Keys]
) -> None:
    """Flatten a cattrs error tree into (key path, message); collect unknown keys' locations."""
    if isinstance(exc, ClassValidationError):
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            _walk(sub, _join(path, note.name), (*keys, note.name), out, unknown)
        for sub in without:
            _walk(sub, path, keys, out, unknown)
    elif isinstance(exc, IterableValidationError):
        with_idx, without_idx = exc.group_exceptions()
        for sub, inote in with_idx:
            index = inote.index
            sub_path = f"{path}[{index}]" if isinstance(index, int) else _join(path, index)
            _walk(sub, sub_path, (*keys, index), out, unknown)
        for sub in without_idx:
            _walk(sub, path, keys, out, unknown)
    elif isinstance(exc, ForbiddenExtraKeysError):
        known = [a.name for a in attrs.fields(exc.cl)]
        for extra in sorted(exc.extra_fields):
            near = difflib.get_close_matches(extra, known, n=1)
            hint = f"did you mean '{near[0]}'?" if near else f"known keys: {', '.join(known)}"
            out.append((_join(path, extra), f"unknown key; {hint}"))
            unknown.append((*keys, extra))
    else:
        out.append((path or "(top level)", _describe(exc)))


def _without(data: Any, locations: list[Keys]) -> Any:
    """A deep copy of ``data`` with the keys at ``locations`` removed."""
    copied = copy.deepcopy(data)
    for location in locations:
        node = copied
        try:
            for key in location[:-1]:
                node = node[key]
            del node[location[-1]]
        except (KeyError, IndexError, TypeError):
            continue
    return copied


def _with_route_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """Fill ``[backend.routes]``: kinds not given keep the reference route, and a given
    route's missing keys (say, its ``method``) keep the reference route's values."""
    backend = data.get("backend")
    if not isinstance(backend, dict) or not isinstance(backend.get("routes"), dict):
        return data
    defaults = converter.unstructure(reference_routes())
    routes = dict(defaults)
    for kind, route in backend["routes"].items():
        routes[kind] = {**defaults.get(kind, {}), **route} if isinstance(route, dict) else route
    return {**data, "backend": {**backend, "routes": routes}}


def structure(data: dict[str, Any], source: str | None = None) -> Config:
    """Turn parsed TOML into a :class:`Config`, then check it; raise :class:`ConfigError`."""
    data = _with_route_defaults(data)
    errors = (ClassValidationError, IterableValidationError, ForbiddenExtraKeysError)
    try:
        config = converter.structure(data, Config)
    except errors as exc:
        problems: list[tuple[str, str]] = []
        unknown: list[Keys] = []
        _walk(exc, "", (), problems, unknown)
        if len(unknown) == len(problems):
            # only unknown keys: check the rest too, so every mistake is reported at once
            with contextlib.suppress(*errors):
                problems += problems_in(converter.structure(_without(data, unknown), Config))
        raise ConfigError(problems, source) from None
    found = problems_in(config)
    if found:
        raise ConfigError(found, source)
    return config


def loads_config(text: str, source: str | None = None) -> Config:
    """Parse and check TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([("", f"TOML syntax error: {exc}; fix the file's syntax")], source) from None
    return structure(data, source)


def to_dict(config: Config) -> dict[str, Any]:
    """The fully resolved config as plain data (every default filled in)."""
    data: dict[str, Any] = converter.unstructure(config)
    return data


def dump_config(config: Config) -> str:
    """The fully resolved config as TOML text that :func:`loads_config` reads back equal."""
    return tomli_w.dumps(to_dict(config))


def with_overrides(config: Config, **changes: Any) -> Config:
    """A copy of ``config`` with top-level or dotted (``population.initial_users``) changes."""
    nested: dict[str, dict[str, Any]] = {}
    top: dict[str, Any] = {}
    for key, value in changes.items():
        if "__" in key:
            head, tail = key.split("__", 1)
            nested.setdefault(head, {})[tail] = value
        else:
            top[key] = value
    for head, sub in nested.items():
        top[head] = attrs.evolve(getattr(config, head), **sub)
    new = attrs.evolve(config, **top)
    found = problems_in(new)
    if found:
        raise ConfigError(found, "command-line options")
    return new
