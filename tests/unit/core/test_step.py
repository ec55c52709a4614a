"""A tick is a plan of named phases: it can be listed, wrapped (to time a phase) without
changing what a tick decides, and a plan that never orders a batch fails plainly."""

from __future__ import annotations

import pytest
from attrs import evolve

from simcore.core.simulation import Simulation
from simcore.core.step import Phase, TickWork, run_plan, wrap_phases
from simcore.scenario.schema import Config


def test_the_plan_lists_the_phases_in_order(small_config: Config) -> None:
    """step() runs wake, act, target, arrive, order and apply, in that order."""
    names = [name for name, _ in Simulation(small_config).plan]
    assert names == ["wake", "act", "target", "arrive", "order", "apply"]


def test_wrapped_phases_decide_the_same_batches(small_config: Config) -> None:
    """Wrapping every phase (as a profiler does) runs each once a tick and changes no batch."""
    plain, wrapped = Simulation(evolve(small_config, seed=3)), Simulation(evolve(small_config, seed=3))
    calls: list[str] = []

    def counting(name: str, phase: Phase) -> Phase:
        def run(work: TickWork) -> None:
            calls.append(name)
            phase(work)

        return run

    wrapped.plan = wrap_phases(wrapped.plan, counting)
    ticks = 180
    for _ in range(ticks):
        assert plain.step().equals(wrapped.step())
    assert calls == [name for name, _ in plain.plan] * ticks
    assert plain.state_arrays().keys() == wrapped.state_arrays().keys()


def test_a_plan_without_an_order_phase_fails(small_config: Config) -> None:
    """A plan that makes no batch says so instead of returning nothing."""
    sim = Simulation(small_config)
    plan = tuple((name, phase) for name, phase in sim.plan if name in ("wake", "act"))
    with pytest.raises(RuntimeError, match="order"):
        run_plan(plan, TickWork(0))
