"""Checks of the config's own kinds (``[kinds.NAME]``) and of which kinds have routes.

A custom kind must have a usable name, behave as a choice kind, create at most a
post (and only if what it behaves as acts on nothing or shares a post), and have
a route in ``[backend.routes]``: it exists to reach an endpoint of your API.
When a config gives routes of its own, every kind the crowd does (weight > 0 in
some profile) must have one: a kind left on the reference app's route would hit
a path the API does not have.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from simcore.scenario.kinds import (
    BUILT_IN,
    CHOICE_KINDS,
    KIND_NAMES,
    KINDS,
    MAX_KINDS,
    KindSet,
    KindSpec,
    custom_spec,
)
from simcore.scenario.schema import Config

Problems = list[tuple[str, str]]
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def kind_set_problems(config: Config) -> tuple[Problems, KindSet]:
    """The problems of ``[kinds]``, and the run's kinds (the valid custom ones only)."""
    out: Problems = []
    specs: list[KindSpec] = []
    routes = config.backend.routes
    room = MAX_KINDS - len(KINDS)
    if len(config.kinds) > room:
        out.append(("kinds", f"got {len(config.kinds)} kinds of your own, expected at most {room}"))
    for name, kind in config.kinds.items():
        path = f"kinds.{name}"
        before = len(out)
        if name in KIND_NAMES:
            out.append(
                (path, f"'{name}' is a built-in kind; give yours another name ('my_{name}', say)")
            )
        elif not _NAME.fullmatch(name):
            out.append(
                (path, f"got {name!r}, expected a lowercase name such as 'comment' or 'add_bookmark'")
            )
        if kind.behaves_as not in CHOICE_KINDS:
            near = [k for k in CHOICE_KINDS if kind.behaves_as and kind.behaves_as in k]
            hint = (
                f"did you mean '{near[0]}'?" if near else f"expected one of: {', '.join(CHOICE_KINDS)}"
            )
            out.append((f"{path}.behaves_as", f"got {kind.behaves_as!r}; {hint}"))
        elif kind.creates not in ("", "post"):
            out.append(
                (f"{path}.creates", f'got {kind.creates!r}, expected "post" or "" (creates nothing)')
            )
        elif kind.creates and KINDS[KIND_NAMES.index(kind.behaves_as)].target not in (
            "nothing",
            "shared_post",
        ):
            out.append(
                (
                    f"{path}.creates",
                    f"a kind that behaves as {kind.behaves_as} acts on an existing post or user and cannot "
                    "create a post; behave as create_post or quote_post instead, or drop creates",
                )
            )
        if name not in routes:
            out.append(
                (
                    path,
                    f"no route: add [backend.routes.{name}] with the method and path of your API's "
                    "endpoint for it",
                )
            )
        if len(out) == before and len(specs) < room:
            specs.append(custom_spec(name, kind, routes[name].method))
    return out, KindSet(KINDS + tuple(specs)) if specs else BUILT_IN


def weighted_kinds(config: Config) -> set[str]:
    """The kinds the crowd does: some profile gives them a positive weight (or opens its
    sessions with them), and the API does not lack them (``backend.lacks``)."""
    out = {p.opens_with for p in config.profiles.values() if p.opens_with != "none"}
    for profile in config.profiles.values():
        for row in profile.weights.values():
            out.update(k for k, w in row.items() if w > 0)
    return out - set(config.backend.lacks)


def lacks_problems(config: Config, kinds: KindSet) -> Problems:
    """``backend.lacks`` names choice kinds, none a profile opens its sessions with."""
    out: Problems = []
    for i, name in enumerate(config.backend.lacks):
        if name not in kinds.choice_names:
            out.append(
                (
                    f"backend.lacks[{i}]",
                    f"got {name!r}, expected one of: {', '.join(kinds.choice_names)}",
                )
            )
    for profile_name, profile in config.profiles.items():
        if profile.opens_with in config.backend.lacks:
            out.append(
                (
                    f"profiles.{profile_name}.opens_with",
                    f"'{profile.opens_with}' is in backend.lacks, so nobody can do it; open sessions "
                    'with a kind the API has (opens_with = "browse_feed", say) or "none"',
                )
            )
    return out


def unrouted_problems(config: Config, own_routes: Collection[str]) -> Problems:
    """When the config gives built-in kinds routes of its own (a routes table for another API),
    the kinds the crowd does that have none."""
    own = set(own_routes)
    if not own & set(KIND_NAMES):
        return []
    missing = sorted(weighted_kinds(config) - own, key=lambda k: (k not in KIND_NAMES, k))
    if not missing:
        return []
    names = ", ".join(missing)
    return [
        (
            "backend.routes",
            f"these kinds are done by the crowd but have no route of their own, so they would hit "
            f"the reference app's paths: {names}; add a [backend.routes.KIND] for each, or, for "
            "those your API does not have, say so and the crowd never does them: "
            f"[backend] lacks = {_toml_list(missing)}",
        )
    ]


def _toml_list(names: list[str]) -> str:
    return "[" + ", ".join(f'"{n}"' for n in names) + "]"
