"""The deciding core: ``Simulation.step()`` turns (config, seed, state, tick) into an ActionBatch.

A tick runs the phases of :attr:`Simulation.plan` in order (see :mod:`simcore.core.step`):

- ``wake``: users whose calendar entry is due; those at a block edge change state
  (:class:`~simcore.core.sessions.Sessions`);
- ``act``: the due users whose next session is due take one action: a session
  opener or a kind drawn from their profile's weights in their state;
- ``target``: each action's target, from the world as it stood at the start of the tick
  (:class:`~simcore.core.choice.Targeting`);
- ``arrive``: new users sign up (:class:`~simcore.core.arrivals.Arrivals`);
- ``order``: the batch, sorted by (sub-tick offset, user);
- ``apply``: its effects on the world, new posts getting ids in that order
  (:func:`~simcore.core.effects.apply_effects`).

Only the users whose edge or action is due are touched, so the cost follows
the actions, not users × ticks. No I/O, no wall clock, no global RNG: every
draw is keyed by (seed, stream, tick, user).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from attrs import frozen
from numpy.typing import NDArray

from simcore.core import rng
from simcore.core.actions import BROWSE_FEED, SIGN_UP, ActionBatch, KindTables
from simcore.core.arrivals import Arrivals
from simcore.core.choice import Targeting, choose_kinds
from simcore.core.community import Community
from simcore.core.effects import apply_effects
from simcore.core.events import Events
from simcore.core.routine import NEVER, CompiledRoutine
from simcore.core.sessions import Sessions
from simcore.core.step import Plan, ShardWork, TickWork, run_plan
from simcore.core.users import (
    Population,
    SimUser,
    user_avatars,
    user_factions,
    user_names,
)
from simcore.core.world import World
from simcore.errors import UsageError
from simcore.scenario.durations import parse_seconds
from simcore.scenario.schema import Config

S_OFFSET = rng.stream_id("action.offset")


@frozen
class Decision:
    """One shard's decisions for a tick (:meth:`Simulation.decide`): its users' actions and
    sign-ups in canonical order, and the :data:`~simcore.core.users.DECIDED_FIELDS` rows of
    the users it woke, as they stand after deciding."""

    batch: ActionBatch
    users: NDArray[np.int64]
    rows: dict[str, NDArray[Any]]


class Simulation:
    """The whole deciding state of a run, stepped one tick at a time."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.seed = int(config.seed)  # the one seed is the config's
        self.routine = CompiledRoutine.build(config.routine, config.start)
        self.kinds = KindTables(config, self.routine.state_names)
        self.profile_names = tuple(config.profiles)
        self.population = Population(max(config.population.initial_users, 1024))
        self.world = World(memory=config.targets.popular_memory)
        trend_half_life = (
            parse_seconds(config.trends.half_life, config.tick_seconds) / config.tick_seconds
        )
        self.community = Community(config, self.seed, trend_half_life)
        self.sessions = Sessions(config, self.seed, self.routine, self.population)
        self.events = Events(config, self.seed)
        self.arrivals = Arrivals(config, self.seed, self.population, self.sessions, self.events)
        self.targeting = Targeting(
            config, self.seed, self.population, self.world, self.community, self.events
        )
        # the trending pool is only kept when some read uses it (it costs a re-rank a tick)
        self._trends_on = config.targets.trending_share > 0
        self.tick = 0
        self.seq = 0
        #: (shard, shards) if this simulation decides only users ``id % shards == shard``
        #: (:meth:`own`); the other users' calendars are parked at NEVER here
        self.owned: tuple[int, int] | None = None
        #: The phases of a tick, in order; replace with :func:`~simcore.core.step.wrap_phases`
        #: of itself to time or trace them.
        self.plan: Plan = (
            ("wake", self.wake),
            ("act", self.act),
            ("target", self.target),
            ("arrive", self.arrive),
            ("order", self.order),
            ("apply", self.apply),
        )

    def sim_minute(self, tick: int) -> int:
        """Whole simulated minutes from the start to the beginning of ``tick``."""
        return self.sessions.sim_minute(tick)

    def step(self, shards: int = 1) -> ActionBatch:
        """Advance one tick and return its actions in canonical order.

        ``shards`` > 1 decides each shard of users (by id modulo) separately and
        merges them, as distributed workers would; the result is the same.
        """
        batch = run_plan(self.plan, TickWork(self.tick, max(shards, 1)))
        self.seq += len(batch)
        self.tick += 1
        return batch

    # --- deciding in shards (distributed workers) ---------------------------------------

    def own(self, shard: int, shards: int) -> None:
        """From now on decide only the users of ``shard`` (:meth:`shard_of`, :meth:`decide`); park the
        others' calendars so the due scan never wakes them. Call again after :meth:`load_state`."""
        if not 0 <= shard < shards:
            raise UsageError(f"shard {shard} is not one of 0..{shards - 1}")
        self.owned = (shard, shards)
        self._park(np.arange(self.population.n, dtype=np.int64))

    def shard_of(self, users: NDArray[Any], shards: int) -> NDArray[np.int64]:
        """The shard that decides (and, on workers, executes) each of ``users``: id modulo
        ``shards``. Any rule gives the same batches; this is the one place that sets it."""
        shard: NDArray[np.int64] = users.astype(np.int64, copy=False) % shards
        return shard

    def _park(self, users: NDArray[np.int64]) -> None:
        if self.owned is not None:
            shard, shards = self.owned
            self.population.next_event[users[self.shard_of(users, shards) != shard]] = NEVER

    def decide(self) -> Decision:
        """Decide the tick for the owned shard of users (:meth:`own`) without changing the
        world: its users' actions and sign-ups, and the rows of the users it woke. The world
        changes when the tick's merged batch (:meth:`merge` of every shard's decision) is
        handed to :meth:`commit`."""
        shards = self.owned[1] if self.owned is not None else 1
        work = TickWork(self.tick, shards)
        for name, phase in self.plan:
            if name != "apply":
                phase(work)
        users = np.concatenate([part.due for part in work.parts])
        return Decision(work.ordered(), users, self.population.rows(users))

    def merge(self, decisions: list[Decision]) -> ActionBatch:
        """The tick's batch from every shard's decision, in canonical order, numbered from
        the run's next sequence number (the same batch :meth:`step` returns)."""
        merged = ActionBatch.concat(self.tick, [d.batch for d in decisions])
        key = (merged.offset_ms.astype(np.int64) << 32) | merged.user.astype(np.int64)
        batch = merged.take(np.argsort(key, kind="stable"))  # merges the shards' sorted runs
        batch.seq0 = self.seq
        return batch

    def commit(self, batch: ActionBatch) -> None:
        """Apply a decided tick's merged batch to the world and go on to the next tick (after
        :meth:`decide` by a simulation that owns a shard)."""
        self.apply(TickWork(self.tick, batch=batch))
        self.seq += len(batch)
        self.tick += 1

    def follow(self, decisions: list[Decision], batch: ActionBatch) -> None:
        """Live the tick that ``decisions`` (of every shard) decided and ``batch`` merged,
        deciding nobody: take the deciders' rows, sign up the newcomers, apply the batch."""
        for d in decisions:
            self.population.set_rows(d.users, d.rows)
        self.arrivals.arrive(self.tick)
        self.commit(batch)

    # --- the phases of a tick -------------------------------------------------------

    def wake(self, work: TickWork) -> None:
        """Find each shard's due users and move those at a block edge into their new state."""
        pop = self.population
        due = np.flatnonzero(pop.next_event[: pop.n] <= work.tick)
        if self.owned is not None:
            work.parts = [ShardWork(due)]  # the others are parked: only the owned wake
        elif work.shards == 1:
            work.parts = [ShardWork(due)]
        else:
            shard = self.shard_of(due, work.shards)
            work.parts = [ShardWork(due[shard == i]) for i in range(work.shards)]
        for part in work.parts:
            self.sessions.cross_edges(part.due, work.tick)

    def act(self, work: TickWork) -> None:
        """The due users whose session is due take a turn: a kind, and their next turn's tick."""
        pop = self.population
        give_up = self.events.give_up_after(work.tick)  # an outage: retry the opener, give up
        for part in work.parts:
            users = part.due[pop.next_session[part.due] <= work.tick]
            prof, state = pop.profile[users], pop.state[users]
            starting = self.sessions.take_turns(users, prof, state, work.tick, give_up)
            part.kind = choose_kinds(
                self.kinds, self.seed, work.tick, users, prof, state, starting, pop.last_kind[users]
            )
            if give_up is not None:
                opener = self.kinds.opener[prof]
                part.kind = np.where(opener == 255, BROWSE_FEED, opener).astype(np.uint8)
            if self.kinds.flows:
                pop.last_kind[users] = self.kinds.choice_index[part.kind]
            part.users, part.profile, part.state = users, prof, state

    def target(self, work: TickWork) -> None:
        """Each action's target post and referenced post or user (or a fallback to browsing)."""
        for part in work.parts:
            part.post, part.ref = self.targeting.choose(part.users, part.kind, work.tick)

    def arrive(self, work: TickWork) -> None:
        """Sign up the tick's new users (a shard's owner: in its batch, only its own)."""
        work.arrivals = self.arrivals.arrive(work.tick)
        if self.owned is not None:
            self._park(work.arrivals)
            shard, shards = self.owned
            work.arrivals = work.arrivals[self.shard_of(work.arrivals, shards) == shard]

    def order(self, work: TickWork) -> None:
        """Merge the shards' actions and the sign-ups into one batch in canonical order."""
        tick, new = work.tick, work.arrivals
        parts = [
            self._batch(tick, p.users, p.kind, p.post, p.profile, p.state, p.ref) for p in work.parts
        ]
        none = np.full(len(new), -1, np.int64)
        kind = np.full(len(new), SIGN_UP, np.uint8)
        pop = self.population
        signups = self._batch(tick, new, kind, none, pop.profile[new], pop.state[new], none)
        merged = ActionBatch.concat(tick, [*parts, signups])
        work.batch = merged.take(merged.canonical_order())
        work.batch.seq0 = self.seq

    def apply(self, work: TickWork) -> None:
        """Apply the batch's effects to the world, assigning new post ids in order; tag each
        action with its post's tag."""
        batch = work.ordered()
        codes = self.targeting.codes
        apply_effects(batch, self.world, self.population, self.community, self._trends_on, codes)
        post = codes.post_of(batch)
        batch.tag = np.where(post >= 0, self.world.tag[np.maximum(post, 0)], -1).astype(np.int16)

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

    # --- views and state --------------------------------------------------------------

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
        """Replace the state with ``arrays`` (as returned by :meth:`state_arrays`) of a run with
        the same seed."""

        def group(prefix: str) -> dict[str, Any]:
            return {k[len(prefix) + 1 :]: v for k, v in arrays.items() if k.startswith(prefix + ".")}

        tick, seq, seed = (int(x) for x in np.asarray(arrays["clock"])[:3])
        if seed != self.seed:
            raise UsageError(
                f"the state was saved by a run with seed {seed}, this simulation has seed {self.seed}; "
                f"build the Simulation with seed={seed} to continue it"
            )
        self.population.load(group("users"))
        self.world.load(group("posts"), ticks_seen=tick)
        self.community.load(group("community"))
        self.tick, self.seq = tick, seq
        if self.owned is not None:
            self.own(*self.owned)
