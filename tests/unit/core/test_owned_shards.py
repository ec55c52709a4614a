"""Deciding in owned shards (what distributed workers do): each of N simulations decides only
its own users (``own``/``decide``), the shards' decisions merge into the one-process batch,
and a simulation that decides nobody (``follow``) keeps the whole state of the one-process run."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from simcore.core.simulation import Simulation
from simcore.errors import UsageError
from simcore.scenario.parse import loads_config, with_overrides
from simcore.scenario.schema import Config


def _same_state(a: Simulation, b: Simulation) -> None:
    left, right = a.state_arrays(), b.state_arrays()
    assert left.keys() == right.keys()
    for name in left:
        assert np.array_equal(left[name], right[name]), name


def _run_owned(
    config: Config, shards: int, ticks: int, whole: Simulation, owner: type[Simulation] = Simulation
) -> None:
    owners = [owner(config) for _ in range(shards)]
    for k, one in enumerate(owners):
        one.own(k, shards)
    mirror = Simulation(config)
    for _ in range(ticks):
        expected = whole.step()
        decisions = [one.decide() for one in owners]
        batch = mirror.merge(decisions)
        mirror.follow(decisions, batch)
        for one in owners:
            one.commit(batch)
        assert batch.equals(expected)
        assert np.array_equal(batch.tag, expected.tag)
    _same_state(mirror, whole)


@pytest.mark.slow
@settings(max_examples=6, deadline=None)
@given(st.integers(1, 4), st.integers(0, 2**32))
def test_owned_shards_decide_the_one_process_run(shards: int, seed: int) -> None:
    """Any number of owned shards gives the one-process batches, and the follower its state."""
    config = with_overrides(loads_config(""), seed=seed, population__initial_users=120, duration="2h")
    _run_owned(config, shards, config.duration_ticks, Simulation(config))


class _BlockShards(Simulation):
    """Shards of 7 consecutive ids: another rule than id modulo N, set in one place."""

    def shard_of(self, users: NDArray[Any], shards: int) -> NDArray[np.int64]:
        shard: NDArray[np.int64] = users.astype(np.int64) // 7 % shards
        return shard


def test_any_shard_rule_decides_the_one_process_run() -> None:
    """The shard rule is free: owners that split users by another rule through ``shard_of``
    (which parks the others' calendars and picks the newcomers) give the one-process batches."""
    config = with_overrides(loads_config(""), population__initial_users=120, duration="2h")
    _run_owned(config, 3, config.duration_ticks, Simulation(config), owner=_BlockShards)


def test_owned_shards_over_an_evening() -> None:
    """Three shards through an evening's busy hour, every community behaviour of the default."""
    config = with_overrides(loads_config(""), population__initial_users=300)
    whole = Simulation(config)
    for _ in range(18 * 60):
        whole.step()
    # the shards start from the one process's state at 18:00, as a resumed run does
    owners_state = whole.state_arrays()
    owners = [Simulation(config) for _ in range(3)]
    for k, owner in enumerate(owners):
        owner.own(k, 3)
        owner.load_state(owners_state)
    mirror = Simulation(config)
    mirror.load_state(owners_state)
    for _ in range(60):
        expected = whole.step()
        decisions = [owner.decide() for owner in owners]
        batch = mirror.merge(decisions)
        mirror.follow(decisions, batch)
        for owner in owners:
            owner.commit(batch)
        assert batch.equals(expected)
    assert len(expected) > 0
    _same_state(mirror, whole)


def test_owning_a_shard_that_does_not_exist_is_an_error() -> None:
    with pytest.raises(UsageError, match=r"shard 3 is not one of 0\.\.2"):
        Simulation(loads_config("")).own(3, 3)
