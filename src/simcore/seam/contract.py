"""The seam between deciding and doing: the backend contract and the :class:`Outcomes` it reports.

A backend executes an :class:`~simcore.core.actions.ActionBatch` and reports one outcome
per action (status, latency, attempts, error kind, server id). Outcomes are
recorded beside the actions and never feed back into the core's decisions.
Backends are found by name through the ``simcore.backends`` entry-point group,
the built-in mock included, exactly as a third party's would be.
"""

from __future__ import annotations

import asyncio
import enum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from attrs import define, field
from numpy.typing import NDArray

from simcore.core.actions import ActionBatch
from simcore.scenario.schema import Config


class ErrorKind(enum.IntEnum):
    """Why an action did not get a response (0: it did)."""

    NONE = 0
    CONNECTION = 1
    TIMEOUT = 2
    SKIPPED = 3  # not sent: its target never existed on the server
    INJECTED = 4  # a simulated fault
    BAD_ANSWER = 5  # answered 2xx without what the route expects (no id, no token, no JSON)


#: The name logs use for each :class:`ErrorKind` value (``none`` for 0).
ERROR_NAMES: tuple[str, ...] = tuple(e.name.lower() for e in ErrorKind)


@define
class Outcomes:
    """What happened to each action of a batch, aligned with the batch's order."""

    status: NDArray[np.int16]
    latency_ms: NDArray[np.float32]
    attempts: NDArray[np.uint8]
    error: NDArray[np.uint8]
    server_id: NDArray[np.int64] = field(factory=lambda: np.zeros(0, dtype=np.int64))
    #: Wall-clock UTC of each action's first attempt, epoch ms (0: not sent). Empty when the
    #: backend has no real time (the mock): logs then record none.
    sent_at: NDArray[np.int64] = field(factory=lambda: np.zeros(0, dtype=np.int64))
    #: Size of each final answer's body in bytes (-1: no answer). Empty when not recorded.
    response_bytes: NDArray[np.int64] = field(factory=lambda: np.zeros(0, dtype=np.int64))
    #: The path each action actually requested (None: nothing was sent). Empty when the
    #: backend sends no requests (the mock): each action's sent path is then its reference path.
    sent_path: NDArray[np.object_] = field(factory=lambda: np.zeros(0, dtype=object))

    @classmethod
    def ok(cls, n: int, status: NDArray[np.int16] | None = None) -> Outcomes:
        """``n`` outcomes answered at once on the first attempt."""
        return cls(
            status=np.full(n, 200, np.int16) if status is None else status.astype(np.int16),
            latency_ms=np.zeros(n, np.float32),
            attempts=np.ones(n, np.uint8),
            error=np.zeros(n, np.uint8),
            server_id=np.full(n, -1, np.int64),
        )

    @classmethod
    def pending(cls, n: int, real: bool = False) -> Outcomes:
        """``n`` blank outcomes (status 0, no attempt yet) for a backend to fill in; ``real``:
        with room for when each was sent, its answer's size and the path it requested."""
        return cls(
            status=np.zeros(n, np.int16),
            latency_ms=np.zeros(n, np.float32),
            attempts=np.zeros(n, np.uint8),
            error=np.zeros(n, np.uint8),
            server_id=np.full(n, -1, np.int64),
            sent_at=np.zeros(n if real else 0, np.int64),
            response_bytes=np.full(n if real else 0, -1, np.int64),
            sent_path=np.full(n if real else 0, None, dtype=object),
        )

    @classmethod
    def concat(cls, parts: list[Outcomes]) -> Outcomes:
        """The outcomes of consecutive slices of one batch, joined (unrecorded columns padded)."""
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return cls.ok(0)

        def column(name: str, blank: Any, dtype: Any) -> Any:
            arrays = [getattr(p, name) for p in parts]
            if all(len(a) == 0 for a in arrays) and name != "server_id":
                return np.zeros(0, dtype)
            return np.concatenate(
                [a if len(a) == len(p) else np.full(len(p), blank, dtype) for a, p in zip(arrays, parts)]
            )

        return cls(
            status=np.concatenate([p.status for p in parts]),
            latency_ms=np.concatenate([p.latency_ms for p in parts]),
            attempts=np.concatenate([p.attempts for p in parts]),
            error=np.concatenate([p.error for p in parts]),
            server_id=column("server_id", -1, np.int64),
            sent_at=column("sent_at", 0, np.int64),
            response_bytes=column("response_bytes", -1, np.int64),
            sent_path=column("sent_path", None, object),
        )

    def __len__(self) -> int:
        return len(self.status)

    @property
    def real(self) -> bool:
        """Whether these outcomes record real requests (send times, sizes, sent paths)."""
        return len(self.sent_at) == len(self.status) and len(self.status) > 0

    def failed(self) -> NDArray[np.bool_]:
        """Which actions failed: not answered (status 0: skipped, timed out, no connection),
        answered with an error status (>= 400), or answered without what the route expects
        (``bad_answer``)."""
        out: NDArray[np.bool_] = failed_status(self.status) | (self.error == ErrorKind.BAD_ANSWER)
        return out


def failed_status(status: NDArray[np.integer[Any]] | int) -> Any:
    """Whether a status counts as failed: 0 (no answer) or >= 400."""
    return (status == 0) | (status >= 400)


@define
class BackendContext:
    """What a backend is told when it opens: the run's config (its seed included)."""

    config: Config

    @property
    def seed(self) -> int:
        """The run's seed (the config's: there is no other)."""
        return self.config.seed


class Backend(Protocol):
    """What every backend has: a name and a lifecycle. Implement :class:`SyncBackend` or
    :class:`AsyncBackend` on top of it; the optional powers are separate protocols."""

    name: str

    def open(self, context: BackendContext) -> None:
        """Acquire resources (connections, a database) before the first batch.

        Raise :class:`~simcore.errors.BackendError` with a clear message if that is
        impossible (an unreachable target, an app that does not import)."""

    def close(self) -> None:
        """Release resources; called once, also after errors and interrupts."""


@runtime_checkable
class SyncBackend(Backend, Protocol):
    """A backend that answers a whole batch in one call (the mock, the testclient backend)."""

    def execute(self, batch: ActionBatch) -> Outcomes:
        """Carry out every action of ``batch`` and report one outcome per action, in
        the batch's order. Effects happen in that order: a read after a delete of the
        same post in the same batch sees it deleted."""


@runtime_checkable
class AsyncBackend(Backend, Protocol):
    """A backend that works on an event loop (the http backend): the run awaits each batch.

    Several batches may be in flight at once (see :class:`Pipelined`): the backend
    must keep the effects of one post or one user in batch order across them."""

    async def execute_async(self, batch: ActionBatch) -> Outcomes:
        """Carry out every action of ``batch``; one outcome per action, in the batch's order."""


@runtime_checkable
class OwnsEventLoop(Protocol):
    """An async backend that brings its own event loop (uvloop, say)."""

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        """A new event loop the run drives this backend's coroutines on."""


@runtime_checkable
class Pipelined(Protocol):
    """An async backend that may have several ticks' batches in flight at once."""

    #: Ticks that may be in flight at once (1: each tick is answered before the next starts).
    pipeline: int


@runtime_checkable
class Paced(Protocol):
    """A backend that spreads a batch over real time itself (an async HTTP client).

    ``delays[i]`` is how many real seconds after the call action ``i`` is due
    (<= 0: now), measured on the pacer's clock, so an asyncio backend can schedule
    action ``i`` at ``loop.time() + delays[i]``. Without this power a paced run
    hands the backend its batch in slices, each at its due time."""

    async def execute_paced(self, batch: ActionBatch, delays: NDArray[np.float64]) -> Outcomes:
        """Carry out ``batch``, sending each action at its delay."""


@runtime_checkable
class SharesIds(Protocol):
    """A backend that can run as several instances, one per worker (``--workers``), each
    executing only its own users' actions against the same server. What one instance learns
    from the server (the server's ids of the users and posts its actions created) another
    may need (to read, like or follow them), so at each tick's end the run hands every
    instance what the others learned. Ids are plain data: ints or strings."""

    def learned_ids(self) -> dict[str, list[Any]]:
        """What this instance learned since the last call: ``{"posts": [(core id, server
        id), ...], "users": [(core id, server id), ...]}``."""

    def learn_ids(self, ids: dict[str, list[Any]]) -> None:
        """Take what other instances learned (as :meth:`learned_ids` gives it)."""

    def combine_states(self, states: list[dict[str, NDArray[Any]]]) -> dict[str, NDArray[Any]]:
        """One instance's snapshot state (:class:`Stateful`) from the states of several, each
        having learned what the others did: what a run on workers saves, so that it resumes
        with any number of workers, or none."""


@runtime_checkable
class Stateful(Protocol):
    """A backend or sink whose state decides later answers, so a snapshot must carry it
    (the mock's store, the metrics). Arrays only: snapshots load without pickle."""

    def state_arrays(self) -> dict[str, NDArray[Any]]:
        """The state as named numpy arrays (no objects)."""

    def load_state(self, arrays: dict[str, NDArray[Any]]) -> None:
        """Replace the state with ``arrays`` (as returned by :meth:`state_arrays`)."""


@runtime_checkable
class Sink(Protocol):
    """Receives every batch with its outcomes, in tick order (a log, the metrics, a view)."""

    def write(self, batch: ActionBatch, outcomes: Outcomes) -> None:
        """Record one batch."""

    def close(self) -> None:
        """Flush and release; called once at the end of the run."""


@runtime_checkable
class StatefulSink(Sink, Stateful, Protocol):
    """A sink whose state a snapshot carries (the metrics): its arrays are saved under
    ``sink.<state_key>.*`` and handed back to the sink with the same key on resume."""

    #: The sink's name in snapshots: short, stable across versions, unique among a run's sinks.
    state_key: str


@runtime_checkable
class LogSink(Sink, Protocol):
    """An action log: a sink with a file that a stop flushes and a snapshot points at."""

    path: Path

    def flush(self) -> None:
        """Make every batch written so far durable (a stop or a snapshot follows)."""
