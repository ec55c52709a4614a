"""A tiny social API in memory, written only from simcore's public backend contract.

It answers like a small server would: a sign-up is 201; a new post (a create, a
repost or quote) is 201 with the server's own id for it; a read is 200, or 404
when the post is not there (never created, or deleted); a delete is 204, or 404;
everything else is 200. An action whose user never signed up here is not sent:
it is reported as skipped. The store (who signed up, which posts exist) decides
later answers, so the backend is ``Stateful`` and snapshots carry it.

One plain Python loop per action keeps it readable; a fast backend would work on
the batch's numpy arrays as a whole (see simcore's built-in mock).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from simcore.core.actions import ActionBatch
from simcore.scenario.kinds import KINDS, ActionKind
from simcore.seam.contract import BackendContext, ErrorKind, Outcomes, Stateful, SyncBackend


class ExampleBackend(SyncBackend, Stateful):
    """``simcore run --backend example``: answers a whole batch per call, in batch order."""

    name = "example"

    def __init__(self) -> None:
        self.users: set[int] = set()  # core user ids that signed up
        self.server_ids: dict[int, int] = {}  # core post id -> this server's post id
        self.live: set[int] = set()  # server post ids that exist
        self.next_id = 1

    def open(self, context: BackendContext) -> None:
        """Nothing to connect to; a real backend checks its target here and raises
        simcore.errors.BackendError with a clear message if it cannot reach it."""

    def close(self) -> None:
        """Nothing to release."""

    def execute(self, batch: ActionBatch) -> Outcomes:
        """One outcome per action, in the batch's order; effects in that order too."""
        out = Outcomes.pending(len(batch))
        rows = zip(batch.kind.tolist(), batch.user.tolist(), batch.post.tolist())
        for i, (code, user, post) in enumerate(rows):
            spec = KINDS[code]
            if spec.creates != "user" and user not in self.users:
                out.error[i] = ErrorKind.SKIPPED  # status 0, 0 attempts: never sent
                continue
            out.attempts[i] = 1
            out.status[i], out.server_id[i] = self._answer(spec.kind, spec.creates, user, post)
        return out

    def _answer(self, kind: ActionKind, creates: str, user: int, post: int) -> tuple[int, int]:
        """The status and server id of one action, applying its effect."""
        if creates == "user":
            self.users.add(user)
            return 201, user
        if creates == "post" and post >= 0:  # a create, repost or quote: ``post`` is its new id
            new_id = self.next_id
            self.next_id += 1
            self.server_ids[post] = new_id
            self.live.add(new_id)
            return 201, new_id
        server_id = self.server_ids.get(post, -1)
        there = server_id in self.live
        if kind == ActionKind.READ_POST:
            return (200, server_id) if there else (404, -1)
        if kind == ActionKind.DELETE_POST:
            if not there:
                return 404, -1
            self.live.discard(server_id)
            return 204, server_id
        return 200, -1

    def state_arrays(self) -> dict[str, NDArray[Any]]:
        """The store as plain arrays (snapshots load without pickle)."""
        core = np.array(sorted(self.server_ids), dtype=np.int64)
        return {
            "users": np.array(sorted(self.users), dtype=np.int64),
            "core_posts": core,
            "server_posts": np.array([self.server_ids[p] for p in core.tolist()], dtype=np.int64),
            "live": np.array(sorted(self.live), dtype=np.int64),
            "next_id": np.array([self.next_id], dtype=np.int64),
        }

    def load_state(self, arrays: dict[str, NDArray[Any]]) -> None:
        """Replace the store with one saved by :meth:`state_arrays`."""
        self.users = set(arrays["users"].tolist())
        self.server_ids = dict(zip(arrays["core_posts"].tolist(), arrays["server_posts"].tolist()))
        self.live = set(arrays["live"].tolist())
        self.next_id = int(arrays["next_id"][0])
