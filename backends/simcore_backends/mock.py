"""The in-memory backend: the reference for correctness and speed.

It keeps its own store (who signed up, each post's author and whether it was
deleted), independent of the core's world, and answers every action as the
reference API would: 201 for sign-ups and new posts, 200 for reads, feeds and
edits, 204 for deletes, 401 for unknown users, 403 for another author's post,
404 for a post that is missing or already deleted at that point of the batch.
A whole batch is executed with numpy; there is no Python loop per action.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from simcore.actions import (
    BROWSE_FEED,
    CREATE_POST,
    DELETE_POST,
    READ_POST,
    SIGN_UP,
    UPDATE_POST,
    ActionBatch,
)
from simcore.backend import BackendContext, Outcomes


def _grow(array: NDArray[np.int32], size: int, fill: int) -> NDArray[np.int32]:
    if size <= len(array):
        return array
    grown = np.full(max(size, 2 * len(array)), fill, dtype=array.dtype)
    grown[: len(array)] = array
    return grown


class MockBackend:
    """Executes batches against in-memory arrays."""

    name = "mock"

    def __init__(self) -> None:
        self.users = 0  # users signed up; ids are dense, in sign-up order
        self.n_posts = 0
        self.author = np.zeros(1024, dtype=np.int32)
        self.deleted_tick = np.full(1024, -1, dtype=np.int32)
        self.views = np.zeros(1024, dtype=np.int32)
        self.signed_up = np.zeros(1024, dtype=np.int32)

    def open(self, context: BackendContext) -> None:
        """Nothing to acquire."""

    def close(self) -> None:
        """Nothing to release."""

    def execute(self, batch: ActionBatch) -> Outcomes:
        """Answer every action of ``batch`` in order."""
        n = len(batch)
        kind, user, post = batch.kind, batch.user.astype(np.int64), batch.post.astype(np.int64)
        status = np.zeros(n, dtype=np.int16)
        server_id = np.full(n, -1, dtype=np.int64)
        position = np.arange(n)

        signups = np.flatnonzero(kind == SIGN_UP)
        top_user = int(user.max()) + 1 if n else 0
        self.signed_up = _grow(self.signed_up, top_user, 0)
        # a user is known from its sign-up's position in this batch on, or from before
        known_from = np.where(self.signed_up[user] > 0, -1, n)
        if len(signups):
            first = np.full(top_user, n, dtype=np.int64)
            np.minimum.at(first, user[signups], signups)
            known_from = np.minimum(known_from, first[user])
        authorised = known_from < position
        authorised[signups] = True
        status[signups] = 201
        server_id[signups] = user[signups]

        creates = np.flatnonzero((kind == CREATE_POST) & authorised)
        new_ids = self.n_posts + np.arange(len(creates))
        total = self.n_posts + len(creates)
        self.author = _grow(self.author, total, 0)
        self.deleted_tick = _grow(self.deleted_tick, total, -1)
        self.views = _grow(self.views, total, 0)
        self.author[new_ids] = user[creates]
        status[creates] = 201
        server_id[creates] = new_ids
        born_at = creates  # a new post exists from its creation's position in the batch on

        targeted = np.flatnonzero(
            authorised & ((kind == READ_POST) | (kind == UPDATE_POST) | (kind == DELETE_POST))
        )
        target = post[targeted]
        in_range = (target >= 0) & (target < total)
        exists = in_range.copy()
        fresh = in_range & (target >= self.n_posts)
        exists[fresh] = born_at[target[fresh] - self.n_posts] < targeted[fresh]
        exists[exists] &= self.deleted_tick[target[exists]] < 0
        owner = np.zeros(len(targeted), dtype=bool)
        owner[exists] = self.author[target[exists]] == user[targeted[exists]]
        # the first delete by the author removes the post for every later action of the batch
        is_delete = kind[targeted] == DELETE_POST
        gone_ids, gone_at = _first_delete_positions(
            post, targeted[is_delete], (exists & owner)[is_delete]
        )
        if len(gone_ids):
            where = np.minimum(np.searchsorted(gone_ids, target), len(gone_ids) - 1)
            exists &= ~((gone_ids[where] == target) & (gone_at[where] < targeted))
            owner &= exists

        is_read = kind[targeted] == READ_POST
        needs_owner = ~is_read
        code = np.where(kind[targeted] == DELETE_POST, 204, 200)
        result = np.where(~exists, 404, np.where(needs_owner & ~owner, 403, code))
        status[targeted] = result
        server_id[targeted] = np.where(exists, target, -1)

        feeds = np.flatnonzero((kind == BROWSE_FEED) & authorised)
        status[feeds] = 200
        status[~authorised] = 401

        self.n_posts = total
        ok = result < 300
        reads_ok = targeted[is_read & ok]
        viewed, times = np.unique(post[reads_ok], return_counts=True)
        self.views[viewed] += times.astype(np.int32)
        done_deletes = targeted[(kind[targeted] == DELETE_POST) & ok]
        self.deleted_tick[post[done_deletes]] = batch.tick
        fresh_users = user[signups][self.signed_up[user[signups]] == 0]
        self.signed_up[fresh_users] = 1
        self.users += len(np.unique(fresh_users))
        out = Outcomes.ok(n, status)
        out.server_id = server_id
        return out

    def state_arrays(self) -> dict[str, NDArray[np.int32]]:
        """The store as arrays, for snapshots (see :mod:`simcore.snapshot`)."""
        n = self.n_posts
        return {
            "signed_up": self.signed_up.copy(),
            "author": self.author[:n].copy(),
            "deleted_tick": self.deleted_tick[:n].copy(),
            "views": self.views[:n].copy(),
        }

    def load_state(self, arrays: dict[str, NDArray[np.int32]]) -> None:
        """Replace the store with one saved by :meth:`state_arrays`."""
        n = len(arrays["author"])
        self.n_posts = n
        self.author = _grow(np.zeros(16, np.int32), n, 0)
        self.deleted_tick = _grow(np.full(16, -1, np.int32), n, -1)
        self.views = _grow(np.zeros(16, np.int32), n, 0)
        self.author[:n] = arrays["author"]
        self.deleted_tick[:n] = arrays["deleted_tick"]
        self.views[:n] = arrays["views"]
        self.signed_up = np.asarray(arrays["signed_up"], dtype=np.int32).copy()
        self.users = int(self.signed_up.sum())

    def live_posts(self) -> NDArray[np.int64]:
        """Ids of the posts that exist and are not deleted."""
        return np.flatnonzero(self.deleted_tick[: self.n_posts] < 0)


def _first_delete_positions(
    post: NDArray[np.int64], deletes: NDArray[np.intp], valid: NDArray[np.bool_]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(sorted post ids, batch position of their first valid delete) for this batch."""
    d = deletes[valid]
    if len(d) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    ids, first = np.unique(post[d], return_index=True)
    return ids.astype(np.int64), d[first].astype(np.int64)
