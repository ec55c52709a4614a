"""A canonical batch's effects on the world: views, likes, edits, deletes, new posts (with
their ids, in batch order), reposts, quotes, follows and unfollows."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from simcore.core.actions import (
    CREATE_POST,
    DELETE_POST,
    FOLLOW_USER,
    LIKE_POST,
    QUOTE_POST,
    READ_POST,
    REPOST,
    UNFOLLOW_USER,
    UPDATE_POST,
    ActionBatch,
    KindCodes,
)
from simcore.core.community import Community, add_counts
from simcore.core.users import Population
from simcore.core.world import World


class Deletes:
    """The posts deleted in one batch, to tell which actions came before the delete."""

    def __init__(self, world: World, batch: ActionBatch) -> None:
        rows = np.flatnonzero(batch.kind == DELETE_POST)
        # a user deletes only its own posts and acts once a tick: no post is deleted twice
        world.deleted_tick[batch.post[rows]] = batch.tick
        order = np.argsort(batch.post[rows])
        self.posts, self.rows = batch.post[rows][order], rows[order]
        self.world, self.tick = world, batch.tick

    def still_there(self, targets: NDArray[np.int32], rows: NDArray[np.intp]) -> NDArray[np.bool_]:
        """Whether each action at ``rows`` comes before any delete of its target."""
        ok = np.ones(len(rows), dtype=bool)
        # only targets deleted in this very tick can have gone before their action
        maybe = np.flatnonzero(self.world.deleted_tick[targets] == self.tick)
        ok[maybe] = rows[maybe] < self.rows[np.searchsorted(self.posts, targets[maybe])]
        return ok


def apply_effects(
    batch: ActionBatch,
    world: World,
    pop: Population,
    community: Community,
    trends_on: bool,
    codes: KindCodes | None = None,
) -> None:
    """Apply a canonical batch's effects to the world, assigning new post ids in order.

    Likes, reposts and quotes of a post deleted earlier in the same batch have
    no effect (the API answers them 404); a repost or quote that has no effect
    creates no post (its ``post`` stays -1). ``trends_on`` keeps the trending pool.
    Kinds of the config's own (``codes``) have no effect, but for creating a post if
    their table says so: a new one as create_post does, or a share as quote_post does.
    """
    tick, kind, post, ref, user = batch.tick, batch.kind, batch.post, batch.ref, batch.user
    deletes = Deletes(world, batch)
    reads = np.flatnonzero(kind == READ_POST)
    counted = post[reads[deletes.still_there(post[reads], reads)]]
    viewed = add_counts(world.views, counted)
    world.remember_reads(counted)
    likes = np.flatnonzero(kind == LIKE_POST)
    liked_rows = likes[deletes.still_there(post[likes], likes)]
    liked = community.add_likes(
        user[liked_rows].astype(np.int64), post[liked_rows].astype(np.int64), world, pop
    )
    world.updated_tick[post[kind == UPDATE_POST]] = tick
    shares = (kind == REPOST) | (kind == QUOTE_POST)
    new_posts = kind == CREATE_POST
    if codes is not None and codes.custom:
        shares |= codes.creates_share[kind]
        new_posts |= codes.creates_new[kind]
    sharing = np.flatnonzero(shares)
    shared_rows = sharing[deletes.still_there(ref[sharing], sharing)]
    ids = _create_posts(batch, np.flatnonzero(new_posts), shared_rows, world, pop, community)
    shared = ref[shared_rows].astype(np.int64)
    reposted = kind[shared_rows] == REPOST
    add_counts(world.reposts, shared[reposted])
    add_counts(world.quotes, shared[~reposted])
    follows = np.flatnonzero(kind == FOLLOW_USER)
    community.add_follows(user[follows].astype(np.int64), ref[follows].astype(np.int64), pop)
    unfollows = np.flatnonzero(kind == UNFOLLOW_USER)
    community.remove_follows(user[unfollows].astype(np.int64), ref[unfollows].astype(np.int64), pop)
    if trends_on:
        touched = np.concatenate([viewed, liked, shared, ids])
        community.trends.update_pool(world, pop, touched, tick)
    world.close_tick(tick)


def _create_posts(
    batch: ActionBatch,
    new_rows: NDArray[np.intp],
    shared_rows: NDArray[np.intp],
    world: World,
    pop: Population,
    community: Community,
) -> NDArray[np.int64]:
    """Add the batch's new posts and effective shares to the world in batch order; write their
    ids into ``batch.post`` and return them."""
    ref, user = batch.ref, batch.user
    creating = np.sort(np.concatenate([new_rows, shared_rows]))
    authors = user[creating]
    refs = ref[creating].astype(np.int64)
    is_share = refs >= 0
    # a share takes its original's tag; a new post is tagged by its author's interests
    tags = world.tag[np.maximum(refs, 0)].astype(np.int64)
    tags[~is_share] = community.post_tags(batch.tick, authors[~is_share].astype(np.int64))
    ids: NDArray[np.int64] = world.add_posts(
        authors, batch.tick, pop.last_post[authors], tags, np.where(is_share, refs, -1)
    )
    batch.post[creating] = ids
    pop.last_post[authors] = ids
    pop.n_posts[authors] += 1
    return ids
