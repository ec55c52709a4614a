"""Users leave and some come back: each user's active spells and dormancies.

A user is active for a heavy-tailed spell, then dormant; with the config's
``return_share`` it comes back after a lognormal dormancy for a new spell, else it
never does. One int32 per user holds where it is (``Population.churn``): ``>= 0`` is
the tick its active spell ends, ``< 0`` means dormant until tick ``-churn``
(``-NEVER``: for good).

The gate sits where a user's next session is scheduled
(:meth:`~simcore.core.sessions.Sessions.set_next_session`): a session that would start
after the spell's end does not; the user goes dormant then and its next session is its
return. (A user with no session scheduled, NEVER, e.g. asleep in a state it does not
act in, stays as it is until an edge schedules one.) A spell length is Lomax (Pareto II): ``P(spell > t) = (1 + t / scale) ** -tail``;
users present at the start are ``established_days`` old, and the remaining spell of a
Lomax user of age ``a`` is Lomax with scale ``scale + a``. Draws are keyed by (seed,
stream, tick, user) on streams of their own.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from simcore.core import rng
from simcore.core.routine import NEVER
from simcore.core.users import Population
from simcore.scenario.durations import parse_seconds
from simcore.scenario.schema import Config

S_SPELL = rng.stream_id("churn.spell")
S_RETURN = rng.stream_id("churn.return")
S_DORMANCY = rng.stream_id("churn.dormancy")


class Churn:
    """Active spells and dormancies of a population (inactive if ``churn.enabled`` is false)."""

    def __init__(self, config: Config, seed: int, population: Population) -> None:
        c = config.churn
        self.on = c.enabled
        self.seed = seed
        self.population = population
        self.ticks_per_day = 86400.0 / config.tick_seconds
        self.scale = c.lifetime_days
        self.tail = max(c.lifetime_tail, 1e-9)
        self.established = c.established_days
        self.return_share = c.return_share
        self.dormancy_median = (
            parse_seconds(c.dormancy_median, config.tick_seconds) / config.tick_seconds
            if self.on
            else 0.0
        )
        self.dormancy_spread = c.dormancy_spread

    def spell_ticks(self, users: NDArray[np.int64], tick: int, age_days: float) -> NDArray[np.float64]:
        """A heavy-tailed active spell (in ticks) for each user, at ``age_days`` since sign-up."""
        u = rng.uniform_open(self.seed, S_SPELL, tick, users)
        days = (self.scale + age_days) * (np.power(u, -1.0 / self.tail) - 1.0)
        out: NDArray[np.float64] = np.minimum(days * self.ticks_per_day, float(NEVER))
        return out

    def sign_up(self, users: NDArray[np.int64], tick: int, established: bool) -> None:
        """Start the new users' first spells (of users already ``established_days`` old if
        ``established``: the community present at the start)."""
        if not self.on:
            return
        age = self.established if established else 0.0
        end = tick + np.ceil(self.spell_ticks(users, tick, age))
        self.population.churn[users] = np.minimum(end, NEVER).astype(np.int32)

    def gate(self, users: NDArray[np.int64], ticks: NDArray[np.int64], tick: int) -> NDArray[np.int64]:
        """The users' next session ticks (``ticks``) once spells and dormancies are applied:
        users back from dormancy start a new spell; dormant users' next session is their
        return; a session due after a spell's end sends the user dormant instead."""
        if not self.on or len(users) == 0:
            return ticks
        pop = self.population
        c = pop.churn[users].astype(np.int64)
        back = np.flatnonzero((c < 0) & (tick >= -c))
        if len(back):
            c[back] = np.minimum(tick + np.ceil(self.spell_ticks(users[back], tick, 0.0)), NEVER)
        out = np.where(c < 0, -c, ticks)
        ending = np.flatnonzero((c >= 0) & (out >= c) & (out < NEVER))
        if len(ending):
            who = users[ending]
            returns = rng.uniform(self.seed, S_RETURN, tick, who) < self.return_share
            sleep = self.dormancy_median * np.exp(
                self.dormancy_spread * rng.normal(self.seed, S_DORMANCY, tick, who)
            )
            back_at = np.minimum(c[ending] + np.maximum(np.ceil(sleep), 1.0), NEVER)
            back_at = np.where(returns, back_at, NEVER).astype(np.int64)
            out[ending] = back_at
            c[ending] = -back_at
            pop.session_left[who] = 0
        pop.churn[users] = c.astype(np.int32)
        return out

    def active(self, tick: int) -> NDArray[np.bool_]:
        """Which users are in an active spell at ``tick`` (everyone when churn is off)."""
        pop = self.population
        c = pop.churn[: pop.n].astype(np.int64)
        if not self.on:
            return np.ones(pop.n, dtype=bool)
        out: NDArray[np.bool_] = ((c >= 0) & (c > tick)) | ((c < 0) & (tick >= -c))
        return out


def lomax_survival(days: float, scale: float, tail: float) -> float:
    """P(an active spell lasts more than ``days``): the curve the defaults are tuned to."""
    return math.pow(1.0 + days / scale, -tail)
