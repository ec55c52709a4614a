"""Actions as REST requests, answers as id mappings: what the testclient and http backends share.

:class:`Rest` turns action ``i`` of a batch into a :class:`Request` through the
configured routes (:mod:`simcore.routes`), with the user's bearer token, the
server's id of the target post, and generated text (:mod:`simcore.content`); it
reads the server's answers to sign-ups and creates into an :class:`IdMap`.

**Ordering rule** (what the http backend must keep when it sends a batch's
requests concurrently; see :func:`dependencies`):

1. Batches run one after another: every request of tick *t* has its final answer
   before any request of tick *t + 1* is sent. The core makes a user's sign-up
   the tick it arrives and lets it act only from the next tick on, and never
   targets a post created in the same tick, so sign-up → the user's requests and
   create → reads, edits and deletes of that post are ordered by this alone.
2. Within a batch, requests that touch the same resource keep the batch's order
   where one of them changes it: a read waits for the latest earlier change of
   its post (an update or delete, or its create), and a change waits for every
   earlier request on that post. A user's requests likewise wait for the user's
   sign-up if it is in the same batch. (With the core's guarantees the only case
   that occurs is a read and a delete of one post in one tick: the read must not
   overtake the delete, nor the delete the read.)
3. Everything else is independent and runs concurrently, up to the in-flight bound.

An action whose user has no successful sign-up, or whose target post was never
created on the server (its create failed for good), is not sent: it is logged
as skipped.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any

import numpy as np
from attrs import define, field
from numpy.typing import NDArray

from simcore.actions import KIND_NAMES, ActionBatch, ActionKind
from simcore.config import Config
from simcore.content import post_text
from simcore.errors import BackendError
from simcore.routes import CompiledRoute, compile_routes
from simcore.user import user_names

from .idmap import IdMap, as_server_id

_TARGETED = (ActionKind.READ_POST, ActionKind.UPDATE_POST, ActionKind.DELETE_POST)
_CHANGES = (ActionKind.CREATE_POST, ActionKind.UPDATE_POST, ActionKind.DELETE_POST)
_SAFE_METHODS = ("GET", "HEAD")


@define
class Request:
    """One request, ready to send: ``path`` is relative to the backend's target."""

    method: str
    path: str
    body: bytes | None
    headers: dict[str, str]


@define
class Prepared:
    """Per-batch facts computed once before sending: content versions, names, dependencies."""

    batch: ActionBatch
    versions: NDArray[np.int32]
    names: dict[int, str]
    deps: dict[int, tuple[int, ...]] = field(factory=dict)

    @property
    def awaited(self) -> set[int]:
        """Positions that some later request waits for."""
        return {d for ds in self.deps.values() for d in ds}


def dependencies(batch: ActionBatch) -> dict[int, tuple[int, ...]]:
    """For each position that must wait, the earlier positions it waits for (the ordering rule)."""
    n = len(batch)
    if n < 2:
        return {}
    kind, post, user = batch.kind, batch.post.astype(np.int64), batch.user.astype(np.int64)
    touches = np.isin(kind, (*_TARGETED, ActionKind.CREATE_POST)) & (post >= 0)
    changes = np.isin(kind, _CHANGES)
    # posts touched twice or more in this batch with at least one change among the touches
    ids, counts = np.unique(post[touches], return_counts=True)
    changed = np.unique(post[touches & changes])
    shared = np.intersect1d(ids[counts > 1], changed)
    candidates = touches & np.isin(post, shared)
    signups = kind == ActionKind.SIGN_UP
    joined = np.intersect1d(user[signups], user[~signups])
    user_bound = np.isin(user, joined)
    if not candidates.any() and not user_bound.any():
        return {}
    deps: dict[int, list[int]] = {}
    last_change: dict[tuple[str, int], int] = {}
    readers: dict[tuple[str, int], list[int]] = {}
    for i in np.flatnonzero(candidates | user_bound).tolist():
        resources: list[tuple[tuple[str, int], bool]] = []
        if user_bound[i]:
            resources.append((("user", int(user[i])), bool(signups[i])))
        if candidates[i]:
            resources.append((("post", int(post[i])), bool(changes[i])))
        for res, is_change in resources:
            waits = deps.setdefault(i, [])
            if res in last_change:
                waits.append(last_change[res])
            if is_change:
                waits.extend(readers.pop(res, []))
                last_change[res] = i
            else:
                readers.setdefault(res, []).append(i)
    return {i: tuple(sorted(set(w))) for i, w in deps.items() if w}


class Rest:
    """Builds requests from actions and learns ids from answers, for one run."""

    def __init__(self, config: Config, seed: int, nonce: str | None = None) -> None:
        self.seed = seed
        self.nonce = nonce or secrets.token_hex(6)  # keeps idempotency keys unique per run
        compiled = compile_routes(config.backend.routes)
        self.routes: list[CompiledRoute] = [compiled[name] for name in KIND_NAMES]
        self.auth_header = config.backend.auth_header
        self.auth_format = config.backend.auth_format
        self.ids = IdMap()

    # -- before sending ------------------------------------------------------------

    def prepare(self, batch: ActionBatch) -> Prepared:
        """Content versions (in batch order), display names where routes need them, dependencies."""
        kind = batch.kind
        versions = np.ones(len(batch), np.int32)
        updates = np.flatnonzero(kind == ActionKind.UPDATE_POST)
        creates = np.flatnonzero(kind == ActionKind.CREATE_POST)
        if len(creates):
            self.ids.next_versions(batch.post[creates])  # a create is version 1
        if len(updates):
            versions[updates] = self.ids.next_versions(batch.post[updates])
        wants_name = np.array(["name" in r.needs for r in self.routes])[kind]
        names: dict[int, str] = {}
        if wants_name.any():
            where = np.flatnonzero(wants_name)
            names = dict(zip(where.tolist(), user_names(self.seed, batch.user[where])))
        return Prepared(batch, versions, names, dependencies(batch))

    def request(self, prepared: Prepared, i: int) -> Request | None:
        """The request for action ``i``, or None if it cannot be sent (a skipped action)."""
        batch = prepared.batch
        k = int(batch.kind[i])
        route = self.routes[k]
        user = int(batch.user[i])
        ids = self.ids
        headers: dict[str, str] = {}
        if k != ActionKind.SIGN_UP:
            if not ids.is_signed(user):
                return None
            token = ids.token(user)
            if token is not None:
                headers[self.auth_header] = self.auth_format.replace("{token}", token)
        needs = route.needs
        values: dict[str, Any] = {}
        if "user" in needs:
            values["user"] = user
        if "name" in needs:
            values["name"] = prepared.names[i]
        if "user_id" in needs:
            server_user = ids.server_user(user)
            if server_user is None:
                return None
            values["user_id"] = server_user
        core_post = int(batch.post[i])
        if k in _TARGETED:
            target = ids.server_post(core_post)
            if target is None:
                return None
            values["id"] = target
        if "content" in needs:
            values["content"] = post_text(self.seed, core_post, int(prepared.versions[i]))
        body = route.body(values)
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        if route.method not in _SAFE_METHODS:
            headers["Idempotency-Key"] = f"simcore-{self.nonce}-{batch.seq0 + i}"
        return Request(route.method, route.path(values), data, headers)

    # -- after the answer ----------------------------------------------------------

    def record(
        self, prepared: Prepared, i: int, status: int, body: bytes, headers: Mapping[str, str]
    ) -> int:
        """Learn from the final answer to action ``i``; return the server id for the outcome (or -1)."""
        batch = prepared.batch
        k = int(batch.kind[i])
        if k in _TARGETED:
            sid = self.ids.server_post(int(batch.post[i]))
            return sid if isinstance(sid, int) and 200 <= status < 300 else -1
        if not 200 <= status < 300 or k not in (ActionKind.SIGN_UP, ActionKind.CREATE_POST):
            return -1
        route = self.routes[k]
        data: Any = None
        if route.id_field or route.token_field:
            try:
                data = json.loads(body) if body else None
            except ValueError:
                data = None
        new_id = as_server_id(route.get_id(data)) if route.id_field else None
        if new_id is None:
            location = headers.get("Location") or headers.get("location")
            if location:
                new_id = as_server_id(location.rstrip("/").rsplit("/", 1)[-1].split("?")[0])
        core = int(batch.user[i]) if k == ActionKind.SIGN_UP else int(batch.post[i])
        if k == ActionKind.SIGN_UP:
            token = None
            if route.token_field:
                raw = route.get_token(data)
                if not isinstance(raw, str) or not raw:
                    raise BackendError(
                        f"the answer to sign_up ({route.method} {route.path_template}, status {status}) "
                        f"has no token at field '{route.token_field}'; set backend.routes.sign_up.token "
                        'to the field holding it, or to "" for an API without tokens'
                    )
                token = raw
            self.ids.set_user(core, new_id, token)
        else:
            if new_id is None:
                raise BackendError(
                    f"the answer to create_post ({route.method} {route.path_template}, status {status}) "
                    f"has no id at field '{route.id_field}' and no Location header; set "
                    "backend.routes.create_post.id to the field holding the new post's id"
                )
            self.ids.set_post(core, new_id)
        return new_id if isinstance(new_id, int) else -1
