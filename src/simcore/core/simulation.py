"""The deciding core: ``Simulation.step()`` turns (config, seed, state, tick) into an ActionBatch.

Per tick, in this order:

1. *wake*: users whose calendar entry (``next_event``) is due; of those, the ones
   at a block edge change state (and, if their activity changed, redraw the time
   to their next session: exponential waits are memoryless);
2. *act*: users whose ``next_session`` is due take one action: a session opener
   or a kind drawn from their profile's weights in their state, with a target
   from the world as it stood at the start of the tick;
3. *arrive*: new users (the initial population at tick 0, then Poisson arrivals
   along the growth curve) sign up;
4. *order and apply*: the batch is sorted by (sub-tick offset, user), new posts
   get ids in that order, and the effects apply to the world.

Only the users whose edge or action is due are touched, so the cost follows
the actions, not users × ticks. No I/O, no wall clock, no global RNG: every
draw is keyed by (seed, stream, tick, user).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from simcore.core import rng
from simcore.core.actions import (
    BROWSE_FEED,
    CREATE_POST,
    DELETE_POST,
    FOLLOW_USER,
    LIKE_POST,
    LOOKING,
    ON_POST,
    ON_REF,
    QUOTE_POST,
    READ_POST,
    REPOST,
    SIGN_UP,
    UNFOLLOW_USER,
    UPDATE_POST,
    ActionBatch,
    KindTables,
)
from simcore.core.community import Community, add_counts
from simcore.core.routine import NEVER, CompiledRoutine
from simcore.core.targets import own_targets, read_targets
from simcore.core.users import Population, SimUser, user_avatars, user_factions, user_names
from simcore.core.world import World
from simcore.scenario.durations import parse_seconds
from simcore.scenario.schedule import MINUTES_PER_DAY
from simcore.scenario.schema import Config

S_SPAWN = rng.stream_id("population.spawn")
S_PROFILE = rng.stream_id("user.profile")
S_SHIFT = rng.stream_id("user.shift")
S_LEVEL = rng.stream_id("user.level")
S_JITTER = rng.stream_id("routine.jitter")
S_GAP_NEW = rng.stream_id("session.gap.new")
S_GAP_EDGE = rng.stream_id("session.gap.edge")
S_NEXT = rng.stream_id("session.next")
S_LENGTH = rng.stream_id("session.length")
S_KIND = rng.stream_id("action.kind")
S_OFFSET = rng.stream_id("action.offset")
S_UPDATE = rng.stream_id("target.update")
S_DELETE = rng.stream_id("target.delete")

_BROWSE = np.uint8(BROWSE_FEED)


def arrival_rate(config: Config, tick: int) -> float:
    """Expected arrivals per hour at the middle of ``tick``, following the growth curve."""
    a = config.population.arrivals
    days = (tick + 0.5) * config.tick_seconds / 86400.0
    if a.curve == "linear":
        return max(0.0, a.rate_per_hour + a.slope_per_day * days)
    if a.curve == "logistic":
        z = -a.steepness_per_day * (days - a.midpoint_days)
        return a.rate_per_hour / (1.0 + math.exp(min(z, 700.0)))
    return a.rate_per_hour


class Simulation:
    """The whole deciding state of a run, stepped one tick at a time."""

    def __init__(self, config: Config, seed: int | None = None) -> None:
        self.config = config
        self.seed = int(config.seed if seed is None else seed)
        self.routine = CompiledRoutine.build(config.routine, config.start)
        self.kinds = KindTables(config, self.routine.state_names)
        self.profile_names = tuple(config.profiles)
        profiles = list(config.profiles.values())

        def per_profile(attr: str) -> NDArray[np.float64]:
            return np.array([getattr(p, attr) for p in profiles], dtype=np.float64)

        self.shift_mean = per_profile("shift_minutes")
        self.shift_spread = per_profile("shift_spread_minutes")
        self.jitter = per_profile("jitter_minutes")
        self.level_spread = per_profile("activity_spread")
        self.session_actions = per_profile("session_actions")
        self.think_ticks = per_profile("think_seconds") / config.tick_seconds
        self.n_states = len(self.routine.state_names)
        # sessions per tick at level 1, by profile * n_states + state
        rate_per_tick = per_profile("activity") * config.tick_seconds / 3600.0
        self.session_rate = (rate_per_tick[:, None] * self.routine.activity[None, :]).ravel()
        mix = np.array([max(config.population.mix.get(n, 0.0), 0.0) for n in self.profile_names])
        self.mix_cumulative = np.cumsum(mix / mix.sum())
        self.minutes_per_tick = config.tick_seconds / 60.0
        self.half_life_ticks = parse_seconds(config.targets.recent_half_life, config.tick_seconds) / (
            config.tick_seconds
        )
        self.population = Population(max(config.population.initial_users, 1024))
        self.world = World(memory=config.targets.popular_memory)
        trend_half_life = (
            parse_seconds(config.trends.half_life, config.tick_seconds) / config.tick_seconds
        )
        self.community = Community(config, self.seed, trend_half_life)
        # the trending pool is only kept when some read uses it (it costs a re-rank a tick)
        self._trends_on = config.targets.trending_share > 0
        self.tick = 0
        self.seq = 0

    # --- time ---------------------------------------------------------------------

    def sim_minute(self, tick: int) -> int:
        """Whole simulated minutes from the start to the beginning of ``tick``."""
        return math.floor(tick * self.minutes_per_tick)

    def _edge_tick(
        self, users: NDArray[np.int64], local_edge: NDArray[np.int64], tick: int
    ) -> NDArray[np.int64]:
        """The tick a user's (jittered) edge takes effect: the first tick starting at or after it
        (never before ``tick``)."""
        pop = self.population
        sd = self.jitter[pop.profile[users]]
        key = (users.astype(np.uint64) << np.uint64(32)) | (
            local_edge.astype(np.uint64) & np.uint64(0xFFFFFFFF)
        )
        jitter = np.clip(rng.normal(self.seed, S_JITTER, 0, key), -3.0, 3.0) * sd
        sim_minute = local_edge - self.routine.start_minute + pop.shift[users].astype(np.int64) + jitter
        ticks = np.ceil(sim_minute / self.minutes_per_tick - 1e-9)
        ticks = np.where(local_edge >= NEVER, NEVER, ticks)
        # an edge may fall due in this very tick (short blocks, coarse ticks): the crossing
        # loop takes it before anyone acts
        return np.clip(ticks, tick, NEVER).astype(np.int64)

    def _schedule_edge(self, users: NDArray[np.int64], local_now: NDArray[np.int64], tick: int) -> None:
        nxt = self.routine.next_edge(local_now)
        self.population.edge_minute[users] = nxt
        self.population.next_edge[users] = self._edge_tick(users, nxt, tick)

    def _session_gap(
        self,
        users: NDArray[np.int64],
        tick: int,
        stream: int,
        k: int = 0,
    ) -> NDArray[np.int64]:
        """Whole ticks until the next session starts at the users' current rates (NEVER at rate 0)."""
        pop = self.population
        wait = rng.exponential(self.seed, stream, tick, users, k)
        return self._gap(wait, users, pop.profile[users], pop.state[users]).astype(np.int64)

    def _gap(
        self,
        wait: NDArray[np.float64],
        users: NDArray[np.int64],
        prof: NDArray[np.uint8],
        state: NDArray[np.uint8],
    ) -> NDArray[np.float64]:
        """Whole ticks (as floats, at most NEVER) for standard exponential ``wait``s at the users'
        current session rates."""
        per_tick = (
            self.session_rate[prof.astype(np.intp) * self.n_states + state]
            * self.population.level[users]
        )
        with np.errstate(divide="ignore"):
            gap = np.floor(np.where(per_tick > 0, wait / per_tick, np.inf))
        return np.minimum(gap, NEVER)

    def _set_next_session(self, users: NDArray[np.int64], ticks: NDArray[Any]) -> None:
        pop = self.population
        clipped = np.minimum(ticks, NEVER).astype(np.int32)
        pop.next_session[users] = clipped
        pop.next_event[users] = np.minimum(clipped, pop.next_edge[users])

    # --- the tick's phases --------------------------------------------------------

    def _cross_edges(self, due: NDArray[np.int64], tick: int) -> None:
        pop = self.population
        rounds = 0
        users = due[pop.next_edge[due] <= tick]
        crossed = users
        while len(users):
            edge = pop.edge_minute[users].astype(np.int64)
            old_activity = self.routine.activity[pop.state[users]]
            pop.state[users] = self.routine.state_of(edge)
            new_activity = self.routine.activity[pop.state[users]]
            self._schedule_edge(users, edge, tick)
            changed = new_activity != old_activity
            in_session = pop.session_left[users] > 0
            asleep = changed & in_session & (new_activity == 0)
            pop.session_left[users[asleep]] = 0
            redraw = users[changed & (~in_session | asleep)]
            gap = self._session_gap(redraw, tick, S_GAP_EDGE, rounds)
            pop.next_session[redraw] = np.minimum(tick + gap, NEVER)
            rounds += 1
            users = users[pop.next_edge[users] <= tick]
        self._set_next_session(crossed, pop.next_session[crossed])

    def _act(
        self, users: NDArray[np.int64], tick: int
    ) -> tuple[
        NDArray[np.uint8], NDArray[np.int64], NDArray[np.uint8], NDArray[np.uint8], NDArray[np.int64]
    ]:
        pop, seed = self.population, self.seed
        prof = pop.profile[users]
        state = pop.state[users]
        left = pop.session_left[users].astype(np.int64)
        starting = np.flatnonzero(left == 0)
        kind = self.kinds.sample(seed, S_KIND, tick, users, prof, state)
        opener = self.kinds.opener[prof[starting]]
        opens = opener != 255
        kind[starting[opens]] = opener[opens].astype(np.uint8)
        mean_length = self.session_actions[prof[starting]]
        left[starting] = rng.geometric(seed, S_LENGTH, tick, users[starting], mean_length)
        left -= 1
        pop.session_left[users] = np.minimum(left, np.iinfo(np.uint16).max).astype(np.uint16)
        going_on = left > 0
        # one exponential per actor: the think time before its next action in the session,
        # or, if the session ended, the gap to the next session
        wait = rng.exponential(seed, S_NEXT, tick, users)
        nxt = tick + np.maximum(np.ceil(wait * self.think_ticks[prof]), 1.0)
        ended = np.flatnonzero(~going_on)
        nxt[ended] = tick + 1 + self._gap(wait[ended], users[ended], prof[ended], state[ended])
        self._set_next_session(users, nxt)
        pop.n_actions[users] += 1  # here, where users are sorted: cheaper than in apply

        post, ref = self._targets(users, kind, tick)
        return kind, post, prof, state, ref

    def _targets(
        self, users: NDArray[np.int64], kind: NDArray[np.uint8], tick: int
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Each action's target post and referenced post or user; kinds that find no
        target turn into ``browse_feed`` (``kind`` is changed in place)."""
        pop, world, seed, community = self.population, self.world, self.seed, self.community
        post = np.full(len(users), -1, dtype=np.int64)
        ref = np.full(len(users), -1, dtype=np.int64)
        targets = self.config.targets
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
        liking = looking[(k == LIKE_POST) & (seen >= 0)]
        post[liking[community.already_liked(users[liking], post[liking])]] = -1
        for code, stream in (
            (UPDATE_POST, S_UPDATE),
            (DELETE_POST, S_DELETE),
        ):
            own = np.flatnonzero(kind == code)
            post[own] = own_targets(seed, stream, tick, users[own], pop, world, targets.newest_own_post)
        follows = k == FOLLOW_USER
        if follows.any():
            follow = looking[follows]
            ref[follow] = community.follow_targets(tick, users[follow], world, pop, seen[follows])
        unfollow = np.flatnonzero(kind == UNFOLLOW_USER)
        ref[unfollow] = community.unfollow_targets(tick, users[unfollow])
        missing = (ON_POST[kind] & (post < 0)) | (ON_REF[kind] & (ref < 0))
        kind[missing] = _BROWSE
        post[missing] = -1
        ref[missing] = -1
        return post, ref

    def _arrive(self, tick: int) -> NDArray[np.int64]:
        pop, cfg, seed = self.population, self.config, self.seed
        count = cfg.population.initial_users if tick == 0 else 0
        count += rng.poisson(seed, S_SPAWN, tick, arrival_rate(cfg, tick) * cfg.tick_seconds / 3600.0)
        count = min(count, cfg.population.max_users - pop.n)
        if count <= 0:
            return np.zeros(0, dtype=np.int64)
        ids = pop.grow_to(pop.n + count)
        pop.created_tick[ids] = tick
        prof = rng.choice(seed, S_PROFILE, 0, ids, self.mix_cumulative).astype(np.uint8)
        pop.profile[ids] = prof
        shift = self.shift_mean[prof] + self.shift_spread[prof] * rng.normal(seed, S_SHIFT, 0, ids)
        half = MINUTES_PER_DAY // 2
        pop.shift[ids] = (np.round(shift).astype(np.int64) + half) % MINUTES_PER_DAY - half
        pop.level[ids] = np.exp(self.level_spread[prof] * rng.normal(seed, S_LEVEL, 0, ids))
        local = self.routine.local_minute(
            np.full(count, self.sim_minute(tick), np.int64), pop.shift[ids]
        )
        pop.state[ids] = self.routine.state_of(local)
        self._schedule_edge(ids, local, tick)
        self._set_next_session(ids, tick + 1 + self._session_gap(ids, tick, S_GAP_NEW))
        return ids

    def decide(self, tick: int, shard: int = 0, shards: int = 1) -> ActionBatch:
        """Wake, cross edges and act for one shard of users (ids ``shard`` modulo ``shards``)."""
        pop = self.population
        due = np.flatnonzero(pop.next_event[: pop.n] <= tick)
        if shards > 1:
            due = due[due % shards == shard]
        self._cross_edges(due, tick)
        acting = due[pop.next_session[due] <= tick]
        kind, post, prof, state, ref = self._act(acting, tick)
        return self._batch(tick, acting, kind, post, prof, state, ref)

    def _batch(
        self,
        tick: int,
        users: NDArray[np.int64],
        kind: NDArray[np.uint8],
        post: NDArray[np.int64],
        prof: NDArray[np.uint8],
        state: NDArray[np.uint8],
        ref: NDArray[np.int64],
    ) -> ActionBatch:
        offset = rng.integers(self.seed, S_OFFSET, tick, users, self.config.tick_seconds * 1000)
        return ActionBatch(
            tick=tick,
            user=users.astype(np.int32),
            kind=kind.astype(np.uint8),
            post=post.astype(np.int32),
            offset_ms=offset.astype(np.int32),
            state=state,
            profile=prof,
            ref=ref.astype(np.int32),
        )

    def step(self, shards: int = 1) -> ActionBatch:
        """Advance one tick and return its actions in canonical order.

        ``shards`` > 1 decides each shard of users (by id modulo) separately and
        merges them, as distributed workers would; the result is the same.
        """
        tick = self.tick
        parts = [self.decide(tick, i, shards) for i in range(max(shards, 1))]
        arrivals = self._arrive(tick)
        signups = self._batch(
            tick,
            arrivals,
            np.full(len(arrivals), SIGN_UP, np.uint8),
            np.full(len(arrivals), -1, np.int64),
            self.population.profile[arrivals],
            self.population.state[arrivals],
            np.full(len(arrivals), -1, np.int64),
        )
        merged = ActionBatch.concat(tick, [*parts, signups])
        batch = merged.take(merged.canonical_order())
        batch.seq0 = self.seq
        self.apply(batch)
        self.seq += len(batch)
        self.tick += 1
        return batch

    def apply(self, batch: ActionBatch) -> None:
        """Apply a canonical batch's effects to the world, assigning new post ids in order.

        Likes, reposts and quotes of a post deleted earlier in the same batch have
        no effect (the API answers them 404); a repost or quote that has no effect
        creates no post (its ``post`` stays -1).
        """
        pop, world, tick, community = self.population, self.world, batch.tick, self.community
        kind, post, ref, user = batch.kind, batch.post, batch.ref, batch.user
        deletes = np.flatnonzero(kind == DELETE_POST)
        reads = np.flatnonzero(kind == READ_POST)
        updates = np.flatnonzero(kind == UPDATE_POST)
        likes = np.flatnonzero(kind == LIKE_POST)
        sharing = np.flatnonzero((kind == REPOST) | (kind == QUOTE_POST))

        # a user deletes only its own posts and acts once a tick: no post is deleted twice
        world.deleted_tick[post[deletes]] = tick
        order = np.argsort(post[deletes])
        deleted_posts, deleted_at = post[deletes][order], deletes[order]

        def still_there(targets: NDArray[np.int32], rows: NDArray[np.intp]) -> NDArray[np.bool_]:
            """Whether each action at ``rows`` comes before any delete of its target."""
            ok = np.ones(len(rows), dtype=bool)
            # only targets deleted in this very tick can have gone before their action
            maybe = np.flatnonzero(world.deleted_tick[targets] == tick)
            ok[maybe] = rows[maybe] < deleted_at[np.searchsorted(deleted_posts, targets[maybe])]
            return ok

        counted = post[reads[still_there(post[reads], reads)]]
        viewed = add_counts(world.views, counted)
        world.remember_reads(counted)
        liked_rows = likes[still_there(post[likes], likes)]
        liked = community.add_likes(
            user[liked_rows].astype(np.int64), post[liked_rows].astype(np.int64), world, pop
        )
        shared_rows = sharing[still_there(ref[sharing], sharing)]
        world.updated_tick[post[updates]] = tick

        creating = np.sort(np.concatenate([np.flatnonzero(kind == CREATE_POST), shared_rows]))
        authors = user[creating]
        refs = ref[creating].astype(np.int64)
        is_share = refs >= 0
        # a share takes its original's tag; a new post is tagged by its author's interests
        tags = world.tag[np.maximum(refs, 0)].astype(np.int64)
        tags[~is_share] = community.post_tags(tick, authors[~is_share].astype(np.int64))
        ids = world.add_posts(authors, tick, pop.last_post[authors], tags, np.where(is_share, refs, -1))
        post[creating] = ids
        pop.last_post[authors] = ids
        pop.n_posts[authors] += 1
        shared = ref[shared_rows].astype(np.int64)
        reposted = kind[shared_rows] == REPOST
        add_counts(world.reposts, shared[reposted])
        add_counts(world.quotes, shared[~reposted])

        follows = np.flatnonzero(kind == FOLLOW_USER)
        community.add_follows(user[follows].astype(np.int64), ref[follows].astype(np.int64), pop)
        unfollows = np.flatnonzero(kind == UNFOLLOW_USER)
        community.remove_follows(user[unfollows].astype(np.int64), ref[unfollows].astype(np.int64), pop)

        if self._trends_on:
            touched = np.concatenate([viewed, liked, shared, ids])
            community.trends.update_pool(world, pop, touched, tick)
        world.close_tick(tick)

    # --- views ----------------------------------------------------------------------

    def user(self, user_id: int) -> SimUser:
        """A read-only view of one user (for people and logs, not the hot path)."""
        pop = self.population
        if not 0 <= user_id < pop.n:
            raise IndexError(f"user {user_id} does not exist yet (there are {pop.n} users)")
        ids = np.array([user_id])
        factions = self.config.population.factions
        return SimUser(
            id=user_id,
            name=user_names(self.seed, ids)[0],
            avatar=user_avatars(self.seed, ids)[0],
            faction=factions[int(user_factions(self.seed, ids, len(factions))[0])],
            profile=self.profile_names[pop.profile[user_id]],
            state=self.routine.state_names[pop.state[user_id]],
            created_at=self.config.start
            + dt.timedelta(seconds=int(pop.created_tick[user_id]) * self.config.tick_seconds),
            shift_minutes=int(pop.shift[user_id]),
            activity_level=float(pop.level[user_id]),
            actions=int(pop.n_actions[user_id]),
            posts=int(pop.n_posts[user_id]),
        )

    def state_arrays(self) -> dict[str, Any]:
        """Everything a snapshot needs besides the config: clock, users, world."""
        return {
            "clock": np.array([self.tick, self.seq, self.seed], dtype=np.int64),
            **{f"users.{k}": v for k, v in self.population.arrays().items()},
            **{f"posts.{k}": v for k, v in self.world.arrays().items()},
            **{f"community.{k}": v for k, v in self.community.arrays().items()},
        }

    def load_state(self, arrays: dict[str, Any]) -> None:
        """Replace the state with ``arrays`` (as returned by :meth:`state_arrays`)."""

        def group(prefix: str) -> dict[str, Any]:
            return {k[len(prefix) + 1 :]: v for k, v in arrays.items() if k.startswith(prefix + ".")}

        tick, seq, seed = (int(x) for x in np.asarray(arrays["clock"])[:3])
        self.population.load(group("users"))
        self.world.load(group("posts"), ticks_seen=tick)
        self.community.load(group("community"))
        self.tick, self.seq, self.seed = tick, seq, seed
