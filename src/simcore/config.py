"""The simulation's configuration: frozen attrs classes loaded from TOML by cattrs.

``loads_config(text)`` parses a profile's TOML text, structures it strictly (unknown keys,
wrong types) and then checks its meaning (ranges, references between tables,
schedules that cover each day exactly once). Every problem is reported with its
TOML key path and a fix, all at once, as one :class:`~simcore.errors.ConfigError`.
``dump_config`` renders the fully resolved config back as TOML that loads to an
equal config. Reading files is the shell's job (:mod:`simcore.loading`): this
module does no I/O.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import difflib
import sys
import typing
from collections.abc import Sequence
from typing import Any

import attrs
import cattrs
import tomli_w
from attrs import field, frozen
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn

from simcore.durations import DURATION_HELP, parse_ticks
from simcore.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

#: Action kinds a profile can weight (``sign_up`` is a user's arrival, not a choice).
CHOICE_KINDS = (
    "browse_feed",
    "read_post",
    "create_post",
    "update_post",
    "delete_post",
    "like_post",
    "repost",
    "quote_post",
    "follow_user",
    "unfollow_user",
    "browse_following",
)
CURVES = ("constant", "linear", "logistic")


@frozen
class Block:
    """A time block of a schedule: from ``start`` to ``end`` (``HH:MM``; may wrap midnight)."""

    start: str
    end: str
    state: str


@frozen
class StateSpec:
    """A routine state; ``activity`` scales how often users in it start sessions (0 = never)."""

    activity: float = 1.0


def _default_states() -> dict[str, StateSpec]:
    return {
        "sleeping": StateSpec(0.0),
        "working": StateSpec(0.25),
        "relaxing": StateSpec(1.0),
    }


def _weekday() -> tuple[Block, ...]:
    return (
        Block("23:00", "07:00", "sleeping"),
        Block("07:00", "09:00", "relaxing"),
        Block("09:00", "12:30", "working"),
        Block("12:30", "13:30", "relaxing"),
        Block("13:30", "17:30", "working"),
        Block("17:30", "23:00", "relaxing"),
    )


def _weekend() -> tuple[Block, ...]:
    return (
        Block("00:30", "09:00", "sleeping"),
        Block("09:00", "00:30", "relaxing"),
    )


@frozen
class Routine:
    """The states and the weekday and weekend schedules every profile shifts and jitters."""

    states: dict[str, StateSpec] = field(factory=_default_states)
    weekday: tuple[Block, ...] = field(factory=_weekday)
    weekend: tuple[Block, ...] = field(factory=_weekend)


@frozen
class Arrivals:
    """New users arrive as a Poisson process whose hourly rate follows ``curve``.

    constant: ``rate_per_hour``; linear: ``rate_per_hour + slope_per_day * days``;
    logistic: ``rate_per_hour / (1 + exp(-steepness_per_day * (days - midpoint_days)))``.
    """

    curve: str = "constant"
    rate_per_hour: float = 10.0
    slope_per_day: float = 0.0
    midpoint_days: float = 3.0
    steepness_per_day: float = 1.5


def _default_mix() -> dict[str, float]:
    return {"lurker": 0.6, "chatterbox": 0.15, "night_owl": 0.1, "content_curator": 0.15}


@frozen
class Population:
    """Who is there at the start, who arrives, and in what mix of profiles."""

    initial_users: int = 1000
    max_users: int = 1_000_000
    arrivals: Arrivals = field(factory=Arrivals)
    mix: dict[str, float] = field(factory=_default_mix)
    factions: tuple[str, ...] = ("aurora", "ember", "tide", "grove")


@frozen
class Profile:
    """A personality: when its users live, how much they act, and what they do by state."""

    shift_minutes: float = 0.0
    shift_spread_minutes: float = 30.0
    jitter_minutes: float = 10.0
    activity: float = 0.5
    activity_spread: float = 1.0
    session_actions: float = 4.0
    think_seconds: float = 45.0
    opens_with: str = "browse_feed"
    weights: dict[str, dict[str, float]] = field(factory=dict)


def _weights(feed: float, read: float, post: float, edit: float, delete: float) -> dict[str, float]:
    return {
        "browse_feed": feed,
        "read_post": read,
        "create_post": post,
        "update_post": edit,
        "delete_post": delete,
    }


def _default_profiles() -> dict[str, Profile]:
    return {
        "lurker": Profile(
            activity=0.4,
            session_actions=4.0,
            weights={
                "working": _weights(5, 6, 0.02, 0.005, 0.002),
                "relaxing": _weights(4, 8, 0.05, 0.01, 0.005),
            },
        ),
        "chatterbox": Profile(
            activity=1.2,
            session_actions=6.0,
            think_seconds=30.0,
            weights={
                "working": _weights(3, 4, 1.5, 0.4, 0.1),
                "relaxing": _weights(3, 5, 2.5, 0.6, 0.15),
            },
        ),
        "night_owl": Profile(
            shift_minutes=180.0,
            shift_spread_minutes=60.0,
            jitter_minutes=20.0,
            activity=0.8,
            weights={
                "working": _weights(4, 5, 0.3, 0.05, 0.02),
                "relaxing": _weights(3, 6, 0.8, 0.15, 0.05),
            },
        ),
        "content_curator": Profile(
            activity=0.6,
            session_actions=5.0,
            weights={
                "working": _weights(2, 3, 1.0, 0.8, 0.3),
                "relaxing": _weights(2, 4, 2.0, 1.0, 0.4),
            },
        ),
    }


@frozen
class Targets:
    """How actions pick the posts they act on."""

    popular_share: float = 0.5
    popular_memory: int = 4096
    recent_half_life: str = "6h"
    newest_own_post: float = 0.7
    trending_share: float = 0.0
    following_share: float = 0.0


@frozen
class Trends:
    """A post's attention: engagement, weighted, times the author's reputation, halving with age."""

    half_life: str = "69m"
    pool: int = 256
    view_weight: float = 1.0
    like_weight: float = 3.0
    repost_weight: float = 6.0
    quote_weight: float = 6.0
    reputation: float = 0.5


@frozen
class Follows:
    """Whom a follow goes to: back to a follower, to the popular, or to an author just read."""

    reciprocity: float = 0.3
    popular: float = 0.5


def _default_tags() -> tuple[str, ...]:
    return ("news", "tech", "sports", "music", "art", "games", "food", "science")


@frozen
class Tags:
    """Post tags and users' interests in them."""

    names: tuple[str, ...] = field(factory=_default_tags)
    focus: float = 0.7
    interest_reads: float = 0.5
    faction_bias: float = 0.0


#: Action log formats, and the file suffixes that pick one (``output.log``, ``--log``).
LOG_FORMATS = ("jsonl", "sqlite", "parquet")
LOG_SUFFIXES = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".sqlite": "sqlite",
    ".sqlite3": "sqlite",
    ".db": "sqlite",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def parse_log_choice(choices: Sequence[str]) -> list[str]:
    """The logs ``choices`` name, in order: format names (lower case) and file names; []
    for ``none``. Each choice is ``jsonl``, ``sqlite``, ``parquet``, ``none``, a file name
    whose suffix picks the format, or a comma-separated list of those. A ValueError says
    what is wrong and what is expected."""
    items = [c.strip() for choice in choices for c in choice.split(",") if c.strip()]
    if any(item.lower() == "none" for item in items):
        if len(items) > 1:
            raise ValueError(f"got {', '.join(items)}; 'none' cannot be combined with other logs")
        return []
    for item in items:
        name = item.replace("\\", "/").rsplit("/", 1)[-1]
        dot = name.rfind(".")
        suffix = name[dot:].lower() if dot > 0 else ""  # as pathlib's suffix (no I/O module here)
        if item.lower() not in LOG_FORMATS and suffix not in LOG_SUFFIXES:
            problem = f"unknown suffix '{suffix}'" if suffix else "no format and no suffix"
            raise ValueError(
                f"got {item!r}: {problem}; expected jsonl, sqlite, parquet, none, or a file name "
                f"ending in {', '.join(sorted(LOG_SUFFIXES))} (several: 'jsonl,sqlite')"
            )
    return [item.lower() if item.lower() in LOG_FORMATS else item for item in items]


@frozen
class Output:
    """Where a run writes its directory and its action log."""

    directory: str = "runs"
    log: str = "actions.jsonl"


@frozen
class Route:
    """How one action kind reaches the API: a method, a path template and a JSON body template.

    Templates hold placeholders such as ``{id}`` (the server's id of the target
    post), ``{content}``, ``{name}``, ``{user}`` (the simulated user's id) and
    ``{user_id}`` (the server's id of the user); see :mod:`simcore.routes`. ``id``
    is the (dotted) JSON field of the answer holding a new resource's id ("" = take
    it from the ``Location`` header); ``token`` the field of the sign-up answer
    holding the user's bearer token ("" = the API has no tokens).
    """

    method: str = "GET"
    path: str = "/"
    body: dict[str, Any] = field(factory=dict)
    id: str = ""
    token: str = ""


def reference_routes() -> dict[str, Route]:
    """The reference app's API, one route per action kind (the default ``[backend.routes]``)."""
    return {
        "sign_up": Route(
            "POST", "/users", {"name": "{name}", "external_id": "{user}"}, id="id", token="token"
        ),
        "browse_feed": Route("GET", "/posts"),
        "read_post": Route("GET", "/posts/{id}"),
        "create_post": Route("POST", "/posts", {"content": "{content}"}, id="id"),
        "update_post": Route("PUT", "/posts/{id}", {"content": "{content}"}),
        "delete_post": Route("DELETE", "/posts/{id}"),
        "like_post": Route("POST", "/posts/{id}/like"),
        "repost": Route("POST", "/posts/{ref_id}/repost", id="id"),
        "quote_post": Route("POST", "/posts", {"content": "{content}", "quote_of": "{ref_id}"}, id="id"),
        "follow_user": Route("POST", "/users/{target_id}/follow"),
        "unfollow_user": Route("DELETE", "/users/{target_id}/follow"),
        "browse_following": Route("GET", "/feed/following"),
    }


@frozen
class Backend:
    """Which backend executes the actions, where it sends them, and how it copes with failures.

    ``name`` is a name from the ``simcore.backends`` entry points. ``target`` is the
    base URL of the http backend, ``client`` its HTTP client ("lean": simcore's own
    keep-alive client on llhttp, "aiohttp", or "auto": lean when httptools is
    installed); ``app`` the ``module:attr`` FastAPI app of the
    testclient backend ("" = the reference app, over the SQLite file ``db``, a fresh
    temporary one per run if ""). ``concurrency`` bounds the requests in flight,
    ``connections`` the connection pool (0 = ``concurrency``); ``timeout`` is in
    seconds per attempt; ``pipeline`` ticks may be in flight at once (1 = each tick's
    requests are all answered before the next tick's start); a failed attempt is
    retried up to ``retries`` times after
    an exponential, jittered backoff from ``backoff_ms`` up to ``backoff_max_ms``.
    """

    name: str = "mock"
    target: str = "http://127.0.0.1:8000"
    client: str = "auto"
    app: str = ""
    db: str = ""
    concurrency: int = 64
    connections: int = 0
    timeout: float = 10.0
    pipeline: int = 4
    retries: int = 3
    backoff_ms: float = 50.0
    backoff_max_ms: float = 5000.0
    auth_header: str = "Authorization"
    auth_format: str = "Bearer {token}"
    routes: dict[str, Route] = field(factory=reference_routes)


@frozen
class Faults:
    """Simulated failures for the mock and testclient backends (keyed, like every draw).

    Each attempt of each action fails with ``error_rate`` (answered ``error_status``)
    or times out with ``timeout_rate``, and takes an extra lognormal latency of
    median ``latency_median_ms`` and sigma ``latency_sigma`` (0 = none).
    """

    error_rate: float = 0.0
    error_status: int = 503
    timeout_rate: float = 0.0
    latency_median_ms: float = 0.0
    latency_sigma: float = 0.0


@frozen
class Config:
    """A whole simulation scenario."""

    seed: int = 42
    tick_seconds: int = 60
    start: dt.datetime = dt.datetime(2026, 1, 5, 0, 0, 0)
    duration: str = "1d"
    population: Population = field(factory=Population)
    routine: Routine = field(factory=Routine)
    profiles: dict[str, Profile] = field(factory=_default_profiles)
    targets: Targets = field(factory=Targets)
    trends: Trends = field(factory=Trends)
    follows: Follows = field(factory=Follows)
    tags: Tags = field(factory=Tags)
    backend: Backend = field(factory=Backend)
    faults: Faults = field(factory=Faults)
    output: Output = field(factory=Output)
    #: Pass/fail checks at the end of a run: metric name -> comparison (simcore.thresholds).
    thresholds: dict[str, str] = field(factory=dict)

    @property
    def duration_ticks(self) -> int:
        """The run's length in ticks."""
        return parse_ticks(self.duration, self.tick_seconds)


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
    from simcore.validate import problems_in

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
    from simcore.validate import problems_in

    found = problems_in(new)
    if found:
        raise ConfigError(found, "command-line options")
    return new


__all__ = [
    "CHOICE_KINDS",
    "CURVES",
    "DURATION_HELP",
    "Arrivals",
    "Backend",
    "Block",
    "Config",
    "Faults",
    "Follows",
    "Output",
    "Population",
    "Profile",
    "Route",
    "Routine",
    "StateSpec",
    "Tags",
    "Targets",
    "Trends",
    "dump_config",
    "loads_config",
    "reference_routes",
    "structure",
    "to_dict",
    "with_overrides",
]
