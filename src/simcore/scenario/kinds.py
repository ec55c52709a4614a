"""The action kinds: one table from which everything else about a kind is derived.

Each row says what a kind is called (in configs, logs and on the dashboard), what
it acts on, what it creates, how the reference API spells it (the method and path
logs record, and the default route with its body), and how the mock answers it
when it goes through. The core's lookup tables (:mod:`simcore.core.actions`), the
default ``[backend.routes]``, the placeholders a route may use
(:mod:`simcore.scenario.routes`), the mock's answers and the ordering rule of the
concurrent backends are all read from :data:`KINDS`. To add a kind, add a row
here and a value to :class:`ActionKind` (docs/architecture.md, "Adding an action kind").
"""

from __future__ import annotations

import enum
from typing import Any, Literal

from attrs import frozen


class ActionKind(enum.IntEnum):
    """What a user does; the value is the code stored in batches, logs and snapshots."""

    SIGN_UP = 0
    BROWSE_FEED = 1
    READ_POST = 2
    CREATE_POST = 3
    UPDATE_POST = 4
    DELETE_POST = 5
    LIKE_POST = 6
    REPOST = 7
    QUOTE_POST = 8
    FOLLOW_USER = 9
    UNFOLLOW_USER = 10
    BROWSE_FOLLOWING = 11

    @property
    def label(self) -> str:
        """The name used in configs and logs (``read_post``)."""
        return self.name.lower()


#: What a kind acts on: nothing (a feed), any live post (``post``), one of the actor's own
#: live posts, another post it shares (``ref``), or another user (``ref``).
Target = Literal["nothing", "post", "own_post", "shared_post", "user"]


@frozen
class KindSpec:
    """One row of the table: everything simcore knows about an action kind."""

    kind: ActionKind
    short: str  # the dashboard's and summary's label
    method: str  # the reference API's method ...
    path: str  # ... and path as logs record it; {id} is the ``post`` or ``ref`` of the action
    target: Target
    creates: Literal["", "user", "post"] = ""  # what a successful answer brings into being
    picks_like_a_reader: bool = False  # chooses its post as a reader does (recent, popular)
    writes: bool = False  # carries generated text (``{content}``)
    route_body: tuple[tuple[str, Any], ...] = ()  # the reference route's JSON body
    route_id: str = ""  # the answer's field holding a new resource's id
    route_token: str = ""  # the sign-up answer's field holding the user's token
    ok_status: int = 200  # the mock's (and reference app's) answer when it goes through
    custom_name: str = ""  # a kind of the config's ``[kinds]``; ``kind`` is then the one it behaves as

    @property
    def name(self) -> str:
        """The kind's name in configs and logs."""
        return self.custom_name or self.kind.label

    @property
    def has_post(self) -> bool:
        """Whether an action of this kind has a post of simcore's: one it acts on or creates."""
        return self.target in ("post", "own_post", "shared_post") or self.creates == "post"

    @property
    def path_id(self) -> Literal["", "post", "ref"]:
        """Where the logged path's ``{id}`` comes from: the action's ``post``, its ``ref``, or nowhere."""
        if "{id}" not in self.path:
            return ""
        return "ref" if self.target in ("shared_post", "user") else "post"

    @property
    def route_path(self) -> str:
        """The reference route's path template (the server's ids as placeholders)."""
        placeholder = {
            "post": "{id}",
            "own_post": "{id}",
            "shared_post": "{ref_id}",
            "user": "{target_id}",
        }
        return self.path.replace("{id}", placeholder.get(self.target, "{id}"))

    @property
    def placeholders(self) -> tuple[str, ...]:
        """The placeholders a route of this kind may use."""
        out = ["run", "user", "name"]
        if self.creates != "user":
            out.append("user_id")
        out += {
            "post": ["id"],
            "own_post": ["id"],
            "shared_post": ["ref_id"],
            "user": ["target_id"],
        }.get(self.target, [])
        if self.has_post:
            out += ["post", "tag", "title"]
        if self.writes:
            out.append("content")
        return tuple(out)


K = ActionKind
#: The table, indexed by :class:`ActionKind` value.
KINDS: tuple[KindSpec, ...] = (
    KindSpec(K.SIGN_UP, "signup", "POST", "/users", "nothing", creates="user",
             route_body=(("name", "{name}"), ("external_id", "{user}")),
             route_id="id", route_token="token", ok_status=201),
    KindSpec(K.BROWSE_FEED, "feed", "GET", "/posts", "nothing"),
    KindSpec(K.READ_POST, "read", "GET", "/posts/{id}", "post", picks_like_a_reader=True),
    KindSpec(K.CREATE_POST, "post", "POST", "/posts", "nothing", creates="post", writes=True,
             route_body=(("content", "{content}"),), route_id="id", ok_status=201),
    KindSpec(K.UPDATE_POST, "edit", "PUT", "/posts/{id}", "own_post", writes=True,
             route_body=(("content", "{content}"),)),
    KindSpec(K.DELETE_POST, "delete", "DELETE", "/posts/{id}", "own_post", ok_status=204),
    KindSpec(K.LIKE_POST, "like", "POST", "/posts/{id}/like", "post", picks_like_a_reader=True,
             ok_status=201),
    KindSpec(K.REPOST, "repost", "POST", "/posts/{id}/repost", "shared_post", creates="post",
             picks_like_a_reader=True, route_id="id", ok_status=201),
    KindSpec(K.QUOTE_POST, "quote", "POST", "/posts", "shared_post", creates="post",
             picks_like_a_reader=True, writes=True,
             route_body=(("content", "{content}"), ("quote_of", "{ref_id}")), route_id="id",
             ok_status=201),
    KindSpec(K.FOLLOW_USER, "follow", "POST", "/users/{id}/follow", "user", picks_like_a_reader=True,
             ok_status=201),
    KindSpec(K.UNFOLLOW_USER, "unfollow", "DELETE", "/users/{id}/follow", "user", ok_status=204),
    KindSpec(K.BROWSE_FOLLOWING, "following", "GET", "/feed/following", "nothing"),
)  # fmt: skip
del K

#: Kind names in code order (``KIND_NAMES[code]``).
KIND_NAMES: tuple[str, ...] = tuple(spec.name for spec in KINDS)
#: Kinds a profile can weight (``sign_up`` is a user's arrival, not a choice).
CHOICE_KINDS: tuple[str, ...] = tuple(spec.name for spec in KINDS if spec.kind != ActionKind.SIGN_UP)
#: The dashboard's and summary's short label of each kind, by name.
SHORT: dict[str, str] = {spec.name: spec.short for spec in KINDS}


#: How many kinds a run may have: the built-in ones and up to 20 of the config's ``[kinds]``.
MAX_KINDS = 32


@frozen
class CustomKind:
    """A kind of the config's ``[kinds.NAME]`` table: it borrows the targeting of the built-in
    kind it ``behaves_as`` (what it acts on) and changes no world state, unless it ``creates``
    a post (``creates = "post"``, for kinds that act on nothing or share a post)."""

    behaves_as: str = "read_post"
    creates: str = ""


def custom_spec(name: str, custom: CustomKind, method: str) -> KindSpec:
    """The table row of a custom kind (its ``behaves_as`` must be a known choice kind).

    Its reference path, as logs record it, is ``/NAME`` (plus ``/{id}`` if it acts
    on something): the path sent is the one of its route, in ``sent_path``."""
    base = KINDS[KIND_NAMES.index(custom.behaves_as)]
    path = f"/{name}" + ("" if base.target == "nothing" else "/{id}")
    creates: Any = "post" if custom.creates == "post" else ""
    return KindSpec(
        base.kind, name, method.upper(), path, base.target, creates=creates,
        picks_like_a_reader=base.picks_like_a_reader, writes=base.writes or bool(creates),
        ok_status=201 if creates else 200, custom_name=name,
    )  # fmt: skip


@frozen
class KindSet:
    """The kinds of one run: the built-in ones in code order, then the config's ``[kinds]``.

    A kind's code is its place here; custom kinds take codes from ``len(KINDS)`` up."""

    specs: tuple[KindSpec, ...] = KINDS

    @property
    def names(self) -> tuple[str, ...]:
        """Kind names in code order."""
        return tuple(spec.name for spec in self.specs)

    @property
    def choice_names(self) -> tuple[str, ...]:
        """Kinds a profile can weight (all but ``sign_up``)."""
        return tuple(spec.name for spec in self.specs if spec.creates != "user")

    @property
    def custom(self) -> tuple[KindSpec, ...]:
        """The config's kinds."""
        return self.specs[len(KINDS) :]

    def code(self, name: str) -> int:
        """The code of the kind called ``name``."""
        return self.names.index(name)

    @property
    def base(self) -> tuple[int, ...]:
        """The built-in kind each kind behaves as (itself for a built-in kind), by code."""
        return tuple(int(spec.kind) for spec in self.specs)

    def where(self, **wanted: Any) -> tuple[int, ...]:
        """The codes of the kinds whose row has every given value (as :func:`kinds_where`)."""
        return tuple(
            code
            for code, spec in enumerate(self.specs)
            if all(getattr(spec, k) == v for k, v in wanted.items())
        )


#: The built-in kinds alone (a config without ``[kinds]``).
BUILT_IN = KindSet()


def kinds_where(**wanted: Any) -> tuple[ActionKind, ...]:
    """The kinds whose table row has every given value (``kinds_where(target="user")``)."""
    return tuple(spec.kind for spec in KINDS if all(getattr(spec, k) == v for k, v in wanted.items()))


assert [spec.kind for spec in KINDS] == list(ActionKind), "KINDS must list every kind in code order"
