"""Reading the server's final answer to an action: success or not, and what it teaches.

A route's answer counts as success when its status is 2xx or in the route's
``ok`` list (an ok answer that is not 2xx is logged as status 200: the action
took effect, the server only said it already had). From a successful answer the
:class:`Learner` records into the :class:`~simcore_backends.idmap.IdMap`:

- a sign-up's (or log-in's) user: its server id and bearer token;
- a create's new post id (from the ``id`` field, else the ``Location`` header);
- for a route with ``id`` that answers with the post it acted on (an edit that
  changes a slug), the post's id as the server now spells it.

A 2xx answer without what the route expects (no JSON, no token, no id) is a
``bad_answer``: that action fails (the user stays not signed up, the post not
created), the run goes on, and a warning says once per route which field was
missing and how to fix the route.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from typing import Any

from simcore.core.actions import FOLLOWS, PATH_POST, ActionBatch
from simcore.scenario.kinds import BUILT_IN, ActionKind, KindSet
from simcore.scenario.routes import CompiledRoute, field_getter
from simcore.seam.contract import ErrorKind, Outcomes

from .idmap import IdMap, as_server_id

_PATH_POST = frozenset(int(k) for k in PATH_POST)
_FOLLOWS = frozenset(int(k) for k in FOLLOWS)


class BadAnswer(Exception):
    """A 2xx answer lacks what the route expects; the message says what and the fix."""


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _location_id(headers: Mapping[str, str]) -> int | str | None:
    location = headers.get("Location") or headers.get("location")
    if not location:
        return None
    return as_server_id(location.rstrip("/").rsplit("/", 1)[-1].split("?")[0])


class Learner:
    """Settles outcomes from answers and learns ids and tokens, for one run's routes."""

    def __init__(
        self,
        routes: list[CompiledRoute],
        log_in: CompiledRoute | None,
        ids: IdMap,
        kinds: KindSet = BUILT_IN,
    ) -> None:
        self.routes = routes  # by kind code
        self.log_in = log_in
        self.ids = ids
        self.names = kinds.names
        #: by kind code: the built-in kind it behaves as, what it creates, whether it is built in
        self.base = kinds.base
        self.creates = tuple(spec.creates for spec in kinds.specs)
        self.built_in = tuple(not spec.custom_name for spec in kinds.specs)
        self.warned: set[str] = set()

    def succeeded(self, kind: int, status: int) -> bool:
        """Whether ``status`` is a success for ``kind``'s route (2xx, or in its ``ok`` list)."""
        return 200 <= status < 300 or status in self.routes[kind].ok

    def settle(
        self,
        batch: ActionBatch,
        i: int,
        out: Outcomes,
        status: int,
        body: bytes,
        headers: Mapping[str, str],
    ) -> None:
        """Action ``i`` was answered ``status``: count an ok answer as success, learn from a
        successful one, and mark an unusable 2xx answer ``bad_answer``."""
        k = int(batch.kind[i])
        if not self.succeeded(k, status):
            return
        if not 200 <= status < 300:
            out.status[i] = 200  # listed in the route's ``ok``: it took effect
        try:
            out.server_id[i] = self._learn(batch, i, k, status, body, headers)
        except BadAnswer as exc:
            self._bad(out, i, self.names[k], str(exc))

    def logged_in(self, batch: ActionBatch, i: int, out: Outcomes, status: int, body: bytes) -> None:
        """The log-in that replaced sign-up ``i`` was answered ``status``: record the user."""
        route = self.log_in
        if route is None or not 200 <= status < 300:
            return
        sign_up = self.routes[ActionKind.SIGN_UP]
        data = _json(body)
        try:
            user_id = self._field(route, data, route.id_field or sign_up.id_field, "id", required=False)
            token = self._token(route, data, route.token_field or sign_up.token_field)
        except BadAnswer as exc:
            self._bad(out, i, "log_in", str(exc))
            return
        core = int(batch.user[i])
        self.ids.set_user(core, user_id, token)
        out.server_id[i] = user_id if isinstance(user_id, int) else -1

    # -- what an answer teaches ------------------------------------------------------

    def _learn(
        self, batch: ActionBatch, i: int, k: int, status: int, body: bytes, headers: Mapping[str, str]
    ) -> int:
        route = self.routes[k]
        ids = self.ids
        base = self.base[k]  # a kind of the config's own acts on what the kind it behaves as does
        if base in _PATH_POST:
            core = int(batch.post[i])
            relearn = route.id_field and self.built_in[k] and route.method != "DELETE"
            if relearn and 200 <= status < 300:
                new_id = as_server_id(route.get_id(_json(body)))
                if new_id is None:
                    raise BadAnswer(self._missing(route, status, "id", route.id_field))
                ids.set_post(core, new_id)
            sid = ids.server_post(core)
            return sid if isinstance(sid, int) else -1
        if base in _FOLLOWS:
            sid = ids.server_user(int(batch.ref[i]))
            return sid if isinstance(sid, int) else -1
        creates = self.creates[k]
        if not creates or (creates == "post" and int(batch.post[i]) < 0):
            return -1
        data = _json(body) if route.id_field or route.token_field else None
        new_id = as_server_id(route.get_id(data)) if route.id_field else None
        if new_id is None:
            new_id = _location_id(headers)
        if creates == "user":
            if new_id is None and route.id_field:
                raise BadAnswer(self._missing(route, status, "id", route.id_field))
            token = self._token(route, data, route.token_field, status)
            ids.set_user(int(batch.user[i]), new_id, token)
        else:
            if new_id is None:
                raise BadAnswer(self._missing(route, status, "id", route.id_field))
            ids.set_post(int(batch.post[i]), new_id)
        return new_id if isinstance(new_id, int) else -1

    def _field(
        self, route: CompiledRoute, data: Any, field: str, what: str, required: bool = True
    ) -> int | str | None:
        if not field:
            return None
        getter = route.get_id if field == route.id_field else field_getter(field)
        value = as_server_id(getter(data))
        if value is None and required:
            raise BadAnswer(self._missing(route, 200, what, field))
        return value

    def _token(self, route: CompiledRoute, data: Any, field: str, status: int = 200) -> str | None:
        if not field:
            return None
        getter = route.get_token if field == route.token_field else field_getter(field)
        raw = getter(data)
        if not isinstance(raw, str) or not raw:
            raise BadAnswer(self._missing(route, status, "token", field))
        return raw

    @staticmethod
    def _missing(route: CompiledRoute, status: int, what: str, field: str) -> str:
        where = f"the answer to {route.kind} ({route.method} {route.path_template}, status {status})"
        if what == "token":
            fix = f'set backend.routes.{route.kind}.token to the field holding it, or to "" for an API without tokens'
        else:
            fix = f"set backend.routes.{route.kind}.id to the field holding the id"
        return f"{where} has no {what} at field '{field}' (or is not JSON); {fix}"

    def _bad(self, out: Outcomes, i: int, name: str, message: str) -> None:
        out.error[i] = ErrorKind.BAD_ANSWER
        if name not in self.warned:
            self.warned.add(name)
            warnings.warn(f"bad_answer: {message}", RuntimeWarning, stacklevel=3)
