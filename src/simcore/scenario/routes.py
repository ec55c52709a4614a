"""Routes as configuration: how each action kind becomes an HTTP request.

``[backend.routes]`` maps an action kind to a method, a path template and a
JSON body template (:class:`~simcore.scenario.schema.Route`); the default is the
reference app's API. Templates use ``{placeholder}`` fields:

=============  ==========================================  =========================
placeholder    value                                       kinds
=============  ==========================================  =========================
``{user}``     the simulated user's id (core id)           all
``{name}``     the user's display name                     all
``{user_id}``  the server's id of the user (from sign-up)  all but ``sign_up``
``{id}``       the server's id of the target post          read, update, delete, like
``{ref_id}``   the server's id of the reposted/quoted post repost, quote_post
``{target_id}`` the server's id of the followed user       follow_user, unfollow_user
``{content}``  the post's generated text                   create, update, quote (body)
``{run}``      the run's namespace (``backend.namespace``, all
               else a token made at the run's start)
=============  ==========================================  =========================

Besides one route per kind, the table may hold a ``log_in`` route (``{user}``,
``{name}``, ``{run}``): the backend logs a user in through it when the sign-up
answers with a status of the ``sign_up`` route's ``exists`` list (the user was
created before: a retry after a lost answer, say). ``ok`` on any route lists
statuses that count as success; ``id`` on a route that answers with the post it
acted on re-learns the post's id (a slug an edit changed).

In a path, values are percent-encoded. In a body, a string that is exactly one
placeholder (``"{user}"``) becomes the value itself, keeping its JSON type (a
number stays a number); any other string is formatted as text. ``{{`` and ``}}``
are literal braces. A route sends a body only if its body table is non-empty.

This module is pure: it checks and compiles templates, and renders them from
values a backend supplies.
"""

from __future__ import annotations

import difflib
import string
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from attrs import frozen

from simcore.scenario.backend_schema import Route
from simcore.scenario.kinds import BUILT_IN, KindSet

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
BODY_ONLY = ("content",)
#: The route the backend logs users in through (not an action kind), and its placeholders.
LOG_IN = "log_in"
LOG_IN_PLACEHOLDERS = ("run", "user", "name")


def allowed(kinds: KindSet = BUILT_IN) -> dict[str, tuple[str, ...]]:
    """The placeholders each kind's route may use (from the kinds table), and ``log_in``'s."""
    return {**{spec.name: spec.placeholders for spec in kinds.specs}, LOG_IN: LOG_IN_PLACEHOLDERS}


#: The placeholders each built-in kind's route may use.
ALLOWED = allowed()

Problems = list[tuple[str, str]]
Values = Mapping[str, Any]
_formatter = string.Formatter()


def fields_of(template: str) -> list[str]:
    """The placeholder names in ``template``; raise ``ValueError`` if it is malformed."""
    names = []
    for _literal, name, spec, conversion in _formatter.parse(template):
        if name is None:
            continue
        if not name.isidentifier():
            raise ValueError(f"'{{{name}}}' is not a placeholder name")
        if spec or conversion:
            raise ValueError(f"'{{{name}}}' may not carry a format spec or conversion")
        names.append(name)
    return names


def _strings(value: Any, path: str) -> list[tuple[str, str]]:
    """Every string inside a body template, with its key path."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [item for k, v in value.items() for item in _strings(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [item for i, v in enumerate(value) for item in _strings(v, f"{path}[{i}]")]
    return []


def _check_template(
    out: Problems, path: str, template: str, kind: str, where: str, allowed: tuple[str, ...]
) -> None:
    try:
        names = fields_of(template)
    except ValueError as exc:
        out.append((path, f"malformed template {template!r}: {exc}; write literal braces as {{{{ }}}}"))
        return
    for name in names:
        if name not in allowed:
            shown = [n for n in allowed if where == "body" or n not in BODY_ONLY]
            known = ", ".join(f"{{{n}}}" for n in shown) or "none"
            out.append((path, f"placeholder {{{name}}} is not available to {kind}; known here: {known}"))
        elif where == "path" and name in BODY_ONLY:
            out.append((path, f"placeholder {{{name}}} belongs in the body, not the path"))


def route_problems(
    routes: Mapping[str, Route], prefix: str = "backend.routes", kinds: KindSet = BUILT_IN
) -> Problems:
    """Every problem in a routes table, as ``(toml key path, message with the fix)``."""
    out: Problems = []
    placeholders = allowed(kinds)
    for kind, route in routes.items():
        path = f"{prefix}.{kind}"
        if kind not in placeholders:
            near = difflib.get_close_matches(kind, list(placeholders), n=1)
            hint = (
                f"did you mean '{near[0]}'?"
                if near
                else f"expected one of: {', '.join(placeholders)}, or a kind of your own declared "
                f'in [kinds.{kind}] (behaves_as = "read_post", say)'
            )
            out.append((path, f"unknown action '{kind}'; {hint}"))
            continue
        if route.method.upper() not in METHODS:
            out.append((f"{path}.method", f"got {route.method!r}, expected one of {', '.join(METHODS)}"))
        if not route.path.startswith("/"):
            out.append((f"{path}.path", f"got {route.path!r}, expected a path starting with '/'"))
        elif any(c.isspace() for c in route.path) or "#" in route.path:
            out.append((f"{path}.path", f"got {route.path!r}; a path has no spaces or '#'"))
        else:
            _check_template(out, f"{path}.path", route.path, kind, "path", placeholders[kind])
        for where, text in _strings(route.body, f"{path}.body"):
            _check_template(out, where, text, kind, "body", placeholders[kind])
        _answer_fields(out, path, kind, route, routes, kinds)
    return out


def _answer_fields(
    out: Problems, path: str, kind: str, route: Route, routes: Mapping[str, Route], kinds: KindSet
) -> None:
    """``id``, ``token``, ``ok`` and ``exists``: fields that mean something for this route."""
    creates = {spec.name for spec in kinds.specs if spec.creates}
    # the kinds whose answer may carry the post they acted on, so ``id`` re-learns its server id
    relearns = [s.name for s in kinds.specs if s.target in ("post", "own_post") and not s.custom_name]
    delete = route.method.upper() == "DELETE"
    learns = kind in creates or kind == LOG_IN or (kind in relearns and not delete)
    if route.id and not learns:
        why = (
            "a DELETE answers with no post"
            if kind in relearns
            else f"{kind} answers with no post of simcore's"
        )
        out.append(
            (
                f"{path}.id",
                f"got {route.id!r}, but {why} to re-learn an id from; remove it (id belongs on "
                f"creates, sign_up, log_in and the routes that answer with the post: {', '.join(relearns)})",
            )
        )
    elif route.id and not all(part for part in route.id.split(".")):
        out.append((f"{path}.id", f"got {route.id!r}, expected a JSON field such as 'id' or 'data.id'"))
    if route.token and kind not in ("sign_up", LOG_IN):
        out.append(
            (f"{path}.token", f"got {route.token!r}; only sign_up and log_in answer with a token")
        )
    elif route.token and not all(part for part in route.token.split(".")):
        out.append((f"{path}.token", f"got {route.token!r}, expected a JSON field such as 'token'"))
    for key in ("ok", "exists"):
        bad = [s for s in getattr(route, key) if not 100 <= s <= 599]
        if bad:
            out.append((f"{path}.{key}", f"got {bad}, expected HTTP statuses (100-599) such as [409]"))
    if route.exists and kind != "sign_up":
        out.append((f"{path}.exists", "only the sign_up route has 'exists'; use 'ok' on other routes"))
    elif route.exists and LOG_IN not in routes:
        out.append(
            (
                f"{path}.exists",
                f"got {list(route.exists)} but there is no backend.routes.{LOG_IN} to log the user in "
                f'with; add one, e.g. {LOG_IN} = {{ method = "POST", path = "/login", '
                f'body = {{ name = "{{name}}" }}, token = "token" }}',
            )
        )


# --- compiled templates -----------------------------------------------------------------


def _compile_text(template: str, encode: bool) -> Callable[[Values], str]:
    parts = list(_formatter.parse(template))
    if all(name is None for _, name, _, _ in parts):
        literal = "".join(lit for lit, _, _, _ in parts)
        return lambda _values: literal
    pieces: list[tuple[str, str | None]] = [(lit, name) for lit, name, _, _ in parts]

    if encode:

        def render(values: Values) -> str:
            return "".join(
                lit + ("" if name is None else quote(str(values[name]), safe="")) for lit, name in pieces
            )

    else:

        def render(values: Values) -> str:
            return "".join(lit + ("" if name is None else str(values[name])) for lit, name in pieces)

    return render


def _compile_body(value: Any) -> Callable[[Values], Any]:
    if isinstance(value, str):
        parts = list(_formatter.parse(value))
        if len(parts) == 1 and parts[0][0] == "" and parts[0][1] is not None:
            name = parts[0][1]
            return lambda values: values[name]
        text = _compile_text(value, encode=False)
        return text
    if isinstance(value, dict):
        items = [(k, _compile_body(v)) for k, v in value.items()]
        return lambda values: {k: f(values) for k, f in items}
    if isinstance(value, list):
        elems = [_compile_body(v) for v in value]
        return lambda values: [f(values) for f in elems]
    return lambda _values: value


def _getter(field_path: str) -> Callable[[Any], Any]:
    keys = [k for k in field_path.split(".") if k]

    def get(data: Any) -> Any:
        for key in keys:
            if isinstance(data, dict) and key in data:
                data = data[key]
            elif isinstance(data, list) and key.isdigit() and int(key) < len(data):
                data = data[int(key)]
            else:
                return None
        return data

    return get


#: A getter of a dotted JSON field (``"user.token"``) from parsed JSON (None where absent).
field_getter = _getter


@frozen
class CompiledRoute:
    """One route, ready to render: ``path(values)``, ``body(values)`` (or None)."""

    kind: str
    method: str
    path_template: str
    render_path: Callable[[Values], str]
    render_body: Callable[[Values], Any] | None
    needs: frozenset[str]
    id_field: str
    token_field: str
    get_id: Callable[[Any], Any]
    get_token: Callable[[Any], Any]
    ok: frozenset[int] = frozenset()
    exists: frozenset[int] = frozenset()

    def path(self, values: Values) -> str:
        """The request path (with its query string, if the template has one)."""
        return self.render_path(values)

    def body(self, values: Values) -> Any:
        """The JSON body, or None if the route sends none."""
        return None if self.render_body is None else self.render_body(values)


def compile_route(kind: str, route: Route) -> CompiledRoute:
    """Compile a checked route (see :func:`route_problems`)."""
    needs = set(fields_of(route.path))
    for _where, text in _strings(route.body, ""):
        needs.update(fields_of(text))
    return CompiledRoute(
        kind=kind,
        method=route.method.upper(),
        path_template=route.path,
        render_path=_compile_text(route.path, encode=True),
        render_body=_compile_body(route.body) if route.body else None,
        needs=frozenset(needs),
        id_field=route.id,
        token_field=route.token,
        get_id=_getter(route.id),
        get_token=_getter(route.token),
        ok=frozenset(route.ok),
        exists=frozenset(route.exists),
    )


def compile_routes(routes: Mapping[str, Route]) -> dict[str, CompiledRoute]:
    """Compile every route of a checked routes table, by kind name."""
    return {kind: compile_route(kind, route) for kind, route in routes.items()}
