"""The core's view of action kinds (lookup tables from :mod:`simcore.scenario.kinds`),
the :class:`ActionBatch` one tick produces, and sampling of kinds.

A batch is a struct of arrays in its canonical order: by sub-tick offset, then
user id. That order fixes the ids of new posts and the order in which effects
apply, and it is the same however users are sharded (docs/architecture.md,
"A tick's journey").
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from attrs import define, field, frozen
from numpy.typing import NDArray

from simcore.core import rng
from simcore.scenario.kinds import BUILT_IN, KINDS, MAX_KINDS, ActionKind, KindSet, kinds_where
from simcore.scenario.schema import Config

# Plain-int codes for numpy comparisons in hot paths (IntEnum lookups are slow there).
(
    SIGN_UP,
    BROWSE_FEED,
    READ_POST,
    CREATE_POST,
    UPDATE_POST,
    DELETE_POST,
    LIKE_POST,
    REPOST,
    QUOTE_POST,
    FOLLOW_USER,
    UNFOLLOW_USER,
    BROWSE_FOLLOWING,
) = (int(k) for k in ActionKind)
#: The reference API's method and path template of each kind, as logs record them (from KINDS).
METHODS: tuple[str, ...] = tuple(spec.method for spec in KINDS)
PATHS: tuple[str, ...] = tuple(spec.path for spec in KINDS)


@frozen
class Spelling:
    """How logs spell a run's kinds: names, reference methods and paths, where each path's
    ``{id}`` comes from (0 nowhere, 1 ``post``, 2 ``ref``; by code) and each path split at it."""

    names: tuple[str, ...]
    methods: tuple[str, ...]
    paths: tuple[str, ...]
    path_id: NDArray[np.int8] = field(eq=False)
    parts: tuple[tuple[str, str], ...]


@functools.cache
def spelling(kinds: KindSet = BUILT_IN) -> Spelling:
    """The spelling of ``kinds`` (cached: one per kind set)."""
    paths = tuple(spec.path for spec in kinds.specs)
    path_id = np.zeros(MAX_KINDS, np.int8)
    path_id[: len(paths)] = [("", "post", "ref").index(spec.path_id) for spec in kinds.specs]
    return Spelling(
        kinds.names,
        tuple(spec.method for spec in kinds.specs),
        paths,
        path_id,
        tuple((p.split("{id}")[0], p.split("{id}")[1]) if "{id}" in p else (p, "") for p in paths),
    )


#: Kinds whose path's ``{id}`` is the batch's ``post`` (the others with an ``{id}`` take ``ref``).
PATH_POST = tuple(spec.kind for spec in KINDS if spec.path_id == "post")
#: Where each kind's path takes its ``{id}`` from: 0 nowhere (a fixed path), 1 ``post``, 2 ``ref``.
PATH_ID = np.array([("", "post", "ref").index(spec.path_id) for spec in KINDS], dtype=np.int8)
#: Kinds that make a post from another (``ref``), and kinds that change the follow graph.
SHARES = kinds_where(target="shared_post")
FOLLOWS = kinds_where(target="user")


def kind_table(*kinds: ActionKind) -> NDArray[np.bool_]:
    """A lookup table over kind codes, True at ``kinds``: ``table[batch.kind]`` is a mask."""
    table = np.zeros(len(ActionKind), dtype=bool)
    table[[int(k) for k in kinds]] = True
    return table


#: Kinds that act on an existing post (``post``), and kinds that act on ``ref`` (a post or user).
ON_POST = kind_table(*kinds_where(target="post"), *kinds_where(target="own_post"))
ON_REF = kind_table(*SHARES, *FOLLOWS)
#: Kinds that pick a post the way a reader does (follows pick the post's author).
LOOKING = kind_table(*kinds_where(picks_like_a_reader=True))
#: Each kind's path split at ``{id}``: (head, tail), or (path, "") if it has no ``{id}``.
PATH_PARTS: tuple[tuple[str, str], ...] = tuple(
    (p.split("{id}")[0], p.split("{id}")[1]) if "{id}" in p else (p, "") for p in PATHS
)


def _empty(dtype: type[np.generic]) -> Any:
    return field(factory=lambda: np.zeros(0, dtype=dtype))


@define
class ActionBatch:
    """Every action of one tick, in canonical order, one array per attribute."""

    tick: int
    user: NDArray[np.int32] = _empty(np.int32)
    kind: NDArray[np.uint8] = _empty(np.uint8)
    post: NDArray[np.int32] = _empty(np.int32)  # target post, or the new post's id; -1 if none
    offset_ms: NDArray[np.int32] = _empty(np.int32)  # milliseconds into the tick
    state: NDArray[np.uint8] = _empty(np.uint8)
    profile: NDArray[np.uint8] = _empty(np.uint8)
    seq0: int = 0  # sequence number of the first action in the run
    # the reposted/quoted post, or the followed/unfollowed user; -1 if none (filled if omitted)
    ref: NDArray[np.int32] = _empty(np.int32)
    # the tag of the post the action acts on or creates; -1 if none (filled once effects apply)
    tag: NDArray[np.int16] = _empty(np.int16)

    ARRAYS = ("user", "kind", "post", "offset_ms", "state", "profile", "ref", "tag")

    def __attrs_post_init__(self) -> None:
        if len(self.ref) != len(self.user):
            self.ref = np.full(len(self.user), -1, dtype=np.int32)
        if len(self.tag) != len(self.user):
            self.tag = np.full(len(self.user), -1, dtype=np.int16)

    def __len__(self) -> int:
        return len(self.user)

    @property
    def seq(self) -> NDArray[np.int64]:
        """Run-wide sequence numbers of the actions."""
        return self.seq0 + np.arange(len(self), dtype=np.int64)

    def take(self, index: NDArray[np.integer[Any]]) -> ActionBatch:
        """The actions at ``index`` (an order or a mask's indices), same tick and seq0."""
        parts = {name: getattr(self, name)[index] for name in self.ARRAYS}
        return ActionBatch(tick=self.tick, seq0=self.seq0, **parts)

    def canonical_order(self) -> NDArray[np.intp]:
        """The permutation that sorts by (offset_ms, user).

        Usually the batch is already in user order and offsets fit 16 bits (ticks up to
        65 s): then one stable sort by offset, a radix sort in numpy, gives the order.
        """
        user, offset = self.user, self.offset_ms
        by_user = len(user) < 2 or bool(np.all(user[1:] > user[:-1]))
        if by_user and (len(offset) == 0 or int(offset.max()) < 2**16):
            return np.argsort(offset.astype(np.uint16), kind="stable")
        key = (offset.astype(np.int64) << 32) | user.astype(np.int64)
        return np.argsort(key)

    def counts(self) -> NDArray[np.int64]:
        """Actions of each kind, indexed by kind code (``MAX_KINDS`` entries: room for a run's
        kinds of its own after the built-in ones)."""
        return np.bincount(self.kind, minlength=MAX_KINDS).astype(np.int64)

    def equals(self, other: ActionBatch) -> bool:
        """Same tick, seq0 and arrays."""
        return (
            self.tick == other.tick
            and self.seq0 == other.seq0
            and all(np.array_equal(getattr(self, n), getattr(other, n)) for n in self.ARRAYS)
        )

    @classmethod
    def concat(cls, tick: int, parts: list[ActionBatch]) -> ActionBatch:
        """Join batches of the same tick (unordered; call :meth:`canonical_order` after)."""
        if not parts:
            return cls(tick=tick)
        arrays = {n: np.concatenate([getattr(p, n) for p in parts]) for n in cls.ARRAYS}
        return cls(tick=tick, seq0=parts[0].seq0, **arrays)


class KindCodes:
    """The run's kinds (built-in and the config's) as lookup tables over kind codes."""

    def __init__(self, config: Config) -> None:
        kinds = config.kind_set
        #: the built-in kind each kind behaves as: targeting reads it
        self.base = np.full(MAX_KINDS, BROWSE_FEED, np.uint8)
        self.base[: len(kinds.specs)] = kinds.base
        #: kinds of the config's own that create a post: new (as create_post) or sharing one (as quote_post)
        self.creates_new = np.zeros(MAX_KINDS, bool)
        self.creates_share = np.zeros(MAX_KINDS, bool)
        for code, spec in enumerate(kinds.custom, start=len(KINDS)):
            if spec.creates == "post":
                self.creates_share[code] = spec.target == "shared_post"
                self.creates_new[code] = spec.target == "nothing"
        self.custom = len(kinds.custom) > 0
        #: kinds whose ``ref`` is a post (shares, and kinds of the config's own behaving as one)
        self.ref_is_post = np.zeros(MAX_KINDS, bool)
        self.ref_is_post[: len(kinds.specs)] = [spec.target == "shared_post" for spec in kinds.specs]

    def post_of(self, batch: ActionBatch) -> NDArray[np.int64]:
        """Each action's post: the one it acts on or creates (a share's original if it made
        none), -1 for none."""
        post = batch.post.astype(np.int64)
        out: NDArray[np.int64] = np.where(
            post >= 0, post, np.where(self.ref_is_post[batch.kind], batch.ref, -1)
        )
        return out


_BUCKETS = 1024
_MIXED = 255


class KindTables:
    """Per (profile, state) cumulative weights over the choice kinds, for vectorised sampling."""

    def __init__(self, config: Config, state_names: tuple[str, ...]) -> None:
        profiles = list(config.profiles.values())
        kinds = config.kind_set
        choice = kinds.choice_names
        lacks = set(config.backend.lacks)
        n_kinds = len(choice)
        weights = np.zeros((len(profiles), len(state_names), n_kinds), dtype=np.float64)
        for p, profile in enumerate(profiles):
            for s, state in enumerate(state_names):
                row = profile.weights.get(state, {})
                weights[p, s] = [0.0 if k in lacks else max(row.get(k, 0.0), 0.0) for k in choice]
        totals = weights.sum(axis=2, keepdims=True)
        probabilities = np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)
        self.cumulative = np.cumsum(probabilities, axis=2)
        self.cumulative[..., -1] = np.where(totals[..., 0] > 0, 1.0, 0.0)
        # a lookup table per (profile, state) row: bucket b of [0, 1) in _BUCKETS equal parts
        # holds the kind every u in it draws, or _MIXED where a cumulative weight falls
        # inside the bucket (those few draws are resolved exactly against the row)
        rows = len(profiles) * len(state_names)
        self._rows = np.minimum(self.cumulative, 1.0).reshape(rows, n_kinds)
        edges = np.arange(_BUCKETS + 1, dtype=np.float64) / _BUCKETS
        first = (self._rows[:, None, :] <= edges[None, :-1, None]).sum(axis=2)
        last = (self._rows[:, None, :] < edges[None, 1:, None]).sum(axis=2)
        first, last = np.minimum(first, n_kinds - 1), np.minimum(last, n_kinds - 1)
        self._table = np.where(first == last, first, _MIXED).astype(np.uint8).ravel()
        self._n_states = len(state_names)
        self.opener = np.array(
            [255 if p.opens_with == "none" else kinds.code(p.opens_with) for p in profiles],
            dtype=np.int64,
        )
        self.choice_codes = np.array([kinds.code(k) for k in choice], dtype=np.uint8)

    def sample(
        self,
        seed: int,
        stream: int,
        tick: int,
        users: NDArray[np.int64],
        profile: NDArray[np.uint8],
        state: NDArray[np.uint8],
    ) -> NDArray[np.uint8]:
        """Draw one choice kind per user from its profile's weights in its state."""
        u = rng.uniform(seed, stream, tick, users)
        row = profile.astype(np.intp) * self._n_states + state
        # u * _BUCKETS is exact (a power of two), so the bucket is exactly floor(u * _BUCKETS)
        idx = self._table[row * _BUCKETS + (u * _BUCKETS).astype(np.intp)]
        mixed = np.flatnonzero(idx == _MIXED)
        if len(mixed):
            # how many of the row's cumulative weights are <= u: the kind's index
            exact = (self._rows[row[mixed]] <= u[mixed, None]).sum(axis=1)
            idx[mixed] = np.minimum(exact, len(self.choice_codes) - 1)
        out: NDArray[np.uint8] = self.choice_codes[idx]
        return out
