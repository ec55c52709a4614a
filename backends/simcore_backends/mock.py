"""The in-memory backend: the reference for correctness and speed.

It keeps its own store (who signed up, each post's author and whether it was
deleted), independent of the core's world, and answers every action as the
reference API would: 201 for sign-ups and new posts, 200 for reads, feeds and
edits, 204 for deletes, 403 for another author's post, 404 for a post that is
missing or already deleted at that point of the batch. Its post ids are the
core's. A whole batch is executed with numpy; there is no Python loop per action.

Social actions: a like is 201, or 409 if the user liked the post before (404 for
a missing post); a repost or quote is 201 with a new post when its target exists
(404 otherwise); a follow is 201, 409 if already following, 422 for oneself; an
unfollow 204, or 404 without such a follow; the following feed 200.

With a ``[faults]`` table it injects failures exactly as the testclient backend
does (see :mod:`simcore.seam.faults`): a failed attempt has no effect and is retried
under the backend's retry policy. An action whose user never signed up, or whose
target post was never created (its sign-up or create failed for good), is not
sent: status 0, error ``skipped``, 0 attempts.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from simcore.core.actions import ActionBatch
from simcore.core.arrays import grow
from simcore.core.edges import EdgeSet, edge_keys
from simcore.scenario.kinds import ActionKind
from simcore.seam import faults
from simcore.seam.contract import BackendContext, ErrorKind, Outcomes, Stateful, SyncBackend
from simcore.seam.retry import RetryPolicy


def _first_unset(flags: NDArray[np.int32], start: int, end: int) -> int:
    """The first index from ``start`` on (below ``end``) whose flag is 0, else ``end``."""
    if start >= end or flags[start] == 0:
        return start
    step = 1024
    while start < end:
        chunk = flags[start : min(start + step, end)]
        zero = np.flatnonzero(chunk == 0)
        if len(zero):
            return start + int(zero[0])
        start += len(chunk)
        step *= 2
    return end


class MockBackend(SyncBackend, Stateful):
    """Executes batches against in-memory arrays."""

    name = "mock"

    def __init__(self) -> None:
        self.n_posts = 0  # one past the highest post id seen
        self.author = np.zeros(1024, dtype=np.int32)
        self.created = np.zeros(1024, dtype=np.int32)  # 1 if the post's create went through
        self.deleted_tick = np.full(1024, -1, dtype=np.int32)
        self.views = np.zeros(1024, dtype=np.int32)
        self.signed_up = np.zeros(1024, dtype=np.int32)
        # every user below ``known_below`` signed up, and every post below ``created_below``
        # was created: the common case needs no lookup in the big arrays
        self.known_below = 0
        self.created_below = 0
        self.injector: faults.Injector | None = None
        self.policy = RetryPolicy()
        self.likes = EdgeSet(indexed=True)
        self.follows = EdgeSet()

    def open(self, context: BackendContext) -> None:
        """Set up fault injection from the config, if it asks for any."""
        cfg = context.config
        self.policy = RetryPolicy.from_config(cfg.backend, context.seed)
        self.injector = faults.Injector.from_config(cfg, context.seed)

    def close(self) -> None:
        """Nothing to release."""

    def execute(self, batch: ActionBatch) -> Outcomes:
        """Answer every action of ``batch`` in order."""
        n = len(batch)
        kind, user, post = batch.kind, batch.user.astype(np.int64), batch.post.astype(np.int64)
        status = np.zeros(n, dtype=np.int16)
        server_id = np.full(n, -1, dtype=np.int64)
        position = np.arange(n)
        if self.injector is not None:
            attempts, final, latency = self.injector.resolve(batch.seq, self.policy)
        else:
            attempts = np.ones(n, np.uint8)
            final = np.zeros(n, np.uint8)
            latency = np.zeros(n)
        performed = final == faults.OK

        is_signup = kind == ActionKind.SIGN_UP
        signups = np.flatnonzero(is_signup & performed)
        top_user = int(user.max()) + 1 if n else 0
        self.signed_up = grow(self.signed_up, top_user, 0)
        known_from = self._known_from(user, user[signups], signups, n)
        skipped = ~is_signup & (known_from >= position)
        status[signups] = 201
        server_id[signups] = user[signups]

        is_create = kind == ActionKind.CREATE_POST
        is_share = (kind == ActionKind.REPOST) | (kind == ActionKind.QUOTE_POST)
        creates = np.flatnonzero(is_create & ~skipped & performed)
        new_ids = post[creates]
        making = is_create | (is_share & (post >= 0))
        total = max(self.n_posts, int(post[making].max()) + 1 if making.any() else 0)
        # likes act on ``post``; reposts and quotes on ``ref`` (their ``post`` is the new id)
        goal = np.where(is_share, batch.ref.astype(np.int64), post)
        total = max(total, int(goal[is_share].max()) + 1 if is_share.any() else 0)
        for name, fill in (("author", 0), ("created", 0), ("deleted_tick", -1), ("views", 0)):
            setattr(self, name, grow(getattr(self, name), total, fill))
        self.author[new_ids] = user[creates]
        self.created[new_ids] = 1
        status[creates] = 201
        server_id[creates] = new_ids
        # batch position of this batch's creates, for ids from `base` on (only they can be new)
        base = min(self.n_posts, int(new_ids.min())) if len(new_ids) else total
        born_at = np.full(total - base, -1, dtype=np.int64)
        born_at[new_ids - base] = creates

        is_like = kind == ActionKind.LIKE_POST
        is_targeted = (
            (kind == ActionKind.READ_POST)
            | (kind == ActionKind.UPDATE_POST)
            | (kind == ActionKind.DELETE_POST)
            | is_like
            | is_share
        )
        in_range = (goal >= 0) & (goal < total)
        candidates = is_targeted & ~skipped
        never = candidates & ~in_range
        known = candidates & in_range
        unsure = np.flatnonzero(known & (goal >= self.created_below))
        never[unsure] = self.created[goal[unsure]] == 0
        skipped |= never  # the target was never created here: nothing to send
        targeted = np.flatnonzero(is_targeted & ~skipped)
        target = goal[targeted]
        # a post created in this batch exists from its creation's position on
        born = np.full(len(target), -1, dtype=np.int64)
        fresh = target >= base
        born[fresh] = born_at[target[fresh] - base]
        exists = (born < targeted) & (self.deleted_tick[target] < 0)
        tkind = kind[targeted]
        went = performed[targeted]
        is_read = tkind == ActionKind.READ_POST
        tshare = is_share[targeted]
        anyone = is_read | tshare | is_like[targeted]
        # only edits and deletes care who wrote the post
        owner = np.ones(len(target), dtype=bool)
        own_rows = np.flatnonzero(~anyone)
        owner[own_rows] = self.author[target[own_rows]] == user[targeted[own_rows]]
        # the first delete that goes through (author, post still there) removes the post
        deleting = targeted[(tkind == ActionKind.DELETE_POST) & exists & owner & went]
        if len(deleting):
            ids, first = np.unique(post[deleting], return_index=True)
            gone_at = deleting[first]
            # mark them deleted now; only actions on marked posts can come after their delete
            # (a mark can also be from an earlier slice of this tick: those already 404)
            self.deleted_tick[ids] = batch.tick
            maybe = np.flatnonzero(self.deleted_tick[target] == batch.tick)
            where = np.minimum(np.searchsorted(ids, target[maybe]), len(ids) - 1)
            hit = ids[where] == target[maybe]
            exists[maybe[hit]] &= ~(gone_at[where[hit]] < targeted[maybe[hit]])
        code = np.where(tkind == ActionKind.DELETE_POST, 204, 200)
        code = np.where(anyone & ~is_read, 201, code)
        result = np.where(~exists, 404, np.where(~anyone & ~owner, 403, code))
        result = self._likes(batch, targeted, result, went)
        status[targeted] = result
        server_id[targeted] = np.where(exists, target, -1)
        shared = targeted[tshare & went & (result == 201) & (post[targeted] >= 0)]
        self.author[post[shared]] = user[shared]
        self.created[post[shared]] = 1
        server_id[shared] = post[shared]

        skipped |= self._follows(batch, signups, performed, skipped, status, server_id)
        feeds = np.flatnonzero(
            ((kind == ActionKind.BROWSE_FEED) | (kind == ActionKind.BROWSE_FOLLOWING)) & ~skipped
        )
        status[feeds] = 200

        self.n_posts = total
        done = went & (result < 300)
        viewed, times = np.unique(target[is_read & done].astype(np.int32), return_counts=True)
        self.views[viewed] += times.astype(np.int32)
        self.signed_up[user[signups]] = 1
        self.known_below = _first_unset(self.signed_up, self.known_below, len(self.signed_up))
        self.created_below = _first_unset(self.created, self.created_below, total)

        error = np.zeros(n, np.uint8)
        failed = ~performed & ~skipped
        error[failed] = np.where(final[failed] == faults.TIMEOUT, ErrorKind.TIMEOUT, ErrorKind.INJECTED)
        if self.injector is not None:
            status[failed] = np.where(
                final[failed] == faults.TIMEOUT, 0, self.injector.faults.error_status
            )
        server_id[failed] = -1
        status[skipped] = 0
        error[skipped] = ErrorKind.SKIPPED
        attempts[skipped] = 0
        latency[skipped] = 0.0
        return Outcomes(
            status=status,
            latency_ms=latency.astype(np.float32),
            attempts=attempts,
            error=error,
            server_id=server_id,
        )

    def _known_from(
        self,
        ids: NDArray[np.int64],
        joined: NDArray[np.int64],
        signups: NDArray[np.intp],
        n: int,
    ) -> NDArray[np.int64]:
        """For each user id: -1 if it signed up before this batch, else the batch position of
        its first successful sign-up here (``joined`` at ``signups``, in batch order), else
        ``n``; ids outside the known range (negative, too large) are ``n``."""
        known_from = np.where((ids >= 0) & (ids < self.known_below), -1, n)
        unsure = np.flatnonzero((ids >= self.known_below) & (ids < len(self.signed_up)))
        known_from[unsure[self.signed_up[ids[unsure]] > 0]] = -1
        pending = np.flatnonzero(known_from == n)
        if len(joined) and len(pending):
            first_ids, first = np.unique(joined, return_index=True)
            where = np.minimum(np.searchsorted(first_ids, ids[pending]), len(first_ids) - 1)
            hit = first_ids[where] == ids[pending]
            known_from[pending[hit]] = signups[first[where[hit]]]
        return known_from

    def _likes(
        self,
        batch: ActionBatch,
        targeted: NDArray[np.intp],
        result: NDArray[np.int64],
        went: NDArray[np.bool_],
    ) -> NDArray[np.int64]:
        """409 for likes of a post the user liked before; record the others that went through."""
        rows = np.flatnonzero((batch.kind[targeted] == ActionKind.LIKE_POST) & (result == 201))
        if len(rows) == 0:
            return result
        keys = edge_keys(batch.user[targeted[rows]], batch.post[targeted[rows]])
        again = self.likes.contains(keys) | _repeated(keys)
        result[rows[again]] = 409
        self.likes.add(keys[~again & went[rows]], checked=True)
        return result

    def _follows(
        self,
        batch: ActionBatch,
        signups: NDArray[np.intp],
        performed: NDArray[np.bool_],
        skipped: NDArray[np.bool_],
        status: NDArray[np.int16],
        server_id: NDArray[np.int64],
    ) -> NDArray[np.bool_]:
        """Follows and unfollows in batch order; return the ones not sent (their target user
        never signed up)."""
        kind, user, other = batch.kind, batch.user.astype(np.int64), batch.ref.astype(np.int64)
        n = len(batch)
        not_sent = np.zeros(n, dtype=bool)
        is_follow = kind == ActionKind.FOLLOW_USER
        rows = np.flatnonzero((is_follow | (kind == ActionKind.UNFOLLOW_USER)) & ~skipped)
        if len(rows) == 0:
            return not_sent
        target = other[rows]
        # the target is known if it signed up before, or earlier in this batch
        signed = self._known_from(target, user[signups], signups, n) < rows
        not_sent[rows[~signed]] = True
        rows, target = rows[signed], target[signed]
        keys = edge_keys(user[rows], target)
        follow = is_follow[rows]
        present = self.follows.contains(keys)
        repeated = _repeated(keys)
        result = np.where(
            follow,
            np.where(target == user[rows], 422, np.where(present | repeated, 409, 201)),
            np.where(present & ~repeated, 204, 404),
        )
        status[rows] = result
        server_id[rows] = target
        went = performed[rows]
        self.follows.add(keys[follow & (result == 201) & went], checked=True)
        self.follows.remove(keys[~follow & (result == 204) & went])
        return not_sent

    def state_arrays(self) -> dict[str, NDArray[np.int32]]:
        """The store as arrays, for snapshots (see :mod:`simcore.run.snapshot`)."""
        n = self.n_posts
        return {
            "signed_up": self.signed_up.copy(),
            "author": self.author[:n].copy(),
            "created": self.created[:n].copy(),
            "deleted_tick": self.deleted_tick[:n].copy(),
            "views": self.views[:n].copy(),
            "likes": self.likes.keys(),
            "follows": self.follows.keys(),
        }

    def load_state(self, arrays: dict[str, NDArray[np.int32]]) -> None:
        """Replace the store with one saved by :meth:`state_arrays`."""
        n = len(arrays["author"])
        self.n_posts = n
        self.author = grow(np.zeros(16, np.int32), n, 0)
        self.created = grow(np.zeros(16, np.int32), n, 0)
        self.deleted_tick = grow(np.full(16, -1, np.int32), n, -1)
        self.views = grow(np.zeros(16, np.int32), n, 0)
        self.author[:n] = arrays["author"]
        self.created[:n] = arrays["created"]
        self.deleted_tick[:n] = arrays["deleted_tick"]
        self.views[:n] = arrays["views"]
        self.signed_up = np.asarray(arrays["signed_up"], dtype=np.int32).copy()
        self.known_below = _first_unset(self.signed_up, 0, len(self.signed_up))
        self.created_below = _first_unset(self.created, 0, n)
        empty = np.zeros(0, np.int64)
        self.likes.load({"main": arrays.get("likes", empty), "buffer": empty})
        self.follows.load({"main": arrays.get("follows", empty), "buffer": empty})

    def live_posts(self) -> NDArray[np.int64]:
        """Ids of the posts that exist and are not deleted."""
        m = self.n_posts
        return np.flatnonzero((self.created[:m] > 0) & (self.deleted_tick[:m] < 0))


def _repeated(keys: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Which keys already occurred earlier in the array."""
    seen = np.zeros(len(keys), dtype=bool)
    if len(keys):
        _, first = np.unique(keys, return_index=True)
        seen[:] = True
        seen[first] = False
    return seen
