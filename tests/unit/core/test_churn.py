"""People who leave and return: spells, dormancy, and the retention they add up to."""

from __future__ import annotations

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simcore.core.churn import Churn, lomax_survival
from simcore.core.simulation import Simulation
from simcore.core.users import Population
from simcore.errors import ConfigError
from simcore.scenario.parse import loads_config, with_overrides
from simcore.scenario.schema import Config


@given(st.floats(0.05, 5.0), st.floats(0.2, 3.0), st.floats(0.0, 60.0))
@settings(max_examples=10)
def test_spells_follow_the_lomax_law(scale: float, tail: float, age: float) -> None:
    """The share of spells longer than t days is (1 + t / (scale + age)) ** -tail."""
    config = attrs.evolve(
        Config(), churn=attrs.evolve(Config().churn, lifetime_days=scale, lifetime_tail=tail)
    )
    churn = Churn(config, 7, Population())
    days = churn.spell_ticks(np.arange(40_000, dtype=np.int64), 0, age) / churn.ticks_per_day
    for t in (0.5, 1.0, 7.0, 30.0):
        want = lomax_survival(t, scale + age, tail)
        assert abs(float((days > t).mean()) - want) < 0.015, (t, want)


def _newcomers(config: Config, days: int) -> Simulation:
    """Only newcomers: 100 an hour, none at the start, ``days`` at 5-minute ticks."""
    arrivals = attrs.evolve(config.population.arrivals, curve="constant", rate_per_hour=100.0)
    return Simulation(
        with_overrides(
            config,
            population__initial_users=0,
            population__arrivals=arrivals,
            duration=f"{days}d",
            tick_seconds=300,
        )
    )


def test_dormant_users_never_act_and_some_come_back(default_config: Config) -> None:
    """A user acts only inside an active spell; some users go dormant and some return."""
    sim = _newcomers(default_config, 4)
    went, returned = set(), set()
    for _ in range(sim.config.duration_ticks):
        churn = sim.population.churn[: sim.population.n].copy()
        batch = sim.step()
        acting = batch.user[(batch.kind != 0) & (batch.user < len(churn))]
        c = churn[acting].astype(np.int64)
        # dormant users act only on the tick they come back
        assert np.all((c >= 0) | (-c <= batch.tick))
        now = sim.population.churn[: sim.population.n]
        went |= set(np.flatnonzero(now < 0).tolist())
        returned |= set(np.flatnonzero((churn < 0) & (now[: len(churn)] >= 0)).tolist())
    assert len(went) > 0.3 * sim.population.n
    assert returned


@pytest.mark.slow  # 9 simulated days of 2,400 newcomers a day at 5-minute ticks
def test_newcomers_retention_has_the_default_shape(default_config: Config) -> None:
    """Newcomers of the default crowd: ~40% active on their day 1, ~20% on day 7."""
    from simcore.analysis import crowd

    sim = _newcomers(default_config, 9)
    times, users, kinds = [], [], []
    for _ in range(sim.config.duration_ticks):
        b = sim.step()
        times.append(b.tick * 300_000 + b.offset_ms.astype(np.int64))
        users.append(b.user.astype(np.int64))
        kinds.append(b.kind.astype(np.int64))
    t = np.concatenate(times)
    cols = crowd.LogColumns(t, np.concatenate(users), np.concatenate(kinds), np.full(len(t), -1))
    kept = crowd.retention(cols)
    assert 0.30 <= kept["day1"] <= 0.50, kept
    assert 0.12 <= kept["day7"] <= 0.30, kept


def test_churn_off_keeps_everyone(default_config: Config) -> None:
    """churn.enabled = false: nobody ever goes dormant."""
    config = with_overrides(default_config, churn__enabled=False)
    sim = _newcomers(config, 2)
    for _ in range(sim.config.duration_ticks):
        sim.step()
    assert np.all(sim.population.churn[: sim.population.n] >= 0)


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("[churn]\nlifetime_days = 0", "churn.lifetime_days"),
        ("[churn]\nreturn_share = 1.5", "churn.return_share"),
        ('[churn]\ndormancy_median = "soon"', "churn.dormancy_median"),
        ('[churn]\nenabled = "yes"', "churn.enabled"),
    ],
)
def test_a_bad_churn_table_names_its_key_path(text: str, path: str) -> None:
    """Each churn mistake is reported at its TOML key path."""
    with pytest.raises(ConfigError) as info:
        loads_config(text)
    assert f"  {path}: " in str(info.value)
