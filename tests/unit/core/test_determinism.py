"""Invariants 1 and 4: the same seed gives the same log; sharding changes nothing;
adding users or profiles leaves everyone else's draws alone."""

from __future__ import annotations

import attrs
import numpy as np
import pytest
from attrs import evolve
from hypothesis import given, settings
from hypothesis import strategies as st

from simcore.core import rng
from simcore.core.simulation import Simulation
from simcore.errors import UsageError
from simcore.scenario.parse import with_overrides
from simcore.scenario.schema import Config, Profile
from tests.support.helpers import batches, log_text


def test_same_seed_same_log_bytes(small_config: Config) -> None:
    """Two runs with one seed write byte-identical logs."""
    first = log_text(small_config, seed=7)
    assert first == log_text(small_config, seed=7)
    assert len(first.splitlines()) > 1000


def test_other_seed_other_log(small_config: Config) -> None:
    """Another seed gives another log."""
    assert log_text(small_config, seed=7) != log_text(small_config, seed=8)


@pytest.mark.slow
@settings(max_examples=8)
@given(st.integers(2, 7), st.integers(0, 2**32))
def test_any_sharding_gives_the_same_batches(shards: int, seed: int) -> None:
    """Deciding users in any number of shards and merging gives the single-process batches."""
    from simcore.scenario.parse import loads_config

    config = with_overrides(loads_config(""), population__initial_users=150, duration="3h")
    for whole, split in zip(batches(config, seed), batches(config, seed, shards)):
        assert whole.equals(split)


def test_adding_users_leaves_existing_users_alone(small_config: Config) -> None:
    """Users 0..N-1 get the same attributes and act at the same moments when more users exist."""
    few = Simulation(small_config)
    many = Simulation(with_overrides(small_config, population__initial_users=400))
    moments_few, moments_many = [], []
    for _ in range(small_config.duration_ticks):
        a, b = few.step(), many.step()
        moments_few.append(np.stack([a.user, a.offset_ms])[:, a.user < 200].T.tolist())
        moments_many.append(np.stack([b.user, b.offset_ms])[:, b.user < 200].T.tolist())
    assert moments_few == moments_many
    for name in ("profile", "shift", "level", "created_tick"):
        assert np.array_equal(getattr(few.population, name)[:200], getattr(many.population, name)[:200])


def test_adding_an_unused_profile_changes_nothing(small_config: Config) -> None:
    """A new profile with no share in the mix leaves the whole run identical."""
    extra = dict(small_config.profiles)
    extra["newcomer"] = Profile(
        activity=5.0, weights={"working": {"create_post": 1.0}, "relaxing": {"create_post": 1.0}}
    )
    bigger = attrs.evolve(small_config, profiles=extra)
    assert log_text(small_config) == log_text(bigger)


def test_keyed_draws_do_not_depend_on_which_keys_are_drawn() -> None:
    """Drawing for a subset of keys gives exactly those keys' values from the full draw."""
    keys = np.arange(10_000)
    full = rng.uniform(1, 2, 3, keys)
    subset = keys[::7]
    assert np.array_equal(rng.uniform(1, 2, 3, subset), full[subset])
    assert not np.array_equal(rng.uniform(1, 2, 4, keys), full)
    assert not np.array_equal(rng.uniform(1, rng.stream_id("x"), 3, keys), full)


def test_uniforms_look_uniform() -> None:
    """Keyed uniforms have the moments of U(0, 1) and streams are uncorrelated."""
    keys = np.arange(200_000)
    u = rng.uniform(5, 6, 7, keys)
    v = rng.uniform(5, 9, 7, keys)
    assert abs(u.mean() - 0.5) < 0.005 and abs(u.var() - 1 / 12) < 0.002
    assert abs(np.corrcoef(u, v)[0, 1]) < 0.01
    assert u.min() >= 0.0 and u.max() < 1.0


def test_poisson_mean_and_variance() -> None:
    """The keyed Poisson sampler has mean and variance equal to its rate."""
    for mean in (0.3, 4.0, 40.0):
        draws = np.array([rng.poisson(3, 4, t, mean) for t in range(6000)])
        assert abs(draws.mean() - mean) < 4 * np.sqrt(mean / 6000) + 0.01
        assert abs(draws.var() / mean - 1) < 0.1


def test_state_of_another_seed_is_refused(small_config: Config) -> None:
    """Loading a run's state into a simulation with another seed fails and names both seeds."""
    source = Simulation(evolve(small_config, seed=5))
    for _ in range(30):
        source.step()
    with pytest.raises(UsageError, match=r"seed 5.*seed 6"):
        Simulation(evolve(small_config, seed=6)).load_state(source.state_arrays())
    same = Simulation(evolve(small_config, seed=5))
    same.load_state(source.state_arrays())
    assert same.step().equals(source.step())
