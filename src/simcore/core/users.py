"""The user population as a struct of arrays, and :class:`SimUser`, a read-only view of one row.

Each attribute is one numpy array indexed by the user's stable slot, which is
also its id. Arrays grow by capacity doubling; only ``[:n]`` is live. Names,
avatars and factions are not stored: they are pure functions of (seed, id).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from attrs import frozen
from numpy.typing import NDArray

from simcore.core import rng
from simcore.core.arrays import grow
from simcore.core.routine import NEVER

#: (name, dtype) of every per-user array; the order is the snapshot order.
USER_FIELDS: tuple[tuple[str, type[np.generic]], ...] = (
    ("created_tick", np.int32),
    ("profile", np.uint8),
    ("state", np.uint8),
    ("shift", np.int16),  # personal schedule shift in minutes, in [-720, 720)
    ("level", np.float32),  # heavy-tailed activity multiplier (lognormal, median 1)
    ("next_session", np.int32),  # tick of the next action (or session start); NEVER if none
    ("next_edge", np.int32),  # tick at which the next block edge takes effect
    ("next_event", np.int32),  # min(next_session, next_edge): the wake-up calendar
    ("edge_minute", np.int32),  # the unjittered local minute of that next edge
    ("session_left", np.uint16),  # actions left in the current session (0: not in one)
    ("last_post", np.int32),  # newest post this user created, -1 if none
    ("n_actions", np.int32),
    ("n_posts", np.int32),
    ("followers", np.int32),  # how many users follow this one
    ("following", np.int32),  # how many users this one follows
    ("last_follower", np.int32),  # the newest follower, -1 if none (follow-backs go there)
    ("n_likes", np.int32),  # likes given
    ("churn", np.int32),  # >= 0: tick the active spell ends; < 0: dormant until tick -churn
    ("last_kind", np.uint8),  # the choice index of the user's last action (sessions flow)
)

#: The per-user arrays that deciding a tick (its ``wake`` and ``act`` phases) writes, and
#: only for the users it wakes: a simulation that decides one shard of users hands these
#: rows of its woken users to the others (:meth:`Simulation.decide
#: <simcore.core.simulation.Simulation.decide>`); every other array changes the same way
#: everywhere (arrivals, effects).
DECIDED_FIELDS: tuple[str, ...] = (
    "state",
    "next_session",
    "next_edge",
    "next_event",
    "edge_minute",
    "session_left",
    "n_actions",
    "churn",
    "last_kind",
)

_ADJECTIVES = (
    "amber",
    "bold",
    "brisk",
    "calm",
    "clever",
    "cosmic",
    "curious",
    "dapper",
    "eager",
    "fuzzy",
    "gentle",
    "golden",
    "happy",
    "hidden",
    "jolly",
    "keen",
    "lucky",
    "mellow",
    "misty",
    "nimble",
    "noble",
    "quiet",
    "rapid",
    "rosy",
    "rustic",
    "shy",
    "silver",
    "sly",
    "sunny",
    "swift",
    "tidy",
    "vivid",
)
_NOUNS = (
    "otter",
    "falcon",
    "maple",
    "comet",
    "badger",
    "lynx",
    "heron",
    "cedar",
    "pebble",
    "fox",
    "willow",
    "raven",
    "bison",
    "coral",
    "finch",
    "harbor",
    "ibis",
    "juniper",
    "koala",
    "lark",
    "meadow",
    "newt",
    "orca",
    "panda",
    "quartz",
    "robin",
    "sparrow",
    "thistle",
    "umber",
    "vole",
    "walrus",
    "yak",
)
_S_NAME = rng.stream_id("identity.name")
_S_AVATAR = rng.stream_id("identity.avatar")
_S_FACTION = rng.stream_id("identity.faction")


def user_names(seed: int, ids: NDArray[np.integer[Any]]) -> list[str]:
    """Deterministic display names such as ``swift_otter_4821``."""
    h = rng.hash64(seed, _S_NAME, 0, ids)
    adj = (h % np.uint64(len(_ADJECTIVES))).astype(np.int64)
    noun = ((h >> np.uint64(16)) % np.uint64(len(_NOUNS))).astype(np.int64)
    num = ((h >> np.uint64(32)) % np.uint64(10000)).astype(np.int64)
    return [f"{_ADJECTIVES[a]}_{_NOUNS[b]}_{c:04d}" for a, b, c in zip(adj, noun, num)]


def user_avatars(seed: int, ids: NDArray[np.integer[Any]]) -> list[str]:
    """Deterministic avatar descriptors: an identicon hash and a colour."""
    h = rng.hash64(seed, _S_AVATAR, 0, ids)
    return [f"identicon:{int(x):016x}" for x in h]


def user_factions(seed: int, ids: NDArray[np.integer[Any]], n_factions: int) -> NDArray[np.int64]:
    """Faction index of each user, uniform over the configured factions."""
    return rng.integers(seed, _S_FACTION, 0, ids, n_factions)


class Population:
    """Every user that exists so far, as growable per-attribute arrays."""

    def __init__(self, capacity: int = 1024) -> None:
        self.n = 0
        cap = max(int(capacity), 16)
        for name, dtype in USER_FIELDS:
            setattr(self, name, np.zeros(cap, dtype=dtype))

    created_tick: NDArray[np.int32]
    profile: NDArray[np.uint8]
    state: NDArray[np.uint8]
    shift: NDArray[np.int16]
    level: NDArray[np.float32]
    next_session: NDArray[np.int32]
    next_edge: NDArray[np.int32]
    next_event: NDArray[np.int32]
    edge_minute: NDArray[np.int32]
    session_left: NDArray[np.uint16]
    last_post: NDArray[np.int32]
    n_actions: NDArray[np.int32]
    n_posts: NDArray[np.int32]
    followers: NDArray[np.int32]
    following: NDArray[np.int32]
    last_follower: NDArray[np.int32]
    n_likes: NDArray[np.int32]
    churn: NDArray[np.int32]
    last_kind: NDArray[np.uint8]

    def grow_to(self, n: int) -> NDArray[np.int64]:
        """Make room for ``n`` users in total; return the ids of the new rows."""
        for name, _ in USER_FIELDS:
            setattr(self, name, grow(getattr(self, name), n))
        ids = np.arange(self.n, n, dtype=np.int64)
        self.next_session[ids] = NEVER
        self.next_edge[ids] = NEVER
        self.next_event[ids] = NEVER
        self.last_post[ids] = -1
        self.last_follower[ids] = -1
        self.churn[ids] = NEVER
        self.n = n
        return ids

    def arrays(self) -> dict[str, NDArray[Any]]:
        """The live rows of every attribute (views, not copies)."""
        return {name: getattr(self, name)[: self.n] for name, _ in USER_FIELDS}

    def load(self, arrays: dict[str, NDArray[Any]]) -> None:
        """Replace the contents with ``arrays`` (as returned by :meth:`arrays`)."""
        n = len(arrays["created_tick"])
        self.n = 0
        self.grow_to(n)
        for name, dtype in USER_FIELDS:
            if name in arrays:  # a field newer than the snapshot keeps its default
                getattr(self, name)[:n] = np.asarray(arrays[name], dtype=dtype)

    def rows(self, ids: NDArray[np.integer[Any]]) -> dict[str, NDArray[Any]]:
        """The :data:`DECIDED_FIELDS` of users ``ids`` (copies)."""
        return {name: getattr(self, name)[ids] for name in DECIDED_FIELDS}

    def set_rows(self, ids: NDArray[np.integer[Any]], rows: dict[str, NDArray[Any]]) -> None:
        """Write rows as returned by :meth:`rows` back at ``ids``."""
        for name in DECIDED_FIELDS:
            getattr(self, name)[ids] = rows[name]

    def nbytes_per_user(self) -> int:
        """Bytes of core state per user."""
        return sum(np.dtype(dtype).itemsize for _, dtype in USER_FIELDS)


@frozen
class SimUser:
    """A read-only view of one user, for people and logs (not for the hot path)."""

    id: int
    name: str
    avatar: str
    faction: str
    profile: str
    state: str
    created_at: dt.datetime
    shift_minutes: int
    activity_level: float
    actions: int
    posts: int


_S_INTEREST = rng.stream_id("identity.interest")
_S_INTEREST_FACTION = rng.stream_id("identity.interest.faction")


def user_interests(
    seed: int, ids: NDArray[np.integer[Any]], n_tags: int, n_factions: int, faction_bias: float
) -> NDArray[np.int64]:
    """Each user's favourite tag, a pure function of (seed, id): with probability
    ``faction_bias`` the tag of its faction (faction index modulo the tags), else any tag."""
    own = rng.integers(seed, _S_INTEREST, 0, ids, n_tags)
    if faction_bias <= 0:
        return own
    by_faction = user_factions(seed, ids, n_factions) % n_tags
    tied = rng.uniform(seed, _S_INTEREST_FACTION, 0, ids) < faction_bias
    return np.where(tied, by_faction, own)
