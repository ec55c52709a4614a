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
from simcore.scenario.kindcheck import unrouted_problems
from simcore.scenario.problems import Keys, TypeProblem, problems_of
from simcore.scenario.schema import Config
from simcore.scenario.validate import problems_in

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]


# --- structuring -----------------------------------------------------------------


def _strict_int(value: object, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeProblem("an integer", value)
    return value


def _strict_float(value: object, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeProblem("a number", value)
    return float(value)


def _strict_bool(value: object, _: type) -> bool:
    if not isinstance(value, bool):
        raise TypeProblem("true or false", value)
    return value


def _strict_str(value: object, _: type) -> str:
    if not isinstance(value, str):
        raise TypeProblem("a string", value)
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
    raise TypeProblem("a date-time such as 2026-01-05T00:00:00", value)


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)

    def tables(cl: type) -> Any:
        inner: Any = make_dict_structure_fn(cl, conv, _cattrs_forbid_extra_keys=True)

        def structure_table(value: object, _: type) -> Any:
            if not isinstance(value, dict):
                raise TypeProblem("a table", value)
            return inner(value, cl)

        return structure_table

    def arrays(item: type) -> Any:
        def structure_array(value: object, cl: type) -> tuple[Any, ...]:
            if not isinstance(value, list | tuple):
                raise TypeProblem("an array", value)
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
    conv.register_structure_hook(bool, _strict_bool)
    conv.register_structure_hook(dt.datetime, _datetime)
    conv.register_unstructure_hook(dt.datetime, lambda d: d)
    return conv


converter = _make_converter()


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


#: Tables of named entries (a profile, a state) in which ``NAME = { removed = true }`` drops
#: a default entry; every other table merges key by key into the defaults.
NAMED_TABLES = (("profiles",), ("routine", "states"))


#: Tables that replace the default as a whole instead of merging (a route's body is a JSON
#: template: the API's body, not settings to adjust; a mix lists the shares of the profiles
#: that make up the population, so the profiles it leaves out have none). ``*`` matches any key.
REPLACED_TABLES = (("backend", "routes", "*", "body"), ("population", "mix"))


def _replaced(path: tuple[str, ...]) -> bool:
    return any(
        len(p) == len(path) and all(a in ("*", b) for a, b in zip(p, path)) for p in REPLACED_TABLES
    )


def _merged(defaults: Any, given: Any, path: tuple[str, ...] = ()) -> Any:
    """``given`` laid over ``defaults`` key by key, tables recursively; arrays and values replace."""
    if not isinstance(defaults, dict) or not isinstance(given, dict) or _replaced(path):
        return copy.deepcopy(given)
    out = copy.deepcopy(defaults)
    for key, value in given.items():
        inner = (*path, str(key))
        out[key] = _merged(defaults[key], value, inner) if key in defaults else copy.deepcopy(value)
    return out


def _drop_removed(data: dict[str, Any], source: str | None) -> dict[str, Any]:
    """Remove the named entries marked ``removed = true`` (and a removed profile's mix share)."""
    for path in NAMED_TABLES:
        table: Any = data
        for key in path:
            table = table.get(key) if isinstance(table, dict) else None
        if not isinstance(table, dict):
            continue  # not a table: structuring reports it
        for name, entry in list(table.items()):
            if not isinstance(entry, dict) or "removed" not in entry:
                continue
            removed = entry.pop("removed")
            if not isinstance(removed, bool):
                where = ".".join((*path, str(name), "removed"))
                raise ConfigError([(where, f"expected true or false, got {removed!r}")], source)
            if removed:
                del table[name]
                population = data.get("population")
                mix = population.get("mix") if isinstance(population, dict) else None
                if path == ("profiles",) and isinstance(mix, dict):
                    mix.pop(name, None)
    return data


def with_defaults(data: dict[str, Any], source: str | None = None) -> dict[str, Any]:
    """The scenario ``data`` describes: every table merged key by key into the built-in defaults
    (the scenario of profiles/default.toml), so an empty document is the default scenario and
    ``[profiles.lurker] activity = 0.5`` changes one key of one profile. Removing a default
    profile or state is explicit: ``[profiles.night_owl] removed = true``."""
    return _drop_removed(_merged(converter.unstructure(Config()), data), source)


def structure(data: dict[str, Any], source: str | None = None) -> Config:
    """Turn parsed TOML into a :class:`Config`, then check it; raise :class:`ConfigError`."""
    given, data = data, with_defaults(data, source)
    errors = (ClassValidationError, IterableValidationError, ForbiddenExtraKeysError)
    try:
        config = converter.structure(data, Config)
    except errors as exc:
        problems, unknown = problems_of(exc)
        if len(unknown) == len(problems):
            # only unknown keys: check the rest too, so every mistake is reported at once
            with contextlib.suppress(*errors):
                problems += problems_in(converter.structure(_without(data, unknown), Config))
        raise ConfigError(problems, source) from None
    found = problems_in(config)
    if not found:
        found = unrouted_problems(config, _own_routes(given))
    if found:
        raise ConfigError(found, source)
    return config


def _own_routes(data: dict[str, Any]) -> list[str]:
    """The kinds the document itself gives routes (not the defaults)."""
    backend = data.get("backend")
    routes = backend.get("routes") if isinstance(backend, dict) else None
    return list(routes) if isinstance(routes, dict) else []


def loads_config(text: str, source: str | None = None) -> Config:
    """Parse and check TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([("", f"TOML syntax error: {exc}; fix the file's syntax")], source) from None
    except RecursionError:
        raise _too_deep(None, source, text) from None
    try:
        return structure(data, source)
    except RecursionError:
        raise _too_deep(data, source) from None


def _too_deep(data: dict[str, Any] | None, source: str | None, text: str = "") -> ConfigError:
    """Tables or arrays nested past Python's recursion limit (no scenario nests past 5 levels)."""
    if data is None:  # the parser gave up: name the line that opens the most brackets
        lines = text.splitlines() or [""]
        number = max(range(len(lines)), key=lambda i: lines[i].count("[") + lines[i].count("{"))
        key = lines[number].split("=", 1)[0].strip() if "=" in lines[number] else ""
        return ConfigError(
            [
                (
                    key,
                    f"line {number + 1} nests arrays or tables far too deep; a scenario nests a few levels",
                )
            ],
            source,
        )
    path: list[str] = []
    node: Any = data
    while isinstance(node, dict) and len(node) >= 1 and len(path) < 8:
        key = max(node, key=lambda k: _depth(node[k]))
        path.append(str(key))
        node = node[key]
    where = ".".join(path) + (" …" if len(path) == 8 else "")
    return ConfigError(
        [(where, "tables or arrays are nested far too deep; a scenario nests at most a few levels")],
        source,
    )


def _depth(node: Any, limit: int = 50) -> int:
    depth = 0
    while limit and isinstance(node, (dict, list)) and node:
        node = next(iter(node.values())) if isinstance(node, dict) else node[0]
        depth, limit = depth + 1, limit - 1
    return depth


def to_dict(config: Config) -> dict[str, Any]:
    """The fully resolved config as plain data (every default filled in)."""
    data: dict[str, Any] = converter.unstructure(config)
    return data


def dump_config(config: Config) -> str:
    """The fully resolved config as TOML text that :func:`loads_config` reads back equal
    (a default profile or state it lacks is written ``removed = true``)."""
    data = to_dict(config)
    defaults = Config()
    for name in defaults.profiles.keys() - config.profiles.keys():
        data["profiles"][name] = {"removed": True}
    for name in defaults.routine.states.keys() - config.routine.states.keys():
        data["routine"]["states"][name] = {"removed": True}
    return tomli_w.dumps(data)


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
