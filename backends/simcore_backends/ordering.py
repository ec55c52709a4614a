"""The ordering rule of concurrent backends: which requests must wait for which.

The http backend sends requests concurrently, and with ``backend.pipeline`` > 1
it starts a tick's requests before the previous ticks' have all been answered.
What must still happen in the core's order, so that the server ends in the
state the core (and the mock) describe:

1. **A user's requests after its sign-up.** Any request of a user waits for that
   user's sign-up if it is still in flight (the core lets a user act from the
   tick after it arrives, so this only matters across ticks).
2. **Per post, changes in order, reads between them.** A post's changes are its
   create, its updates and its delete. A read of a post waits for the latest
   earlier change of that post still in flight; a change waits for every earlier
   request on that post still in flight (the earlier change and the reads since).
   So a read never sees a post before its create, nor after a later delete, and
   two edits, or an edit and a delete, never swap.
3. **Per follow edge, follows and unfollows in order.** A follow or unfollow of
   (user, followee) waits for the previous one of the same pair still in flight
   (from an earlier tick: a user acts once a tick), so an unfollow never arrives
   before the follow it undoes.
4. **Everything else runs concurrently**, up to the in-flight bound. In one tick
   that is nearly everything: the core never targets a post created in the same
   tick and a user acts at most once a tick, so the only in-tick case is a read
   and a delete of one post; across ticks it is a create, then reads and edits of
   that post in the next ticks.

Requests are taken in (tick, batch position) order, and a request only ever
waits for earlier ones, so waiting cannot deadlock. When the request waited for
fails for good (the sign-up or create never succeeded), the waiting request is
not sent: it is logged as skipped.

:class:`Tracker` keeps, across ticks, the requests still in flight that later
ones may have to wait for; :func:`dependencies` applies the rule to one batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from simcore.core.actions import FOLLOWS, SHARES, ActionBatch
from simcore.scenario.kinds import BUILT_IN, MAX_KINDS, kinds_where

# the groups of the rule, from the kinds table
_SIGN_UPS = frozenset(int(k) for k in kinds_where(creates="user"))
_READS = frozenset(int(k) for k in kinds_where(target="post"))  # reads and likes of ``post``
#: A post's changes: its create, then what its author does to it (edits, the delete).
_CHANGES = frozenset(
    int(k) for k in (*kinds_where(creates="post", target="nothing"), *kinds_where(target="own_post"))
)
_SHARES = frozenset(int(k) for k in SHARES)  # read ``ref``, create ``post``
_FOLLOWS = frozenset(int(k) for k in FOLLOWS)


class Job:
    """A request others may wait for: ``done`` once it has its final answer."""

    __slots__ = ("done", "position", "waiter")

    def __init__(self, position: int) -> None:
        self.done = False
        self.position = position
        self.waiter: Any = None  # an asyncio future, made when someone waits

    def finish(self) -> None:
        """Mark done and wake whoever waits."""
        self.done = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


class Tracker:
    """Requests in flight, by the user or post they sign up, change or read."""

    def __init__(self, base: Sequence[int] = BUILT_IN.base) -> None:
        #: the built-in kind each kind code behaves as (the rule for a kind of the config's own)
        self.base = np.zeros(MAX_KINDS, np.uint8)
        self.base[: len(base)] = base
        self.signups: dict[int, Job] = {}
        self.posts: dict[int, tuple[Job | None, list[Job]]] = {}
        self.edges: dict[tuple[int, int], Job] = {}  # the latest follow or unfollow of a pair

    def plan(self, batch: ActionBatch) -> tuple[dict[int, list[Job]], dict[int, Job]]:
        """For one batch, in order: what each position waits for, and the jobs others may wait for."""
        self.prune()
        waits: dict[int, list[Job]] = {}
        jobs: dict[int, Job] = {}
        signups, posts = self.signups, self.posts
        kinds = self.base[batch.kind].tolist()
        rows = zip(kinds, batch.user.tolist(), batch.post.tolist(), batch.ref.tolist())
        for i, (kind, user, post, ref) in enumerate(rows):
            if kind in _SIGN_UPS:
                job = jobs[i] = Job(i)
                signups[user] = job
                continue
            deps: list[Job] = []
            pending = signups.get(user)
            if pending is not None and not pending.done:
                deps.append(pending)
            # a follow waits for the followee's sign-up and the pair's previous (un)follow;
            # a repost or quote reads its original and creates its post; a like reads its post
            if kind in _FOLLOWS:
                target_signup = signups.get(ref)
                if target_signup is not None and not target_signup.done:
                    deps.append(target_signup)
                previous = self.edges.get((user, ref))
                if previous is not None and not previous.done:
                    deps.append(previous)
                job = jobs[i] = Job(i)
                self.edges[(user, ref)] = job
            if kind in _SHARES:
                change, readers = posts.get(ref, (None, []))
                if change is not None and not change.done:
                    deps.append(change)
                job = jobs[i] = Job(i)
                readers.append(job)
                posts[ref] = (change, readers)
                if post >= 0:
                    posts[post] = (job, [])
            elif post >= 0 and (kind in _READS or kind in _CHANGES):
                job = jobs[i] = Job(i)
                change, readers = posts.get(post, (None, []))
                if change is not None and not change.done:
                    deps.append(change)
                if kind in _READS:
                    readers.append(job)
                    posts[post] = (change, readers)
                else:
                    deps.extend(r for r in readers if not r.done)
                    posts[post] = (job, [])
            if deps:
                waits[i] = deps
        return waits, jobs

    def prune(self) -> None:
        """Forget requests that are done (called once per batch, so memory stays flat)."""
        self.signups = {u: j for u, j in self.signups.items() if not j.done}
        self.edges = {e: j for e, j in self.edges.items() if not j.done}
        kept: dict[int, tuple[Job | None, list[Job]]] = {}
        for post, (change, readers) in self.posts.items():
            live = [r for r in readers if not r.done]
            if live or (change is not None and not change.done):
                kept[post] = (change if change is not None and not change.done else None, live)
        self.posts = kept


def dependencies(batch: ActionBatch) -> dict[int, tuple[int, ...]]:
    """The rule applied to one batch alone: for each position that must wait, the earlier ones."""
    waits, _ = Tracker().plan(batch)
    return {i: tuple(sorted({j.position for j in deps})) for i, deps in waits.items()}
