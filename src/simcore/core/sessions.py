"""When users act: block edges of their routine, session starts, lengths and think times.

Every user has a calendar entry ``next_event = min(next_session, next_edge)``. At a
block edge the user's state changes and, if its activity changed, the time to its
next session is redrawn (exponential waits are memoryless). Within a session each
action is followed by a think time; after the last one, by the gap to the next
session. Every draw is keyed by (seed, stream, tick, user).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from simcore.core import rng
from simcore.core.churn import Churn
from simcore.core.routine import NEVER, CompiledRoutine
from simcore.core.users import Population
from simcore.scenario.schema import Config

S_JITTER = rng.stream_id("routine.jitter")
S_GAP_NEW = rng.stream_id("session.gap.new")
S_GAP_EDGE = rng.stream_id("session.gap.edge")
S_NEXT = rng.stream_id("session.next")
S_LENGTH = rng.stream_id("session.length")


def per_profile(config: Config, attr: str) -> NDArray[np.float64]:
    """One profile attribute as an array indexed by profile number."""
    return np.array([getattr(p, attr) for p in config.profiles.values()], dtype=np.float64)


class Sessions:
    """Session and block-edge timing for a population (its ``next_*`` and ``session_left``)."""

    def __init__(
        self, config: Config, seed: int, routine: CompiledRoutine, population: Population
    ) -> None:
        self.seed = seed
        self.routine = routine
        self.population = population
        #: spells and dormancies: the gate every scheduled session passes
        self.churn = Churn(config, seed, population)
        self.minutes_per_tick = config.tick_seconds / 60.0
        self.jitter = per_profile(config, "jitter_minutes")
        self.session_actions = per_profile(config, "session_actions")
        self.think_ticks = per_profile(config, "think_seconds") / config.tick_seconds
        self.n_states = len(routine.state_names)
        # sessions per tick at level 1, by profile * n_states + state
        rate_per_tick = per_profile(config, "activity") * config.tick_seconds / 3600.0
        rate = rate_per_tick[:, None] * routine.activity[None, :]
        # a profile with no weights in a state does not act in it (a config written before the
        # default's sleepers woke up at night keeps its sleepers asleep)
        lacks = set(config.backend.lacks)
        for p, profile in enumerate(config.profiles.values()):
            for s, state in enumerate(routine.state_names):
                row = profile.weights.get(state, {})
                if not any(w > 0 for k, w in row.items() if k not in lacks):
                    rate[p, s] = 0.0
        self.session_rate = rate.ravel()

    def sim_minute(self, tick: int) -> int:
        """Whole simulated minutes from the start to the beginning of ``tick``."""
        return math.floor(tick * self.minutes_per_tick)

    # --- block edges ------------------------------------------------------------------

    def edge_tick(
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
        # an edge may fall due in this very tick (short blocks, coarse ticks): cross_edges
        # takes it before anyone acts
        return np.clip(ticks, tick, NEVER).astype(np.int64)

    def schedule_edge(self, users: NDArray[np.int64], local_now: NDArray[np.int64], tick: int) -> None:
        """Put the users' next block edge after local minute ``local_now`` in their calendar."""
        nxt = self.routine.next_edge(local_now)
        self.population.edge_minute[users] = nxt
        self.population.next_edge[users] = self.edge_tick(users, nxt, tick)

    def cross_edges(self, due: NDArray[np.int64], tick: int) -> None:
        """Move the ``due`` users whose block edges fall due by ``tick`` into their new states."""
        pop = self.population
        rounds = 0
        users = due[pop.next_edge[due] <= tick]
        crossed = users
        while len(users):  # one round per edge: a user may cross several in a coarse tick
            edge = pop.edge_minute[users].astype(np.int64)
            row = pop.profile[users].astype(np.intp) * self.n_states
            old_activity = self.session_rate[row + pop.state[users]]
            pop.state[users] = self.routine.state_of(edge)
            new_activity = self.session_rate[row + pop.state[users]]
            self.schedule_edge(users, edge, tick)
            changed = new_activity != old_activity
            in_session = pop.session_left[users] > 0
            asleep = changed & in_session & (new_activity == 0)
            pop.session_left[users[asleep]] = 0
            redraw = users[changed & (~in_session | asleep)]
            gap = self.session_gap(redraw, tick, S_GAP_EDGE, rounds)
            pop.next_session[redraw] = np.minimum(tick + gap, NEVER)
            rounds += 1
            users = users[pop.next_edge[users] <= tick]
        self.set_next_session(crossed, pop.next_session[crossed], tick)

    # --- sessions ---------------------------------------------------------------------

    def session_gap(
        self, users: NDArray[np.int64], tick: int, stream: int, k: int = 0
    ) -> NDArray[np.int64]:
        """Whole ticks until the next session starts at the users' current rates (NEVER at rate 0)."""
        pop = self.population
        wait = rng.exponential(self.seed, stream, tick, users, k)
        return self.gap(wait, users, pop.profile[users], pop.state[users]).astype(np.int64)

    def gap(
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

    def set_next_session(self, users: NDArray[np.int64], ticks: NDArray[Any], tick: int) -> None:
        """Set the users' next session (or action) tick and their calendar entry, through the
        churn gate (a user past its active spell goes dormant instead)."""
        pop = self.population
        if self.churn.on:
            ticks = self.churn.gate(users, np.minimum(ticks, NEVER).astype(np.int64), tick)
        clipped = np.minimum(ticks, NEVER).astype(np.int32)
        pop.next_session[users] = clipped
        pop.next_event[users] = np.minimum(clipped, pop.next_edge[users])

    def start_first(self, users: NDArray[np.int64], tick: int) -> None:
        """Schedule the first session of users who just signed up."""
        self.set_next_session(users, tick + 1 + self.session_gap(users, tick, S_GAP_NEW), tick)

    def take_turns(
        self,
        users: NDArray[np.int64],
        prof: NDArray[np.uint8],
        state: NDArray[np.uint8],
        tick: int,
        cap: int | None = None,
    ) -> NDArray[np.intp]:
        """Count one action for each of the acting ``users`` (sorted) and schedule their next;
        return the positions of those whose action opens a new session. ``cap`` bounds the
        actions left in a session (an outage: the crowd gives up)."""
        pop, seed = self.population, self.seed
        left = pop.session_left[users].astype(np.int64)
        starting = np.flatnonzero(left == 0)
        left[starting] = rng.geometric(
            seed, S_LENGTH, tick, users[starting], self.session_actions[prof[starting]]
        )
        if cap is not None:
            left = np.minimum(left, cap)
        left -= 1
        pop.session_left[users] = np.minimum(left, np.iinfo(np.uint16).max).astype(np.uint16)
        # one exponential per actor: the think time before its next action in the session,
        # or, if the session ended, the gap to the next session
        wait = rng.exponential(seed, S_NEXT, tick, users)
        nxt = tick + np.maximum(np.ceil(wait * self.think_ticks[prof]), 1.0)
        ended = np.flatnonzero(left <= 0)
        nxt[ended] = tick + 1 + self.gap(wait[ended], users[ended], prof[ended], state[ended])
        self.set_next_session(users, nxt, tick)
        pop.n_actions[users] += 1  # here, where users are sorted: cheaper than in apply
        return starting
