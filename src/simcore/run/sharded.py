"""The driver's simulation of a run on workers: the same run, decided in shards.

:class:`ShardedSimulation` is a :class:`~simcore.core.simulation.Simulation` whose
:meth:`step` does not decide: the workers (:class:`~simcore.run.workers.WorkerPool`)
each decide their shard of users from the same world, the driver merges their
decisions into the tick's batch (the canonical order and post ids do not depend on
sharding) and sends it back for every worker to apply, then lives the tick itself (the
deciders' rows, the sign-ups, the effects) while the workers apply it and decide the
next one. So the driver always holds the whole state of the one-process run at the
last tick: the controller, the logs, metrics, dashboard, snapshots and ``--resume``
(with any worker count) work unchanged, and a dead worker leaves a whole-tick state
to snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from simcore.core.actions import ActionBatch
from simcore.core.simulation import Simulation
from simcore.run.workers import WorkerPool
from simcore.scenario.schema import Config
from simcore.seam.contract import (
    Backend,
    BackendContext,
    Outcomes,
    Paced,
    SharesIds,
    Stateful,
    SyncBackend,
)


class ShardedSimulation(Simulation):
    """A simulation stepped by N workers; its own state follows theirs tick by tick."""

    def __init__(self, config: Config, pool: WorkerPool) -> None:
        super().__init__(config)
        self.pool = pool
        #: ask the workers for the next tick's decisions as soon as a tick is merged (off
        #: when the backend runs on the workers: its requests should not wait behind them;
        #: :class:`WorkerBackend` asks for them behind the requests instead)
        self.decide_ahead = True

    @classmethod
    def start(cls, config: Config, workers: int, address: str | None = None) -> ShardedSimulation:
        """Start ``workers`` workers (local Ray, or the cluster at ``address``)."""
        return cls(config, WorkerPool(config, workers, address).start())

    def step(self, shards: int = 1) -> ActionBatch:
        """Advance one tick: the workers decide, the driver merges it and sends the batch back
        for the workers to apply (and decide the next tick) while it lives the tick itself.
        (``shards`` is the pool's; the argument is ignored.)"""
        decisions = self.pool.decide(self.tick)
        batch = self.merge(decisions)
        ahead = self.decide_ahead and self.tick + 1 < self.config.duration_ticks
        self.pool.commit(batch, ahead=ahead)  # a copy as merged: each worker applies it itself
        self.follow(decisions, batch)
        return batch

    def load_state(self, arrays: dict[str, Any]) -> None:
        """Load a snapshot's state here and in every worker."""
        super().load_state(arrays)
        self.pool.load(arrays, self.tick)

    def close(self) -> None:
        """Stop the workers (and the local Ray runtime this run started)."""
        self.pool.close()


class WorkerBackend(SyncBackend, Paced, Stateful):
    """The run's backend, on the workers: worker k executes the actions of the users it
    decides (``shard_of``: the load is generated where the users live) on its own instance,
    against the same server. At each tick's end every instance is handed the server ids the others learned
    (a post created on one worker is read or liked from another from the next tick on: the
    core decides from the world as it stood at the start of a tick)."""

    def __init__(
        self,
        pool: WorkerPool,
        local: SharesIds,
        name: str,
        options: Mapping[str, Any],
        ticks: int | None = None,
        *,
        shard_of: Callable[[NDArray[Any], int], NDArray[np.int64]],
    ) -> None:
        self.pool = pool
        self.shard_of = shard_of  # the simulation's rule: a user's actions go to its own worker
        self.local = local  # the driver's own instance (closed): it knows how to combine states
        self.name = name
        self.options = dict(options)
        self.ticks = ticks  # the run's ticks: past the last, no tick is decided ahead
        self._learned: list[dict[str, list[Any]]] = []
        self._tick = 0

    def open(self, context: BackendContext) -> None:
        """Open one instance on every worker."""
        self.pool.open_backends(self.name, self.options)
        self._learned = [{} for _ in range(self.pool.workers)]

    def close(self) -> None:
        """Close the workers' instances."""
        self.pool.close_backends()

    def execute(self, batch: ActionBatch) -> Outcomes:
        """Split ``batch`` by user, execute the parts on the workers, merge their outcomes."""
        return self._execute(batch, None)

    async def execute_paced(self, batch: ActionBatch, delays: NDArray[np.float64]) -> Outcomes:
        """Paced (``Paced``): each worker schedules its part's actions at their delays."""
        return self._execute(batch, delays)  # the driver's loop has nothing else to do meanwhile

    def state_arrays(self) -> dict[str, NDArray[Any]]:
        """The workers' instances' states as one instance's (a snapshot resumes with any
        number of workers, or none): each first takes what the others learned."""
        n = self.pool.workers
        states = self.pool.backend_states([self._others(k) for k in range(n)], self._tick)
        self._learned = [{} for _ in range(n)]
        if not any(states):
            return {}
        return self.local.combine_states(states)

    def load_state(self, arrays: dict[str, NDArray[Any]]) -> None:
        """Continue every worker's instance from a snapshot's state."""
        self.pool.load_backend_states(arrays, self._tick)
        self._learned = [{} for _ in range(self.pool.workers)]

    def _execute(self, batch: ActionBatch, delays: NDArray[np.float64] | None) -> Outcomes:
        self._tick = batch.tick
        n = self.pool.workers
        shard = self.shard_of(batch.user, n)
        index = [np.flatnonzero(shard == k) for k in range(n)]
        ids = [self._others(k) for k in range(n)]
        parts = [batch.take(i) for i in index]
        waits = [delays[i] for i in index] if delays is not None else None
        ahead = self.ticks is not None and batch.tick + 1 < self.ticks
        results = self.pool.execute(parts, ids, batch.tick, waits, ahead=ahead)
        self._learned = [learned for _, learned in results]
        joined = Outcomes.concat([outcomes for outcomes, _ in results])
        place = np.empty(len(batch), np.int64)
        place[np.concatenate(index)] = np.arange(len(batch))
        columns = {name: getattr(joined, name) for name in _OUTCOME_COLUMNS}
        return Outcomes(**{k: (v[place] if len(v) == len(batch) else v) for k, v in columns.items()})

    def _others(self, k: int) -> dict[str, list[Any]]:
        """What every worker but ``k`` learned in the last tick."""
        out: dict[str, list[Any]] = {"posts": [], "users": []}
        for j, learned in enumerate(self._learned):
            if j != k:
                for key in out:
                    out[key].extend(learned.get(key, ()))
        return out


_OUTCOME_COLUMNS = (
    "status",
    "latency_ms",
    "attempts",
    "error",
    "server_id",
    "sent_at",
    "response_bytes",
    "sent_path",
)


def on_workers(sim: Simulation, backend: Backend, config: Config, options: Mapping[str, Any]) -> Backend:
    """The backend a run uses: for a run on workers whose backend can run as one instance per
    worker (:class:`~simcore.seam.contract.SharesIds`, the http backend), a
    :class:`WorkerBackend` in its place (the driver's own instance, opened to check the
    target, is closed); otherwise ``backend`` itself, executing the merged batch in the driver."""
    if not isinstance(sim, ShardedSimulation) or not isinstance(backend, SharesIds):
        return backend
    backend.close()
    spread = WorkerBackend(
        sim.pool, backend, backend.name, options, config.duration_ticks, shard_of=sim.shard_of
    )
    spread.open(BackendContext(config))
    sim.decide_ahead = False
    return spread
