"""What the tick's actors do: a kind from their profile's weights (or their profile's session
opener) and a target from the world as it stood at the start of the tick."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from simcore.core import rng
from simcore.core.actions import (
    BROWSE_FEED,
    DELETE_POST,
    FOLLOW_USER,
    LIKE_POST,
    LOOKING,
    ON_POST,
    ON_REF,
    UNFOLLOW_USER,
    UPDATE_POST,
    KindCodes,
    KindTables,
)
from simcore.core.community import Community
from simcore.core.targets import own_targets, read_targets
from simcore.core.users import Population
from simcore.core.world import World
from simcore.scenario.durations import parse_seconds
from simcore.scenario.schema import Config

S_KIND = rng.stream_id("action.kind")
S_UPDATE = rng.stream_id("target.update")
S_DELETE = rng.stream_id("target.delete")

_BROWSE = np.uint8(BROWSE_FEED)


def choose_kinds(
    kinds: KindTables,
    seed: int,
    tick: int,
    users: NDArray[np.int64],
    prof: NDArray[np.uint8],
    state: NDArray[np.uint8],
    starting: NDArray[np.intp],
) -> NDArray[np.uint8]:
    """One kind per actor: drawn from its weights, or its profile's opener (if any) for the
    actors at positions ``starting``, who open a session."""
    kind = kinds.sample(seed, S_KIND, tick, users, prof, state)
    opener = kinds.opener[prof[starting]]
    opens = opener != 255
    kind[starting[opens]] = opener[opens].astype(np.uint8)
    return kind


class Targeting:
    """Finds each action's target post and referenced post or user."""

    def __init__(
        self, config: Config, seed: int, population: Population, world: World, community: Community
    ) -> None:
        self.codes = KindCodes(config)
        self.targets = config.targets
        self.seed = seed
        self.population = population
        self.world = world
        self.community = community
        self.half_life_ticks = parse_seconds(config.targets.recent_half_life, config.tick_seconds) / (
            config.tick_seconds
        )

    def choose(
        self, users: NDArray[np.int64], kind: NDArray[np.uint8], tick: int
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Each action's (post, ref); kinds that find no target turn into ``browse_feed``
        (``kind`` is changed in place)."""
        pop, world, seed, community = self.population, self.world, self.seed, self.community
        actual = kind
        if self.codes.custom:  # a kind of the config's own is targeted as the kind it behaves as
            kind = self.codes.base[actual]
        post = np.full(len(users), -1, dtype=np.int64)
        ref = np.full(len(users), -1, dtype=np.int64)
        targets = self.targets
        # one read-like pick for everyone who needs a post to look at
        looking = np.flatnonzero(LOOKING[kind])
        seen = read_targets(
            seed,
            tick,
            users[looking],
            world,
            targets.popular_share,
            self.half_life_ticks,
            (targets.trending_share, community.trending_picker(tick, world, pop)),
            (targets.following_share, community.following_picker(tick, world, pop)),
        )
        k = kind[looking]
        on_post = ON_POST[k]
        post[looking[on_post]] = seen[on_post]
        ref[looking[~on_post]] = seen[~on_post]  # reposts and quotes; follows overwrite theirs
        liking = looking[(actual[looking] == LIKE_POST) & (seen >= 0)]
        post[liking[community.already_liked(users[liking], post[liking])]] = -1
        for code, stream in ((UPDATE_POST, S_UPDATE), (DELETE_POST, S_DELETE)):
            own = np.flatnonzero(kind == code)
            post[own] = own_targets(seed, stream, tick, users[own], pop, world, targets.newest_own_post)
        follows = k == FOLLOW_USER
        if follows.any():
            follow = looking[follows]
            ref[follow] = community.follow_targets(tick, users[follow], world, pop, seen[follows])
        unfollow = np.flatnonzero(kind == UNFOLLOW_USER)
        ref[unfollow] = community.unfollow_targets(tick, users[unfollow])
        missing = (ON_POST[kind] & (post < 0)) | (ON_REF[kind] & (ref < 0))
        actual[missing] = _BROWSE
        post[missing] = -1
        ref[missing] = -1
        return post, ref
