"""The in-memory backend: the reference for correctness and speed.

It keeps its own store (who signed up, each post's author and whether it was
deleted), independent of the core's world, and answers every action as the
reference API would: 201 for sign-ups and new posts, 200 for reads, feeds and
edits, 204 for deletes, 401 for unknown users, 403 for another author's post,
404 for a post that is missing or already deleted at that point of the batch.
Likes answer 201, or 409 if the user already liked the post; reposts and quotes
201 with a new post when their target exists (404 otherwise); follows 201, 409
if already following, 404 for an unknown user, 422 for oneself; unfollows 204,
or 404 without such a follow; the following feed 200.
A whole batch is executed with numpy; there is no Python loop per action.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from simcore.actions import (
    BROWSE_FEED,
    BROWSE_FOLLOWING,
    CREATE_POST,
    DELETE_POST,
    FOLLOW_USER,
    LIKE_POST,
    QUOTE_POST,
    READ_POST,
    REPOST,
    SIGN_UP,
    UNFOLLOW_USER,
    UPDATE_POST,
    ActionBatch,
)
from simcore.backend import BackendContext, Outcomes
from simcore.edges import EdgeSet, edge_keys


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
        self.likes = EdgeSet()
        self.follows = EdgeSet()

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

        old_posts = self.n_posts
        # reposts and quotes target posts that existed before the batch: they succeed unless
        # the target is missing or its author deleted it earlier in the batch
        shares = np.flatnonzero(((kind == REPOST) | (kind == QUOTE_POST)) & authorised)
        share_target = batch.ref[shares].astype(np.int64)
        share_ok = self._exists_before(share_target, old_posts)
        old_deletes = np.flatnonzero((kind == DELETE_POST) & authorised)
        d_target = post[old_deletes]
        d_ok = self._exists_before(d_target, old_posts)
        d_ok[d_ok] &= self.author[d_target[d_ok]] == user[old_deletes[d_ok]]
        gone_ids, gone_at = _first_delete_positions(post, old_deletes, d_ok)
        if len(gone_ids) and len(shares):
            where = np.minimum(np.searchsorted(gone_ids, share_target), len(gone_ids) - 1)
            share_ok &= ~((gone_ids[where] == share_target) & (gone_at[where] < shares))
        status[shares] = np.where(share_ok, 201, 404)

        creates = np.sort(
            np.concatenate([np.flatnonzero((kind == CREATE_POST) & authorised), shares[share_ok]])
        )
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
            authorised
            & ((kind == READ_POST) | (kind == UPDATE_POST) | (kind == DELETE_POST) | (kind == LIKE_POST))
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
        is_like = kind[targeted] == LIKE_POST
        needs_owner = ~is_read & ~is_like
        code = np.where(kind[targeted] == DELETE_POST, 204, np.where(is_like, 201, 200))
        result = np.where(~exists, 404, np.where(needs_owner & ~owner, 403, code))
        like_rows = np.flatnonzero(is_like & (result == 201))
        like_keys = edge_keys(user[targeted[like_rows]], target[like_rows])
        again = self.likes.contains(like_keys) | _repeated(like_keys)
        result[like_rows[again]] = 409
        self.likes.add(like_keys[~again], checked=True)
        status[targeted] = result
        server_id[targeted] = np.where(exists, target, -1)

        self._follow(batch, user, authorised, status, server_id, known_from)
        feeds = np.flatnonzero(((kind == BROWSE_FEED) | (kind == BROWSE_FOLLOWING)) & authorised)
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

    def _exists_before(self, target: NDArray[np.int64], old_posts: int) -> NDArray[np.bool_]:
        """Which targets are posts that existed, undeleted, before this batch."""
        ok = (target >= 0) & (target < old_posts)
        ok[ok] &= self.deleted_tick[target[ok]] < 0
        return ok

    def _follow(
        self,
        batch: ActionBatch,
        user: NDArray[np.int64],
        authorised: NDArray[np.bool_],
        status: NDArray[np.int16],
        server_id: NDArray[np.int64],
        known_from: NDArray[np.int64],
    ) -> None:
        """Follows and unfollows, in batch order (a user acts once a tick, so the edges of
        one batch are distinct unless the batch repeats a follower)."""
        kind, other = batch.kind, batch.ref.astype(np.int64)
        position = np.arange(len(batch))
        rows = np.flatnonzero(((kind == FOLLOW_USER) | (kind == UNFOLLOW_USER)) & authorised)
        if len(rows) == 0:
            return
        target = other[rows]
        # the target must have signed up before this point of the batch
        signed = np.zeros(len(rows), dtype=bool)
        valid = (target >= 0) & (target < len(self.signed_up))
        signed[valid] = self.signed_up[target[valid]] > 0
        joined = np.full(int(max(target.max(), user.max())) + 1, len(batch), dtype=np.int64)
        joined[user] = np.minimum(joined[user], np.where(known_from < 0, -1, known_from))
        signed |= valid & (joined[np.maximum(target, 0)] < position[rows])
        keys = edge_keys(user[rows], np.maximum(target, 0))
        follow = kind[rows] == FOLLOW_USER
        self_follow = target == user[rows]
        present = self.follows.contains(keys)
        repeated = _repeated(keys)
        result = np.where(
            follow,
            np.where(~signed, 404, np.where(self_follow, 422, np.where(present | repeated, 409, 201))),
            np.where(present & ~repeated, 204, 404),
        )
        status[rows] = result
        server_id[rows] = np.where(signed, target, -1)
        self.follows.add(keys[follow & (result == 201)], checked=True)
        self.follows.remove(keys[~follow & (result == 204)])

    def state_arrays(self) -> dict[str, NDArray[np.int32]]:
        """The store as arrays, for snapshots (see :mod:`simcore.snapshot`)."""
        n = self.n_posts
        return {
            "signed_up": self.signed_up.copy(),
            "author": self.author[:n].copy(),
            "deleted_tick": self.deleted_tick[:n].copy(),
            "views": self.views[:n].copy(),
            "likes": self.likes.keys(),
            "follows": self.follows.keys(),
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
        empty = np.zeros(0, np.int64)
        self.likes.load({"main": arrays.get("likes", empty), "buffer": empty})
        self.follows.load({"main": arrays.get("follows", empty), "buffer": empty})

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


def _repeated(keys: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Which keys already occurred earlier in the array."""
    seen = np.zeros(len(keys), dtype=bool)
    if len(keys):
        _, first = np.unique(keys, return_index=True)
        seen[:] = True
        seen[first] = False
    return seen
