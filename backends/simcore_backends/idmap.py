"""What a backend learns from the server: users' tokens and ids, and the server's post ids.

Core ids are dense array indices, so the maps are arrays indexed by core id:
``post[core post id]`` is the server's id of that post (:data:`NONE` until its
create succeeds — forever, if it failed for good). Server ids that are not
integers (UUIDs, say) are kept in a side table. Tokens are kept per core user id.

The whole map goes into a run's snapshots as plain arrays (:meth:`IdMap.state_arrays`),
so a resumed run knows every user's token and every post's server id.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from simcore.core.arrays import grow

NONE = -1  # no server id (not created, or the create failed for good)
OTHER = -2  # a non-integer server id, kept in the side table


def as_server_id(value: Any) -> int | str | None:
    """A server id from a JSON value or a path segment: an int where it is one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value:
        if value.isdigit() and len(value) < 19:
            return int(value)
        return value
    return None


class IdMap:
    """Core id → server id for posts, and core user id → (signed up, server id, token)."""

    def __init__(self) -> None:
        self.post = np.full(1024, NONE, dtype=np.int64)
        self.post_other: dict[int, str] = {}
        self.versions = np.zeros(1024, dtype=np.int32)  # content version last planned per post
        self.user = np.full(1024, NONE, dtype=np.int64)
        self.signed = np.zeros(1024, dtype=np.uint8)  # 1 once the user's sign-up succeeded
        self.user_other: dict[int, str] = {}
        self.tokens: list[str | None] = []
        #: whether to keep what this instance learns for other instances (:meth:`learn`)
        self.sharing = False
        #: what was learned from this instance's own answers, until :meth:`take_learned`
        self.learned: dict[str, list[tuple[int, int | str | None]]] = {"posts": [], "users": []}

    # -- posts ---------------------------------------------------------------------

    def set_post(self, core: int, server: int | str, learned: bool = True) -> None:
        """Record the server's id of post ``core`` (``learned``: from this instance's answer)."""
        if learned and self.sharing:
            self.learned["posts"].append((core, server))
        self.post = grow(self.post, core + 1, NONE)
        if isinstance(server, int) and server >= 0:
            self.post[core] = server
        else:
            self.post[core] = OTHER
            self.post_other[core] = str(server)

    def server_post(self, core: int) -> int | str | None:
        """The server's id of post ``core``, or None if it does not exist there."""
        if core < 0 or core >= len(self.post):
            return None
        sid = int(self.post[core])
        if sid == NONE:
            return None
        return self.post_other[core] if sid == OTHER else sid

    def next_versions(self, posts: NDArray[np.integer[Any]]) -> NDArray[np.int32]:
        """Bump and return the content version of each post, in order (a post may repeat)."""
        p = np.asarray(posts, dtype=np.int64)
        if len(p) == 0:
            return np.zeros(0, np.int32)
        self.versions = grow(self.versions, int(p.max()) + 1, 0)
        # each occurrence's rank among the same post's, in order: 1 + versions so far
        order = np.argsort(p, kind="stable")
        ordered = p[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        sizes = np.diff(np.r_[starts, len(p)])
        rank = np.arange(len(p)) - np.repeat(starts, sizes)
        out = np.empty(len(p), np.int32)
        out[order] = self.versions[ordered] + rank + 1
        self.versions[ordered[starts]] += sizes.astype(self.versions.dtype)
        return out

    # -- users ---------------------------------------------------------------------

    def set_user(
        self, core: int, server: int | str | None, token: str | None, learned: bool = True
    ) -> None:
        """Record a successful sign-up of user ``core`` (``learned``: from this instance's answer)."""
        if learned and self.sharing:
            self.learned["users"].append((core, server))
        self.signed = grow(self.signed, core + 1, 0)
        self.user = grow(self.user, core + 1, NONE)
        self.signed[core] = 1
        if isinstance(server, int):
            self.user[core] = server
        elif server is not None:
            self.user[core] = OTHER
            self.user_other[core] = server
        if len(self.tokens) <= core:
            self.tokens.extend([None] * (core + 1 - len(self.tokens)))
        self.tokens[core] = token

    def is_signed(self, core: int) -> bool:
        """Whether user ``core`` signed up successfully."""
        return core < len(self.signed) and bool(self.signed[core])

    def token(self, core: int) -> str | None:
        """User ``core``'s bearer token, if the API gave one."""
        return self.tokens[core] if core < len(self.tokens) else None

    def server_user(self, core: int) -> int | str | None:
        """The server's id of user ``core``, if known."""
        if core >= len(self.user) or self.user[core] == NONE:
            return None
        sid = int(self.user[core])
        return self.user_other[core] if sid == OTHER else sid

    # -- instances on several workers ------------------------------------------------

    def take_learned(self) -> dict[str, list[tuple[int, int | str | None]]]:
        """What this instance learned since the last call (and forget it)."""
        out, self.learned = self.learned, {"posts": [], "users": []}
        return out

    def learn(self, ids: dict[str, list[Any]]) -> None:
        """Take the posts and users another instance learned (no tokens: a user's actions are
        all sent by the instance that signed it up); from now on keep what this one learns."""
        self.sharing = True
        for core, server in ids.get("posts", ()):
            self.set_post(int(core), server, learned=False)
        for core, server in ids.get("users", ()):
            self.set_user(int(core), server, None, learned=False)

    # -- snapshots -----------------------------------------------------------------

    def state_arrays(self) -> dict[str, NDArray[Any]]:
        """The map as named arrays (strings packed as UTF-8 bytes and end offsets: no pickle,
        and every character kept, NUL included)."""
        tokens = [t or "" for t in self.tokens]
        return {
            "post": self.post.copy(),
            "post_other_core": np.array(list(self.post_other), np.int64),
            **_pack("post_other_id", self.post_other.values()),
            "versions": self.versions.copy(),
            "user": self.user.copy(),
            "signed": self.signed.copy(),
            "user_other_core": np.array(list(self.user_other), np.int64),
            **_pack("user_other_id", self.user_other.values()),
            **_pack("token", tokens),
            "has_token": np.array([t is not None for t in self.tokens], np.uint8),
        }

    def load_state(self, arrays: dict[str, NDArray[Any]]) -> None:
        """Replace the map with ``arrays`` (as :meth:`state_arrays` returned them)."""
        self.post = np.array(arrays["post"], np.int64)
        self.post_other = dict(zip(arrays["post_other_core"].tolist(), _unpack(arrays, "post_other_id")))
        self.versions = np.array(arrays["versions"], np.int32)
        self.user = np.array(arrays["user"], np.int64)
        self.signed = np.array(arrays["signed"], np.uint8)
        self.user_other = dict(zip(arrays["user_other_core"].tolist(), _unpack(arrays, "user_other_id")))
        has = arrays["has_token"].tolist()
        self.tokens = [t if h else None for t, h in zip(_unpack(arrays, "token"), has)]


def combine_states(states: list[dict[str, NDArray[Any]]]) -> dict[str, NDArray[Any]]:
    """One map from the maps of several instances (one per worker), as one instance would
    have kept it: every server id any of them knows, each user's token from the instance
    that signed it up, each post's highest content version (only its author's bumps it)."""
    maps = []
    for arrays in states:
        one = IdMap()
        one.load_state(arrays)
        maps.append(one)
    out = IdMap()
    out.post = _first_known([m.post for m in maps])
    out.user = _first_known([m.user for m in maps])
    out.signed = _padded([m.signed for m in maps], 0).max(axis=0)
    out.versions = _padded([m.versions for m in maps], 0).max(axis=0)
    tokens: list[str | None] = [None] * max((len(m.tokens) for m in maps), default=0)
    for one in maps:
        out.post_other.update(one.post_other)
        out.user_other.update(one.user_other)
        for core, token in enumerate(one.tokens):
            if token is not None:
                tokens[core] = token
    out.tokens = tokens
    return out.state_arrays()


def _padded(arrays: list[NDArray[Any]], fill: int) -> NDArray[Any]:
    """The arrays as rows of one, each padded with ``fill`` to the longest."""
    width = max((len(a) for a in arrays), default=0)
    out = np.full((len(arrays), width), fill, dtype=arrays[0].dtype if arrays else np.int64)
    for row, a in zip(out, arrays):
        row[: len(a)] = a
    return out


def _first_known(arrays: list[NDArray[np.int64]]) -> NDArray[np.int64]:
    """Per core id, the first of ``arrays`` that knows a server id (not :data:`NONE`)."""
    rows = _padded(arrays, NONE)
    if len(rows) == 0:
        return np.full(1024, NONE, np.int64)
    known = rows != NONE
    first: NDArray[np.int64] = rows[known.argmax(axis=0), np.arange(rows.shape[1])]
    return first


def _pack(name: str, values: Any) -> dict[str, NDArray[Any]]:
    """Strings as ``NAME.bytes`` (their UTF-8, concatenated) and ``NAME.ends`` (end offsets)."""
    encoded = [str(v).encode("utf-8", "surrogatepass") for v in values]
    ends = np.cumsum([len(e) for e in encoded], dtype=np.int64) if encoded else np.zeros(0, np.int64)
    return {f"{name}.bytes": np.frombuffer(b"".join(encoded), np.uint8).copy(), f"{name}.ends": ends}


def _unpack(arrays: dict[str, NDArray[Any]], name: str) -> list[str]:
    """The strings :func:`_pack` packed under ``name``."""
    data = np.asarray(arrays[f"{name}.bytes"], np.uint8).tobytes()
    ends = np.asarray(arrays[f"{name}.ends"], np.int64).tolist()
    starts = [0, *ends[:-1]]
    return [data[a:b].decode("utf-8", "surrogatepass") for a, b in zip(starts, ends)]
