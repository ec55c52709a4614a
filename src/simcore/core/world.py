"""The world: every post so far, as growable arrays, and what recent readers looked at.

Post ids are array slots, assigned in batch order at the end of each tick, so
they are chronological: ``created_tick`` is sorted. ``prev_by_author`` links each
post to its author's previous one, so a user's own posts are a chain starting
at ``Population.last_post``. ``recent_reads`` is a ring of the targets of the
latest reads: copying a random recent read is preferential attachment.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from simcore.core.arrays import grow

POST_FIELDS: tuple[tuple[str, type[np.generic]], ...] = (
    ("author", np.int32),
    ("created_tick", np.int32),
    ("updated_tick", np.int32),  # -1 until the first edit
    ("deleted_tick", np.int32),  # -1 while live
    ("views", np.int32),
    ("prev_by_author", np.int32),  # the author's previous post, -1 if none
    ("tag", np.uint8),  # index into [tags] names
    ("ref", np.int32),  # the reposted or quoted post, -1 for an original post
    ("likes", np.int32),
    ("reposts", np.int32),
    ("quotes", np.int32),
)


class World:
    """All posts and the recent-reads ring."""

    author: NDArray[np.int32]
    created_tick: NDArray[np.int32]
    updated_tick: NDArray[np.int32]
    deleted_tick: NDArray[np.int32]
    views: NDArray[np.int32]
    prev_by_author: NDArray[np.int32]
    tag: NDArray[np.uint8]
    ref: NDArray[np.int32]
    likes: NDArray[np.int32]
    reposts: NDArray[np.int32]
    quotes: NDArray[np.int32]

    def __init__(self, memory: int = 4096, capacity: int = 1024) -> None:
        self.n = 0
        cap = max(int(capacity), 16)
        for name, dtype in POST_FIELDS:
            setattr(self, name, np.zeros(cap, dtype=dtype))
        self.recent_reads = np.full(int(memory), -1, dtype=np.int32)
        self.reads_total = 0  # reads ever pushed into the ring
        # tick_start[t]: how many posts were created before tick t (derived; rebuilt on load)
        self.tick_start = np.zeros(1024, dtype=np.int64)
        self.ticks_seen = 0
        self.trend_pool = np.zeros(0, dtype=np.int32)  # trending posts, sorted ids (trends.py)

    def live(self) -> NDArray[np.bool_]:
        """Which of the ``n`` posts are not deleted."""
        return self.deleted_tick[: self.n] < 0

    def posts_created_at(self, ticks: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """For each (past) tick, the id range ``[lo, hi)`` of the posts created in it."""
        t = np.clip(ticks, 0, self.ticks_seen)
        lo = self.tick_start[t]
        hi = self.tick_start[np.minimum(t + 1, self.ticks_seen)]
        return np.where(ticks < 0, 0, lo), np.where(ticks < 0, 0, hi)

    def close_tick(self, tick: int) -> None:
        """Record that every post of ``tick`` (and before) now exists."""
        self.tick_start = grow(self.tick_start, tick + 2)
        self.tick_start[self.ticks_seen + 1 : tick + 2] = self.n
        self.ticks_seen = tick + 1

    def add_posts(
        self,
        authors: NDArray[np.int32],
        tick: int,
        prev: NDArray[np.int32],
        tags: NDArray[np.integer[Any]] | None = None,
        refs: NDArray[np.integer[Any]] | None = None,
    ) -> NDArray[np.int64]:
        """Append posts (in order) and return their ids."""
        n_new = len(authors)
        end = self.n + n_new
        for name, _ in POST_FIELDS:
            setattr(self, name, grow(getattr(self, name), end))
        ids = np.arange(self.n, end, dtype=np.int64)
        self.author[ids] = authors
        self.created_tick[ids] = tick
        self.updated_tick[ids] = -1
        self.deleted_tick[ids] = -1
        self.views[ids] = 0
        self.prev_by_author[ids] = prev
        self.tag[ids] = 0 if tags is None else tags
        self.ref[ids] = -1 if refs is None else refs
        self.likes[ids] = 0
        self.reposts[ids] = 0
        self.quotes[ids] = 0
        self.n = end
        return ids

    def remember_reads(self, targets: NDArray[np.integer[Any]]) -> None:
        """Push read targets, in batch order, into the recent-reads ring."""
        size = len(self.recent_reads)
        if len(targets) == 0:
            return
        if len(targets) >= size:
            keep = targets[-size:]
            start = (self.reads_total + len(targets) - size) % size
            positions = (start + np.arange(size)) % size
            self.recent_reads[positions] = keep
        else:
            positions = (self.reads_total + np.arange(len(targets))) % size
            self.recent_reads[positions] = targets
        self.reads_total += len(targets)

    def remembered(self) -> int:
        """How many ring entries hold a read."""
        return min(self.reads_total, len(self.recent_reads))

    def arrays(self) -> dict[str, NDArray[Any]]:
        """The live rows of every post attribute, plus the ring (views, not copies)."""
        out: dict[str, NDArray[Any]] = {name: getattr(self, name)[: self.n] for name, _ in POST_FIELDS}
        out["recent_reads"] = self.recent_reads
        out["reads_total"] = np.array([self.reads_total], dtype=np.int64)
        out["trend_pool"] = self.trend_pool
        return out

    def load(self, arrays: dict[str, NDArray[Any]], ticks_seen: int) -> None:
        """Replace the contents with ``arrays`` (as returned by :meth:`arrays`), taken when
        ``ticks_seen`` ticks had closed."""
        n = len(arrays["author"])
        for name, dtype in POST_FIELDS:
            # at least the capacity a new world has: callers may index row 0 of an empty one
            setattr(
                self, name, grow(np.asarray(arrays[name], dtype=dtype), max(n + 1, len(self.author)))
            )
        self.n = n
        self.trend_pool = np.asarray(arrays["trend_pool"], dtype=np.int32).copy()
        self.recent_reads = np.asarray(arrays["recent_reads"], dtype=np.int32).copy()
        self.reads_total = int(np.asarray(arrays["reads_total"])[0])
        # tick_start is derived from created_tick
        self.tick_start = np.zeros(max(1024, ticks_seen + 2), dtype=np.int64)
        edges = np.arange(ticks_seen + 1)
        self.tick_start[: ticks_seen + 1] = np.searchsorted(self.created_tick[: self.n], edges)
        self.ticks_seen = ticks_seen
