"""The scenario's schema: frozen attrs classes with their defaults, one per TOML table.

A :class:`Config` is a whole scenario (population, routine, profiles, behaviour)
plus the settings of a run (backend, routes, faults, output, thresholds). Reading
TOML into it and checking it is :mod:`simcore.scenario.parse`; its meaning is
checked by :mod:`simcore.scenario.validate`. This module does no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from attrs import field, frozen

from simcore.scenario.backend_schema import Backend, Faults, Limits
from simcore.scenario.durations import parse_ticks
from simcore.scenario.kinds import KINDS, CustomKind, KindSet, custom_spec

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
        "sleeping": StateSpec(0.04),
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

    curve: str = "logistic"
    rate_per_hour: float = 20.0
    slope_per_day: float = 0.0
    midpoint_days: float = 0.5
    steepness_per_day: float = 6.0


def _default_mix() -> dict[str, float]:
    return {
        "lurker": 0.72,
        "chatterbox": 0.04,
        "night_owl": 0.12,
        "content_curator": 0.09,
        "night_shift": 0.03,
    }


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
    #: Next-action affinities: ``next[A][B]`` > 0 makes B likelier right after A in a session;
    #: the chain still settles to the state's weights (:mod:`simcore.core.flows`).
    next: dict[str, dict[str, float]] = field(factory=dict)


def _default_profiles() -> dict[str, Profile]:
    """The default crowd (profiles/default.toml documents every value): lurkers never write,
    a few chatterboxes with a heavy-tailed activity write most posts."""
    social = {"follow_user": 0.15, "unfollow_user": 0.02, "browse_following": 1.0}
    flow = _default_next()
    # awake at night (insomnia, a baby, a late shift): a little reading in bed
    night = {"browse_feed": 4.0, "read_post": 6.0, "like_post": 1.0, "browse_following": 1.0}
    return {
        "lurker": Profile(
            activity=0.4,
            next=flow,
            weights={
                "sleeping": night,
                "working": {"browse_feed": 5, "read_post": 6, "like_post": 1.0, **social},
                "relaxing": {
                    "browse_feed": 4, "read_post": 8, "like_post": 1.5, "repost": 0.05,
                    "follow_user": 0.2, "unfollow_user": 0.03, "browse_following": 1.5,
                },
            },
        ),
        "chatterbox": Profile(
            next=flow,
            activity=1.2,
            activity_spread=1.8,
            session_actions=6.0,
            think_seconds=30.0,
            weights={
                "sleeping": {**night, "create_post": 1.0},
                "working": {
                    "browse_feed": 3, "read_post": 4, "create_post": 2.0, "update_post": 0.4,
                    "delete_post": 0.1, "like_post": 1.5, "repost": 0.3, "quote_post": 0.4,
                    "follow_user": 0.3, "unfollow_user": 0.05, "browse_following": 1.0,
                },
                "relaxing": {
                    "browse_feed": 3, "read_post": 5, "create_post": 3.0, "update_post": 0.6,
                    "delete_post": 0.15, "like_post": 2.0, "repost": 0.4, "quote_post": 0.6,
                    "follow_user": 0.4, "unfollow_user": 0.08, "browse_following": 1.5,
                },
            },
        ),
        "night_owl": Profile(
            next=flow,
            shift_minutes=180.0,
            shift_spread_minutes=60.0,
            jitter_minutes=20.0,
            activity=0.8,
            weights={
                "sleeping": night,
                "working": {
                    "browse_feed": 4, "read_post": 5, "create_post": 0.02, "update_post": 0.005,
                    "delete_post": 0.002, "like_post": 1.0, **social, "unfollow_user": 0.03,
                },
                "relaxing": {
                    "browse_feed": 3, "read_post": 6, "create_post": 0.05, "update_post": 0.01,
                    "delete_post": 0.005, "like_post": 1.5, "repost": 0.1, "follow_user": 0.2,
                    "unfollow_user": 0.04, "browse_following": 1.5,
                },
            },
        ),
        "content_curator": Profile(
            next=flow,
            activity=0.6,
            session_actions=5.0,
            weights={
                "sleeping": night,
                "working": {
                    "browse_feed": 2, "read_post": 3, "create_post": 0.1, "update_post": 0.05,
                    "delete_post": 0.02, "like_post": 1.0, "repost": 1.2, "quote_post": 0.1,
                    "follow_user": 0.3, "unfollow_user": 0.05, "browse_following": 1.0,
                },
                "relaxing": {
                    "browse_feed": 2, "read_post": 4, "create_post": 0.2, "update_post": 0.08,
                    "delete_post": 0.03, "like_post": 1.5, "repost": 1.8, "quote_post": 0.15,
                    "follow_user": 0.4, "unfollow_user": 0.06, "browse_following": 1.5,
                },
            },
        ),
        "night_shift": Profile(
            shift_minutes=600.0,
            shift_spread_minutes=60.0,
            jitter_minutes=20.0,
            activity=0.6,
            next=flow,
            weights={
                "sleeping": night,
                "working": {"browse_feed": 5, "read_post": 6, "like_post": 1.0, **social},
                "relaxing": {
                    "browse_feed": 4, "read_post": 8, "create_post": 0.05, "like_post": 1.5,
                    "repost": 0.05, "follow_user": 0.2, "unfollow_user": 0.03,
                    "browse_following": 1.5,
                },
            },
        ),
    }  # fmt: skip


def _default_next() -> dict[str, dict[str, float]]:
    """How a session flows (profiles/default.toml documents it): feeds lead to reads, reads to
    likes, shares and posts, a like back to reading, a new post to an edit of it."""
    return {
        "browse_feed": {"read_post": 3.0},
        "browse_following": {"read_post": 3.0},
        "read_post": {"read_post": 1.0, "like_post": 2.0, "repost": 1.0, "quote_post": 1.0,
                      "create_post": 1.0, "follow_user": 1.0},
        "like_post": {"read_post": 2.0, "browse_feed": 1.0},
        "create_post": {"update_post": 2.0, "browse_feed": 1.0},
        "follow_user": {"browse_following": 2.0},
    }  # fmt: skip


@frozen
class Churn:
    """Users leave and some come back (:mod:`simcore.core.churn`).

    Each user's active spell lasts a heavy-tailed (Lomax) time: ``P(still active
    after t days) = (1 + t / lifetime_days) ** -lifetime_tail``. Users present at
    the start are ``established_days`` old (their remaining spell is the Lomax's
    residual at that age). At a spell's end a user goes dormant; with ``return_share``
    it comes back after a lognormal dormancy (median ``dormancy_median``, sigma
    ``dormancy_spread``) for a new spell, else it never returns.
    """

    enabled: bool = True
    lifetime_days: float = 0.45
    lifetime_tail: float = 0.5
    established_days: float = 30.0
    return_share: float = 0.3
    dormancy_median: str = "10d"
    dormancy_spread: float = 1.0


EVENT_KINDS = ("launch", "viral", "outage")


@frozen
class Event:
    """Something the community lives through, from ``at`` (after the start) for ``duration``.

    ``launch``: ``arrivals_per_hour`` more sign-ups an hour (a launch-day spike);
    ``viral``: one post (``post``, or -1: the newest post at ``at``) draws ``share`` of
    all reads; ``outage``: every request fails on the mock and testclient backends
    (retried as the backend retries, then given up), and the crowd only retries its
    session's opener and gives up after ``give_up_after`` actions a session.
    """

    kind: str = "launch"
    at: str = "0m"
    duration: str = "1h"
    arrivals_per_hour: float = 0.0
    post: int = -1
    share: float = 0.3
    give_up_after: int = 2


@frozen
class Targets:
    """How actions pick the posts they act on."""

    popular_share: float = 0.35
    popular_memory: int = 4096
    recent_half_life: str = "6h"
    newest_own_post: float = 0.7
    trending_share: float = 0.3
    following_share: float = 0.15


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
    faction_bias: float = 0.5


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
    churn: Churn = field(factory=Churn)
    backend: Backend = field(factory=Backend)
    faults: Faults = field(factory=Faults)
    output: Output = field(factory=Output)
    limits: Limits = field(factory=Limits)
    #: Pass/fail checks at the end of a run: metric name -> comparison (simcore.analysis.thresholds).
    thresholds: dict[str, str] = field(factory=dict)
    #: Kinds of the app's own (comments, bookmarks…), each behaving as a built-in kind.
    kinds: dict[str, CustomKind] = field(factory=dict)
    #: Scheduled events: launch-day spikes, viral posts, outages (``[[events]]``).
    events: tuple[Event, ...] = ()

    @property
    def kind_set(self) -> KindSet:
        """The run's action kinds: the built-in ones, then ``[kinds]`` in the table's order."""
        if not self.kinds:
            return KindSet()
        routes = self.backend.routes
        extra = tuple(
            custom_spec(name, kind, routes[name].method if name in routes else "POST")
            for name, kind in self.kinds.items()
        )
        return KindSet(KINDS + extra)

    @property
    def duration_ticks(self) -> int:
        """The run's length in ticks."""
        return parse_ticks(self.duration, self.tick_seconds)
