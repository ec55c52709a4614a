"""The arrival process: the initial population at tick 0, then Poisson sign-ups along the
growth curve; each newcomer draws its profile, schedule shift and activity level."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from simcore.core import rng
from simcore.core.events import Events
from simcore.core.sessions import Sessions, per_profile
from simcore.core.users import Population
from simcore.scenario.schedule import MINUTES_PER_DAY
from simcore.scenario.schema import Config

S_SPAWN = rng.stream_id("population.spawn")
S_PROFILE = rng.stream_id("user.profile")
S_SHIFT = rng.stream_id("user.shift")
S_LEVEL = rng.stream_id("user.level")


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


class Arrivals:
    """Adds the tick's new users to a population, in their routine state, with a first session."""

    def __init__(
        self,
        config: Config,
        seed: int,
        population: Population,
        sessions: Sessions,
        events: Events | None = None,
    ) -> None:
        self.config = config
        self.events = events
        self.seed = seed
        self.population = population
        self.sessions = sessions
        mix = np.array([max(config.population.mix.get(n, 0.0), 0.0) for n in config.profiles])
        self.mix_cumulative = np.cumsum(mix / mix.sum())
        self.shift_mean = per_profile(config, "shift_minutes")
        self.shift_spread = per_profile(config, "shift_spread_minutes")
        self.level_spread = per_profile(config, "activity_spread")

    def count(self, tick: int) -> int:
        """How many users sign up in ``tick`` (bounded by ``max_users``)."""
        cfg = self.config
        count = cfg.population.initial_users if tick == 0 else 0
        count += rng.poisson(
            self.seed, S_SPAWN, tick, arrival_rate(cfg, tick) * cfg.tick_seconds / 3600.0
        )
        if self.events is not None:
            count += self.events.extra_arrivals(tick)
        return min(count, cfg.population.max_users - self.population.n)

    def arrive(self, tick: int) -> NDArray[np.int64]:
        """Sign up the tick's newcomers; return their ids."""
        count = self.count(tick)
        if count <= 0:
            return np.zeros(0, dtype=np.int64)
        pop, seed = self.population, self.seed
        ids = pop.grow_to(pop.n + count)
        pop.created_tick[ids] = tick
        prof = rng.choice(seed, S_PROFILE, 0, ids, self.mix_cumulative).astype(np.uint8)
        pop.profile[ids] = prof
        shift = self.shift_mean[prof] + self.shift_spread[prof] * rng.normal(seed, S_SHIFT, 0, ids)
        half = MINUTES_PER_DAY // 2
        pop.shift[ids] = (np.round(shift).astype(np.int64) + half) % MINUTES_PER_DAY - half
        pop.level[ids] = np.exp(self.level_spread[prof] * rng.normal(seed, S_LEVEL, 0, ids))
        sessions = self.sessions
        local = sessions.routine.local_minute(
            np.full(count, sessions.sim_minute(tick), np.int64), pop.shift[ids]
        )
        pop.state[ids] = sessions.routine.state_of(local)
        sessions.schedule_edge(ids, local, tick)
        initial = ids < self.config.population.initial_users if tick == 0 else ids < 0
        sessions.churn.sign_up(ids[initial], tick, established=True)
        sessions.churn.sign_up(ids[~initial], tick, established=False)
        sessions.start_first(ids, tick)
        return ids
