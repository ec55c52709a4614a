"""Workers on Ray: N actors, each deciding one shard of users (ids ``k`` modulo N).

Ray is an optional extra (``pip install 'simcore[ray]'``) and is imported only
when a run asks for workers. :class:`WorkerPool` starts a local Ray runtime (small
object store, no dashboard) or joins an existing cluster (``address``), places one
:class:`ShardWorker` actor per shard, and turns every Ray failure into a
:class:`~simcore.errors.WorkerError` (cannot start: exit 2) or
:class:`~simcore.errors.WorkerLost` (died during the run) that names the worker.

Each tick costs one round trip: :meth:`WorkerPool.decide` gathers every shard's
:class:`~simcore.core.simulation.Decision`, and :meth:`WorkerPool.commit` sends the
merged batch (one object in Ray's store, shared by every actor) without waiting:
the actors apply it while the driver logs the tick, and their next ``decide``
runs after it (an actor runs its calls in order). With the backend on the workers
(http) an actor's calls for a tick are commit, execute (its users' requests), then
the next tick's decide, asked for with the requests so that it never delays them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from typing import Any

import numpy as np
from numpy.typing import NDArray

from simcore.core.actions import ActionBatch
from simcore.core.simulation import Decision, Simulation
from simcore.errors import BackendError, WorkerError, WorkerLost
from simcore.scenario.parse import dump_config, loads_config
from simcore.scenario.schema import Config
from simcore.seam.contract import (
    AsyncBackend,
    Backend,
    BackendContext,
    Outcomes,
    OwnsEventLoop,
    Paced,
    SharesIds,
    Stateful,
    SyncBackend,
)
from simcore.seam.registry import load_backend

#: Ray's object store for a local runtime: a tick's batch is a few MB even at millions of users.
OBJECT_STORE_BYTES = 256 * 1024 * 1024
INSTALL_HINT = "install it with: pip install 'simcore[ray]' (or run without --workers)"


class ShardWorker:
    """A Ray actor: a whole simulation that decides only its shard of users, and (for a
    backend that :class:`~simcore.seam.contract.SharesIds`) its own backend instance that
    executes its users' actions."""

    def __init__(self, config_text: str, shard: int, shards: int) -> None:
        self.sim = Simulation(loads_config(config_text))
        self.sim.own(shard, shards)
        self.backend: Backend | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def open_backend(self, name: str, options: dict[str, Any]) -> str:
        """Build and open this worker's instance of backend ``name``; return its name."""
        backend = load_backend(name, **options)
        backend.open(BackendContext(self.sim.config))
        self.backend = backend
        if isinstance(backend, OwnsEventLoop):
            self.loop = backend.new_event_loop()
        elif isinstance(backend, AsyncBackend):
            self.loop = asyncio.new_event_loop()
        return backend.name

    def execute(
        self, batch: ActionBatch, ids: dict[str, list[Any]], delays: NDArray[np.float64] | None = None
    ) -> tuple[Outcomes, Any]:
        """Execute this worker's part of a tick (its users' actions), after taking the ids the
        other workers learned (``delays``: paced, each action that many seconds from now);
        return the outcomes and the ids this one learned."""
        backend = self.backend
        if backend is None:
            raise WorkerError("this worker has no backend open")
        if isinstance(backend, SharesIds):
            backend.learn_ids(ids)
        if delays is not None and isinstance(backend, Paced) and self.loop is not None:
            outcomes = self.loop.run_until_complete(backend.execute_paced(batch, delays))
        elif isinstance(backend, AsyncBackend) and self.loop is not None:
            outcomes = self.loop.run_until_complete(backend.execute_async(batch))
        elif isinstance(backend, SyncBackend):
            outcomes = backend.execute(batch)
        else:
            raise WorkerError(f"backend {backend.name!r} has neither execute nor execute_async")
        learned = backend.learned_ids() if isinstance(backend, SharesIds) else {}
        return outcomes, learned

    def backend_state(self, ids: dict[str, list[Any]]) -> dict[str, Any]:
        """This worker's backend state for a snapshot, after taking the ids the other workers
        learned in the last tick (empty for a backend that is not ``Stateful``)."""
        backend = self.backend
        if isinstance(backend, SharesIds):
            backend.learn_ids(ids)
        return backend.state_arrays() if isinstance(backend, Stateful) else {}

    def load_backend_state(self, arrays: dict[str, Any]) -> None:
        """Continue this worker's backend from a snapshot's (whole run's) backend state."""
        if isinstance(self.backend, Stateful):
            self.backend.load_state({k: np.array(v) for k, v in arrays.items()})

    def close_backend(self) -> None:
        """Close this worker's backend instance (and its event loop)."""
        backend, self.backend = self.backend, None
        if backend is not None:
            backend.close()
        if self.loop is not None:
            self.loop.close()
            self.loop = None

    def where(self) -> tuple[str, int]:
        """The host name and process id of this worker (for messages, and tests that kill it)."""
        return socket.gethostname(), os.getpid()

    def load(self, arrays: dict[str, Any]) -> int:
        """Take a snapshot's state (the shard ownership stays); return the tick it is at."""
        self.sim.load_state({k: np.array(v) for k, v in arrays.items()})  # Ray's are read-only
        return self.sim.tick

    def decide(self) -> Decision:
        """The shard's decisions for the current tick."""
        return self.sim.decide()

    def commit(self, batch: ActionBatch) -> int:
        """Apply the tick's merged batch; return the next tick."""
        self.sim.commit(batch.take(np.arange(len(batch))))  # a writable copy: Ray's arrays are read-only
        return self.sim.tick


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise WorkerError(f"--workers needs Ray, which is not installed; {INSTALL_HINT}") from None
    return ray


class WorkerPool:
    """N shard actors on a local Ray runtime or a cluster, driven one tick at a time."""

    def __init__(self, config: Config, workers: int, address: str | None = None) -> None:
        if workers < 1 and not (workers == 0 and address):
            raise WorkerError(f"--workers: got {workers}, expected a count >= 1")
        self.config = config
        self.workers = workers
        self.address = address
        self.places: list[tuple[str, int]] = []  # (host, pid) of each worker
        self._ray: Any = None
        self._actors: list[Any] = []
        self._commits: list[Any] = []
        self._ahead: list[Any] = []  # the next tick's decisions, asked for ahead
        self._owns_runtime = False

    # --- starting and stopping --------------------------------------------------------

    def start(self) -> WorkerPool:
        """Start (or join) Ray and the actors; a failure is a WorkerError (exit 2)."""
        ray = self._ray = _ray()
        if self.address:
            _check_reachable(self.address)
        if not ray.is_initialized():
            self._init(ray)
            self._owns_runtime = True
        if self.workers == 0:  # joining a cluster without a count: one worker per node
            self.workers = max(1, sum(1 for node in ray.nodes() if node.get("Alive")))
        try:
            remote = ray.remote(ShardWorker)
            text = dump_config(self.config)
            spread = {"scheduling_strategy": "SPREAD"} if self.address else {}
            run = secrets.token_hex(4)
            self._actors = [
                remote.options(
                    name=f"simcore-{run}-worker-{k}",  # named: `ray list actors` shows whose it is
                    num_cpus=0 if not self.address else 1,
                    max_restarts=0,
                    **spread,
                ).remote(text, k, self.workers)
                for k in range(self.workers)
            ]
            self.places = [ray.get(a.where.remote(), timeout=120) for a in self._actors]
        except Exception as exc:
            self.close()
            raise WorkerError(
                f"the {self.workers} workers did not start on Ray ({type(exc).__name__}: "
                f"{_first_line(exc)}); check that simcore is installed on every node"
            ) from None
        return self

    def _init(self, ray: Any) -> None:
        import logging

        options: dict[str, Any] = {
            "include_dashboard": False,
            "logging_level": logging.ERROR,
            "log_to_driver": False,
        }
        if self.address:
            options["address"] = self.address
        else:
            options["address"] = "local"  # a new runtime, never one `ray start` left running
            options["num_cpus"] = max(self.workers, os.cpu_count() or 1)
            options["object_store_memory"] = OBJECT_STORE_BYTES
            # Ray nices its workers (15) below the driver; here they are the run's main work
            options["_system_config"] = {"worker_niceness": 0}
        try:
            ray.init(**options)
        except Exception as exc:
            where = f"the Ray cluster at {self.address}" if self.address else "a local Ray runtime"
            fix = (
                "start it with `ray start --head` there, or check the address and the port; a "
                "cluster started by `ray start` uses token authentication: run with "
                "RAY_AUTH_MODE=token and its token (~/.ray/auth_token, or RAY_AUTH_TOKEN)"
                if self.address
                else "see the message above"
            )
            raise WorkerError(
                f"cannot start workers: {where} did not come up ({type(exc).__name__}: "
                f"{_first_line(exc)}); {fix}"
            ) from None

    def close(self) -> None:
        """Stop the actors, and the Ray runtime if this pool started it (idempotent)."""
        ray, self._ray = self._ray, None
        if ray is None:
            return
        for actor in self._actors:
            with contextlib.suppress(Exception):  # already gone
                ray.kill(actor)
        self._actors, self._commits, self._ahead = [], [], []
        if self._owns_runtime and ray.is_initialized():
            ray.shutdown()

    # --- a tick -----------------------------------------------------------------------

    def decide(self, tick: int) -> list[Decision]:
        """Every shard's decisions for ``tick`` (after the previous tick's commit): the ones
        asked for ahead (:meth:`commit` with ``ahead``), else asked for now."""
        self._live()
        refs, self._ahead = self._ahead, []
        if not refs:
            refs = [actor.decide.remote() for actor in self._actors]
        commits, self._commits = self._commits, []
        self._gather(commits, tick)
        out: list[Decision] = self._gather(refs, tick)
        return out

    def commit(self, batch: ActionBatch, ahead: bool = False) -> None:
        """Send the tick's merged batch to every actor (not waited for); ``ahead``: also ask
        for the next tick's decisions now, so the workers decide while the driver records
        this tick (decisions never depend on outcomes; the driver's state, not the workers',
        is what snapshots hold, so deciding ahead of a stop or a snapshot changes nothing)."""
        ray = self._live()
        ref = ray.put(batch)
        self._commits = [actor.commit.remote(ref) for actor in self._actors]
        if ahead:
            self._ahead = [actor.decide.remote() for actor in self._actors]

    def open_backends(self, name: str, options: dict[str, Any]) -> None:
        """Open an instance of backend ``name`` on every worker (errors: BackendError)."""
        ray = self._live()
        refs = [actor.open_backend.remote(name, options) for actor in self._actors]
        for k, ref in enumerate(refs):
            try:
                ray.get(ref)
            except ray.exceptions.RayTaskError as exc:
                raise BackendError(
                    f"{self.name(k)} could not open backend {name!r}: {_first_line(exc)}"
                ) from None

    def execute(
        self,
        parts: list[ActionBatch],
        ids: list[dict[str, list[Any]]],
        tick: int,
        delays: list[NDArray[np.float64]] | None = None,
        ahead: bool = False,
    ) -> list[Any]:
        """Each worker executes its part of a tick (after taking ``ids[k]``; paced by
        ``delays[k]`` if given); their (outcomes, learned ids), in worker order. ``ahead``:
        then decide the next tick (queued behind the requests, so it never delays them: each
        worker decides while the others finish their part and the driver records the tick)."""
        self._live()
        waits = delays if delays is not None else [None] * len(parts)
        refs = [a.execute.remote(part, i, d) for a, part, i, d in zip(self._actors, parts, ids, waits)]
        if ahead and not self._ahead:  # once a tick, however many parts it is sent in
            self._ahead = [actor.decide.remote() for actor in self._actors]
        return self._gather(refs, tick + 1)

    def backend_states(self, ids: list[dict[str, list[Any]]], tick: int) -> list[dict[str, Any]]:
        """Each worker's backend state (after taking ``ids[k]``), in worker order."""
        self._live()
        return self._gather([a.backend_state.remote(i) for a, i in zip(self._actors, ids)], tick + 1)

    def load_backend_states(self, arrays: dict[str, Any], tick: int) -> None:
        """Continue every worker's backend from a snapshot's backend state."""
        ray = self._live()
        ref = ray.put(arrays)
        self._gather([a.load_backend_state.remote(ref) for a in self._actors], tick)

    def close_backends(self) -> None:
        """Close the workers' backend instances (those still alive)."""
        ray = self._ray
        if ray is None:
            return
        for actor in self._actors:
            with contextlib.suppress(Exception):
                ray.get(actor.close_backend.remote(), timeout=30)

    def load(self, arrays: dict[str, Any], tick: int) -> None:
        """Put every actor in a snapshot's state (the commits before are dropped)."""
        ray = self._live()
        ref = ray.put(arrays)
        self._commits, self._ahead = [], []
        self._gather([actor.load.remote(ref) for actor in self._actors], tick)

    def _live(self) -> Any:
        if self._ray is None:
            raise WorkerError("the workers were closed; start the pool again")
        return self._ray

    def name(self, k: int) -> str:
        """How messages name worker ``k``."""
        host, pid = self.places[k] if k < len(self.places) else ("?", 0)
        return f"worker {k} of {self.workers} (pid {pid} on {host})"

    def _gather(self, refs: list[Any], tick: int) -> list[Any]:
        """The results of ``refs`` (one per worker, in order), the driver being at ``tick``."""
        ray = self._live()
        out = []
        for k, ref in enumerate(refs):
            try:
                out.append(ray.get(ref))
            except ray.exceptions.RayActorError as exc:
                raise WorkerLost(
                    f"{self.name(k)} died ({type(exc).__name__}); the run stopped after tick "
                    f"{tick - 1:,}, its last whole tick; continue it with --resume (with any "
                    "--workers count, or none)",
                    k,
                    f"worker {k} lost",
                ) from None
            except ray.exceptions.RayError as exc:
                raise WorkerLost(
                    f"{self.name(k)} failed: {_first_line(exc)}; the run stopped after tick "
                    f"{tick - 1:,}, its last whole tick",
                    k,
                    f"worker {k} failed",
                ) from None
        return out


def _check_reachable(address: str) -> None:
    """Fail fast on a ``host:port`` nobody listens at (Ray itself retries for a minute)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        if address == "auto":
            return
        raise WorkerError(
            f"--ray-address: got {address!r}, expected HOST:PORT of a Ray head node "
            "(`ray start --head` prints it), e.g. 10.0.0.5:6379"
        )
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise WorkerError(
            f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}; start it with "
            f"`ray start --head --port {port}` on {host}, or check the address"
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[-1][:300] if text else type(exc).__name__
