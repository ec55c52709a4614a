"""The driver's simulation of a run on workers: the same run, decided in shards.

:class:`ShardedSimulation` is a :class:`~simcore.core.simulation.Simulation` whose
:meth:`step` does not decide: the workers (:class:`~simcore.run.workers.WorkerPool`)
each decide their shard of users from the same world, the driver merges their
decisions into the tick's batch (the canonical order and post ids do not depend on
sharding), lives the tick itself (the deciders' rows, the sign-ups, the effects),
and sends the batch back for every worker to apply. So the driver always holds the
whole state of the one-process run at the last tick: the controller, the logs,
metrics, dashboard, snapshots and ``--resume`` (with any worker count) work
unchanged, and a dead worker leaves a whole-tick state to snapshot.
"""

from __future__ import annotations

from typing import Any

from simcore.core.actions import ActionBatch
from simcore.core.simulation import Simulation
from simcore.run.workers import WorkerPool
from simcore.scenario.schema import Config


class ShardedSimulation(Simulation):
    """A simulation stepped by N workers; its own state follows theirs tick by tick."""

    def __init__(self, config: Config, pool: WorkerPool) -> None:
        super().__init__(config)
        self.pool = pool

    @classmethod
    def start(cls, config: Config, workers: int, address: str | None = None) -> ShardedSimulation:
        """Start ``workers`` workers (local Ray, or the cluster at ``address``)."""
        return cls(config, WorkerPool(config, workers, address).start())

    def step(self, shards: int = 1) -> ActionBatch:
        """Advance one tick: the workers decide, the driver merges and lives it, the workers
        apply it. (``shards`` is the pool's; the argument is ignored.)"""
        decisions = self.pool.decide(self.tick)
        batch = self.merge(decisions)
        self.follow(decisions, batch)
        self.pool.commit(batch)
        return batch

    def load_state(self, arrays: dict[str, Any]) -> None:
        """Load a snapshot's state here and in every worker."""
        super().load_state(arrays)
        self.pool.load(arrays, self.tick)

    def close(self) -> None:
        """Stop the workers (and the local Ray runtime this run started)."""
        self.pool.close()
