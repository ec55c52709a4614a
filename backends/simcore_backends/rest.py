"""Actions as REST requests, answers as id mappings: what the testclient and http backends share.

:class:`Rest` turns action ``i`` of a batch into a :class:`Request` through the
configured routes (:mod:`simcore.scenario.routes`), with the user's bearer token, the
server's id of the target post, and generated text (:mod:`simcore.core.content`); it
reads the server's answers through :mod:`simcore_backends.answers` into an
:class:`IdMap` (which snapshots keep, so a resumed run knows every token and id).
Routes may use ``{run}``, the run's namespace (``backend.namespace``, which the
run fills with a random token when it is unset).

The order in which concurrent requests must take effect is
:mod:`simcore_backends.ordering`'s business.

An action whose user has no successful sign-up, or whose target post was never
created on the server (its create failed for good), is not sent: it is logged
as skipped.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import numpy as np
from attrs import define
from numpy.typing import NDArray

from simcore.core.actions import FOLLOWS, PATH_POST, SHARES, ActionBatch
from simcore.core.content import post_text, post_title
from simcore.core.users import user_names
from simcore.scenario.kinds import MAX_KINDS, ActionKind
from simcore.scenario.routes import LOG_IN, CompiledRoute, compile_routes
from simcore.scenario.schema import Config
from simcore.seam.contract import ErrorKind, Outcomes

from .answers import Learner
from .idmap import IdMap

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
    """Per-batch facts computed once before sending: content versions and display names."""

    batch: ActionBatch
    versions: NDArray[np.int32]
    names: dict[int, str]


class Rest:
    """Builds requests from actions and learns ids from answers, for one run."""

    def __init__(self, config: Config, seed: int, nonce: str | None = None) -> None:
        self.seed = seed
        self.nonce = nonce or secrets.token_hex(6)  # keeps idempotency keys unique per run
        compiled = compile_routes(config.backend.routes)
        kinds = config.kind_set
        self.kind_names = kinds.names
        self.routes: list[CompiledRoute] = [compiled[name] for name in kinds.names]
        self.log_in = compiled.get(LOG_IN)
        self._wants_name = np.zeros(MAX_KINDS, bool)  # by kind code
        self._wants_name[: len(self.routes)] = ["name" in r.needs for r in self.routes]
        #: what each kind creates, and the built-in kind it behaves as (targets like), by code
        self._creates = tuple(spec.creates for spec in kinds.specs)
        self._makes_post = np.zeros(MAX_KINDS, bool)
        self._makes_post[list(kinds.where(creates="post"))] = True
        self._base = kinds.base
        self._ref_is_post = np.zeros(MAX_KINDS, bool)
        self._ref_is_post[list(kinds.where(target="shared_post"))] = True
        self.tag_names = config.tags.names
        self.auth_header = config.backend.auth_header
        self.auth_format = config.backend.auth_format
        # {run}: the run fills backend.namespace (run.builder.with_namespace); else this backend's nonce
        self.namespace = config.backend.namespace or self.nonce
        self.ids = IdMap()
        self.learner = Learner(self.routes, self.log_in, self.ids, kinds)

    def state_arrays(self) -> dict[str, NDArray[Any]]:
        """What a snapshot keeps: the id map (tokens, server ids, content versions)."""
        return self.ids.state_arrays()

    def load_state(self, arrays: dict[str, NDArray[Any]]) -> None:
        """Continue from a snapshot's id map."""
        self.ids.load_state(arrays)

    # -- before sending ------------------------------------------------------------

    def prepare(self, batch: ActionBatch) -> Prepared:
        """Content versions (in batch order) and display names where routes need them."""
        kind = batch.kind
        versions = np.ones(len(batch), np.int32)
        updates = np.flatnonzero(kind == ActionKind.UPDATE_POST)
        # every action that makes a post has its new id in ``post`` (-1: a share of a post gone)
        creates = np.flatnonzero(self._makes_post[kind] & (batch.post >= 0))
        if len(creates):
            self.ids.next_versions(batch.post[creates])  # a create is version 1
        if len(updates):
            versions[updates] = self.ids.next_versions(batch.post[updates])
        wants_name = self._wants_name[kind]
        names: dict[int, str] = {}
        if wants_name.any():
            where = np.flatnonzero(wants_name)
            names = dict(zip(where.tolist(), user_names(self.seed, batch.user[where])))
        return Prepared(batch, versions, names)

    def request_or_skip(self, prepared: Prepared, i: int, out: Outcomes) -> Request | None:
        """The request for action ``i``; if it cannot be sent, mark it skipped in ``out``."""
        request = self.request(prepared, i)
        if request is None:
            out.error[i] = ErrorKind.SKIPPED
        return request

    def finish(
        self,
        prepared: Prepared,
        i: int,
        out: Outcomes,
        sent: tuple[Request, int],
        answer: tuple[int, int, bytes, Any],
        latency_ms: float,
    ) -> Request | None:
        """Write action ``i``'s outcome into ``out``: the request sent and when (epoch ms),
        the answer (status, error, body, headers) and its latency; if the server answered,
        record what it said (ids, tokens). Returns the ``log_in`` request to send next when a
        sign-up was answered with one of its ``exists`` statuses (then :meth:`finish_log_in`
        writes the outcome), else None."""
        request, sent_at_ms = sent
        status, error, body, headers = answer
        out.status[i] = status
        out.error[i] = error
        out.latency_ms[i] = latency_ms
        out.sent_path[i] = request.path
        out.sent_at[i] = sent_at_ms
        out.response_bytes[i] = len(body) if status else -1
        if error != ErrorKind.NONE:
            return None
        batch = prepared.batch
        if int(batch.kind[i]) == ActionKind.SIGN_UP and status in self.routes[0].exists:
            return self.log_in_request(prepared, i)
        self.learner.settle(batch, i, out, status, body, headers)
        return None

    def request(self, prepared: Prepared, i: int) -> Request | None:
        """The request for action ``i``, or None if it cannot be sent (a skipped action)."""
        batch = prepared.batch
        k = int(batch.kind[i])
        route = self.routes[k]
        base = self._base[k]  # a kind of the config's own targets as the kind it behaves as
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
        if "run" in needs:
            values["run"] = self.namespace
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
        if base in PATH_POST:
            target = ids.server_post(core_post)
            if target is None:
                return None
            values["id"] = target
        if base in SHARES:
            ref = ids.server_post(int(batch.ref[i]))
            if ref is None:
                return None
            values["ref_id"] = ref
        if base in FOLLOWS:
            followee = ids.server_user(int(batch.ref[i]))
            if followee is None:
                return None
            values["target_id"] = followee
        # the post the action acts on or creates (a share's original when it creates none)
        own_post = core_post if core_post >= 0 or not self._ref_is_post[k] else int(batch.ref[i])
        version = int(prepared.versions[i])
        if "content" in needs:  # text that makes no post (a comment, say) is keyed by its action
            key = core_post if core_post >= 0 else -1 - (batch.seq0 + i)
            values["content"] = post_text(self.seed, key, version)
        if "post" in needs:
            values["post"] = own_post
        if "tag" in needs:
            tag = int(batch.tag[i])
            values["tag"] = self.tag_names[tag] if 0 <= tag < len(self.tag_names) else ""
        if "title" in needs:
            values["title"] = post_title(self.seed, own_post, version if core_post >= 0 else 1)
        body = route.body(values)
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        if route.method not in _SAFE_METHODS:
            headers["Idempotency-Key"] = f"simcore-{self.nonce}-{batch.seq0 + i}"
        return Request(route.method, route.path(values), data, headers)

    def log_in_request(self, prepared: Prepared, i: int) -> Request | None:
        """The ``log_in`` request for sign-up ``i`` (whose user already exists on the server)."""
        route = self.log_in
        if route is None:
            return None
        user = int(prepared.batch.user[i])
        values: dict[str, Any] = {"user": user, "run": self.namespace}
        if "name" in route.needs:
            values["name"] = prepared.names.get(i) or user_names(self.seed, np.array([user]))[0]
        headers: dict[str, str] = {}
        body = route.body(values)
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        return Request(route.method, route.path(values), data, headers)

    # -- after the answer ----------------------------------------------------------

    def finish_log_in(
        self,
        prepared: Prepared,
        i: int,
        out: Outcomes,
        answer: tuple[int, int, bytes, Any],
        latency_ms: float,
    ) -> None:
        """Write the outcome of sign-up ``i`` from its log-in's answer; record the user if it
        logged in."""
        status, error, body, _headers = answer
        out.status[i] = status
        out.error[i] = error
        out.latency_ms[i] = latency_ms
        out.response_bytes[i] = len(body) if status else -1
        if error == ErrorKind.NONE:
            self.learner.logged_in(prepared.batch, i, out, status, body)
