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
from attrs import define
from numpy.typing import NDArray

from simcore.core.actions import ActionBatch
from simcore.core.arrays import grow
from simcore.core.edges import EdgeSet, edge_keys
from simcore.scenario.kinds import BUILT_IN, MAX_KINDS, ActionKind, KindSet
from simcore.seam import faults
from simcore.seam.contract import BackendContext, ErrorKind, Outcomes, Stateful, SyncBackend
from simcore.seam.retry import RetryPolicy

_NONE_BOOL = np.zeros(0, dtype=bool)
_NONE_INT = np.zeros(0, dtype=np.int64)


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


@define
class _KindTables:
    """Each kind's status when it goes through, and the groups of kinds the steps handle, as
    lookup tables over kind codes (from the run's kinds: a kind of the config's own is
    handled as the kind it behaves as, without its effects)."""

    ok_status: NDArray[np.int64]
    sign_up: NDArray[np.bool_]
    create: NDArray[np.bool_]
    share: NDArray[np.bool_]
    on_own_post: NDArray[np.bool_]  # only the author may
    targeted: NDArray[np.bool_]
    on_user: NDArray[np.bool_]  # follows and unfollows
    feed: NDArray[np.bool_]

    @classmethod
    def of(cls, kinds: KindSet) -> _KindTables:
        def table(*codes: int) -> NDArray[np.bool_]:
            out = np.zeros(MAX_KINDS, bool)
            out[list(codes)] = True
            return out

        ok = np.full(MAX_KINDS, 200, np.int64)
        ok[: len(kinds.specs)] = [spec.ok_status for spec in kinds.specs]
        share = table(*kinds.where(target="shared_post"))
        on_own_post = table(*kinds.where(target="own_post"))
        return cls(
            ok_status=ok,
            sign_up=table(*kinds.where(creates="user")),
            create=table(*kinds.where(creates="post", target="nothing")),
            share=share,
            on_own_post=on_own_post,
            targeted=table(*kinds.where(target="post")) | share | on_own_post,
            on_user=table(*kinds.where(target="user")),
            feed=table(*kinds.where(creates="", target="nothing")),
        )


@define
class _Work:
    """One batch on its way through :meth:`MockBackend.execute`'s steps: its columns, the
    answers so far, and what each step found for the next."""

    batch: ActionBatch
    kind: NDArray[np.uint8]
    user: NDArray[np.int64]
    post: NDArray[np.int64]
    status: NDArray[np.int16]
    server_id: NDArray[np.int64]
    attempts: NDArray[np.uint8]
    final: NDArray[np.uint8]  # each action's last attempt: faults.OK, a fault or a timeout
    latency: NDArray[np.float64]
    performed: NDArray[np.bool_]  # the last attempt went through
    skipped: NDArray[np.bool_] = _NONE_BOOL
    signups: NDArray[np.intp] = _NONE_INT  # positions of sign-ups that went through
    goal: NDArray[np.int64] = _NONE_INT  # the post each action acts on (``ref`` for shares)
    total: int = 0  # the store's post count after this batch
    base: int = 0  # ids from here on may be created by this batch ...
    born_at: NDArray[np.int64] = _NONE_INT  # ... at these positions (id - base), else -1
    targeted: NDArray[np.intp] = _NONE_INT  # positions of the sent actions on a post
    target: NDArray[np.int64] = _NONE_INT  # their posts
    exists: NDArray[np.bool_] = _NONE_BOOL  # their post exists at their position
    owner: NDArray[np.bool_] = _NONE_BOOL  # the actor wrote it (or the kind does not care)
    went: NDArray[np.bool_] = _NONE_BOOL  # their last attempt went through
    result: NDArray[np.int64] = _NONE_INT  # their statuses


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
        self.kinds = _KindTables.of(BUILT_IN)

    def open(self, context: BackendContext) -> None:
        """Set up fault injection from the config, if it asks for any."""
        cfg = context.config
        self.kinds = _KindTables.of(cfg.kind_set)
        self.policy = RetryPolicy.from_config(cfg.backend, context.seed)
        self.injector = faults.Injector.from_config(cfg, context.seed)

    def close(self) -> None:
        """Nothing to release."""

    def execute(self, batch: ActionBatch) -> Outcomes:
        """Answer every action of ``batch`` in order: each step below handles one group of
        kinds and leaves the rest to the next."""
        work = self._start(batch)
        self._sign_ups(work)
        self._creates(work)
        self._find_targets(work)
        self._deletes(work)
        self._answer_targeted(work)
        self._follows(work)
        feeds = np.flatnonzero(self.kinds.feed[work.kind] & ~work.skipped)  # always answered
        work.status[feeds] = self.kinds.ok_status[work.kind[feeds]]
        self._remember(work)
        return self._outcomes(work)

    def _start(self, batch: ActionBatch) -> _Work:
        """The batch's columns, blank answers, and which attempts the fault injector lets through."""
        n = len(batch)
        if self.injector is not None:
            attempts, final, latency = self.injector.resolve(batch.seq, self.policy)
        else:
            attempts = np.ones(n, np.uint8)
            final = np.zeros(n, np.uint8)
            latency = np.zeros(n)
        return _Work(
            batch=batch,
            kind=batch.kind,
            user=batch.user.astype(np.int64),
            post=batch.post.astype(np.int64),
            status=np.zeros(n, dtype=np.int16),
            server_id=np.full(n, -1, dtype=np.int64),
            attempts=attempts,
            final=final,
            latency=latency,
            performed=final == faults.OK,
        )

    def _sign_ups(self, work: _Work) -> None:
        """Sign-ups go through; every other action of a user not signed up (before this
        batch, or earlier in it) is skipped."""
        kind, user, n = work.kind, work.user, len(work.kind)
        is_signup = self.kinds.sign_up[kind]
        signups = np.flatnonzero(is_signup & work.performed)
        top_user = int(user.max()) + 1 if n else 0
        self.signed_up = grow(self.signed_up, top_user, 0)
        known_from = self._known_from(user, user[signups], signups, n)
        work.skipped = ~is_signup & (known_from >= np.arange(n))
        work.status[signups] = self.kinds.ok_status[kind[signups]]
        work.server_id[signups] = user[signups]
        work.signups = signups

    def _creates(self, work: _Work) -> None:
        """New posts get their ids and authors; the store grows to every post id the batch names."""
        kind, user, post = work.kind, work.user, work.post
        is_create, is_share = self.kinds.create[kind], self.kinds.share[kind]
        creates = np.flatnonzero(is_create & ~work.skipped & work.performed)
        new_ids = post[creates]
        making = is_create | (is_share & (post >= 0))
        total = max(self.n_posts, int(post[making].max()) + 1 if making.any() else 0)
        # likes, reads, edits and deletes act on ``post``; shares on ``ref`` (their ``post`` is new)
        work.goal = np.where(is_share, work.batch.ref.astype(np.int64), post)
        total = max(total, int(work.goal[is_share].max()) + 1 if is_share.any() else 0)
        for name, fill in (("author", 0), ("created", 0), ("deleted_tick", -1), ("views", 0)):
            setattr(self, name, grow(getattr(self, name), total, fill))
        self.author[new_ids] = user[creates]
        self.created[new_ids] = 1
        work.status[creates] = self.kinds.ok_status[kind[creates]]
        work.server_id[creates] = new_ids
        # batch position of this batch's creates, for ids from `base` on (only they can be new)
        base = min(self.n_posts, int(new_ids.min())) if len(new_ids) else total
        work.born_at = np.full(total - base, -1, dtype=np.int64)
        work.born_at[new_ids - base] = creates
        work.total, work.base = total, base

    def _find_targets(self, work: _Work) -> None:
        """The actions on a post that are sent (their post was created here at some point),
        and whether that post exists at each one's position, deletes of this batch aside."""
        goal, total = work.goal, work.total
        is_targeted = self.kinds.targeted[work.kind]
        candidates = is_targeted & ~work.skipped
        in_range = (goal >= 0) & (goal < total)
        never = candidates & ~in_range
        unsure = np.flatnonzero(candidates & in_range & (goal >= self.created_below))
        never[unsure] = self.created[goal[unsure]] == 0
        work.skipped |= never  # the target was never created here: nothing to send
        targeted = np.flatnonzero(is_targeted & ~work.skipped)
        target = goal[targeted]
        # a post created in this batch exists from its creation's position on
        born = np.full(len(target), -1, dtype=np.int64)
        fresh = target >= work.base
        born[fresh] = work.born_at[target[fresh] - work.base]
        work.targeted, work.target = targeted, target
        work.exists = (born < targeted) & (self.deleted_tick[target] < 0)
        work.went = work.performed[targeted]
        tkind = work.kind[targeted]
        # only edits and deletes care who wrote the post
        work.owner = np.ones(len(target), dtype=bool)
        own_rows = np.flatnonzero(self.kinds.on_own_post[tkind])
        work.owner[own_rows] = self.author[target[own_rows]] == work.user[targeted[own_rows]]

    def _deletes(self, work: _Work) -> None:
        """The first delete of a post that goes through (its author, the post still there)
        removes it: later actions on it in this batch find it gone."""
        targeted, target, exists = work.targeted, work.target, work.exists
        is_delete = work.kind[targeted] == ActionKind.DELETE_POST
        deleting = targeted[is_delete & exists & work.owner & work.went]
        if len(deleting) == 0:
            return
        ids, first = np.unique(work.post[deleting], return_index=True)
        gone_at = deleting[first]
        # mark them deleted now; only actions on marked posts can come after their delete
        # (a mark can also be from an earlier slice of this tick: those already 404)
        self.deleted_tick[ids] = work.batch.tick
        maybe = np.flatnonzero(self.deleted_tick[target] == work.batch.tick)
        where = np.minimum(np.searchsorted(ids, target[maybe]), len(ids) - 1)
        hit = ids[where] == target[maybe]
        exists[maybe[hit]] &= ~(gone_at[where[hit]] < targeted[maybe[hit]])

    def _answer_targeted(self, work: _Work) -> None:
        """Reads, edits, deletes, likes and shares: 404 for a missing post, 403 for another
        author's, 409 for a repeated like, else the kind's success status; shares that go
        through make their new post."""
        targeted, post, user = work.targeted, work.post, work.user
        tkind = work.kind[targeted]
        ok = self.kinds.ok_status[tkind]
        result = np.where(~work.exists, 404, np.where(~work.owner, 403, ok))
        result = self._likes(work, result)
        work.status[targeted] = result
        work.server_id[targeted] = np.where(work.exists, work.target, -1)
        made = self.kinds.share[tkind] & work.went & (result == ok) & (post[targeted] >= 0)
        shared = targeted[made]
        self.author[post[shared]] = user[shared]
        self.created[post[shared]] = 1
        work.server_id[shared] = post[shared]
        work.result = result

    def _remember(self, work: _Work) -> None:
        """Keep what this batch did: the store's size, read counts, who signed up."""
        self.n_posts = work.total
        targeted = work.targeted
        is_read = work.kind[targeted] == ActionKind.READ_POST
        done = work.went & (work.result < 300)
        viewed, times = np.unique(work.target[is_read & done].astype(np.int32), return_counts=True)
        self.views[viewed] += times.astype(np.int32)
        self.signed_up[work.user[work.signups]] = 1
        self.known_below = _first_unset(self.signed_up, self.known_below, len(self.signed_up))
        self.created_below = _first_unset(self.created, self.created_below, work.total)

    def _outcomes(self, work: _Work) -> Outcomes:
        """Failed attempts (injected faults, timeouts) and skipped actions override the answers."""
        status, final, skipped = work.status, work.final, work.skipped
        error = np.zeros(len(status), np.uint8)
        failed = ~work.performed & ~skipped
        timed_out = final[failed] == faults.TIMEOUT
        error[failed] = np.where(timed_out, ErrorKind.TIMEOUT, ErrorKind.INJECTED)
        if self.injector is not None:
            status[failed] = np.where(timed_out, 0, self.injector.faults.error_status)
        work.server_id[failed] = -1
        status[skipped] = 0
        error[skipped] = ErrorKind.SKIPPED
        work.attempts[skipped] = 0
        work.latency[skipped] = 0.0
        return Outcomes(
            status=status,
            latency_ms=work.latency.astype(np.float32),
            attempts=work.attempts,
            error=error,
            server_id=work.server_id,
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

    def _likes(self, work: _Work, result: NDArray[np.int64]) -> NDArray[np.int64]:
        """409 for likes of a post the user liked before; record the others that went through."""
        targeted = work.targeted
        is_like = work.kind[targeted] == ActionKind.LIKE_POST
        rows = np.flatnonzero(is_like & (result == self.kinds.ok_status[ActionKind.LIKE_POST]))
        if len(rows) == 0:
            return result
        keys = edge_keys(work.user[targeted[rows]], work.post[targeted[rows]])
        again = self.likes.contains(keys) | _repeated(keys)
        result[rows[again]] = 409
        self.likes.add(keys[~again & work.went[rows]], checked=True)
        return result

    def _follows(self, work: _Work) -> None:
        """Follows and unfollows in batch order: 409 for a repeated follow, 422 for oneself,
        404 for an unfollow without a follow; skipped if the followee never signed up."""
        kind, user, n = work.kind, work.user, len(work.kind)
        rows = np.flatnonzero(self.kinds.on_user[kind] & ~work.skipped)
        if len(rows) == 0:
            return
        target = work.batch.ref.astype(np.int64)[rows]
        # the target is known if it signed up before, or earlier in this batch
        signed = self._known_from(target, user[work.signups], work.signups, n) < rows
        work.skipped[rows[~signed]] = True
        rows, target = rows[signed], target[signed]
        keys = edge_keys(user[rows], target)
        follow = kind[rows] == ActionKind.FOLLOW_USER
        unfollow = kind[rows] == ActionKind.UNFOLLOW_USER
        present = self.follows.contains(keys)
        repeated = np.zeros(len(keys), bool)  # kinds of one's own change no edge: left out
        repeated[follow | unfollow] = _repeated(keys[follow | unfollow])
        ok = self.kinds.ok_status[kind[rows]]
        result = np.where(
            follow,
            np.where(target == user[rows], 422, np.where(present | repeated, 409, ok)),
            np.where(unfollow & ~(present & ~repeated), 404, ok),  # a kind of one's own: ok
        )
        work.status[rows] = result
        work.server_id[rows] = target
        changed = work.performed[rows] & (result == ok) & (follow | unfollow)
        self.follows.add(keys[follow & changed], checked=True)
        self.follows.remove(keys[unfollow & changed])

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
