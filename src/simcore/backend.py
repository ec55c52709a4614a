"""The seam between deciding and doing: the :class:`Backend` protocol and its :class:`Outcomes`.

A backend executes an :class:`~simcore.actions.ActionBatch` and reports one outcome
per action (status, latency, attempts, error kind, server id). Outcomes are
recorded beside the actions and never feed back into the core's decisions.
Backends are found by name through the ``simcore.backends`` entry-point group,
the built-in mock included, exactly as a third party's would be.
"""

from __future__ import annotations

import difflib
import enum
import inspect
from collections.abc import Awaitable
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

import numpy as np
from attrs import define, field
from numpy.typing import NDArray

from simcore.actions import ActionBatch
from simcore.config import Config
from simcore.errors import BackendError

ENTRY_POINT_GROUP = "simcore.backends"


class ErrorKind(enum.IntEnum):
    """Why an action did not get a response (0: it did)."""

    NONE = 0
    CONNECTION = 1
    TIMEOUT = 2
    SKIPPED = 3  # not sent: its target never existed on the server
    INJECTED = 4  # a simulated fault


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
    def pending(cls, n: int) -> Outcomes:
        """``n`` blank outcomes (status 0, no attempt yet) for a backend to fill in."""
        return cls(
            status=np.zeros(n, np.int16),
            latency_ms=np.zeros(n, np.float32),
            attempts=np.zeros(n, np.uint8),
            error=np.zeros(n, np.uint8),
            server_id=np.full(n, -1, np.int64),
        )

    def __len__(self) -> int:
        return len(self.status)

    def failed(self) -> NDArray[np.bool_]:
        """Which actions failed: not answered (status 0: skipped, timed out, no connection)
        or answered with an error status (>= 400)."""
        out: NDArray[np.bool_] = failed_status(self.status)
        return out


def failed_status(status: NDArray[np.integer[Any]] | int) -> Any:
    """Whether a status counts as failed: 0 (no answer) or >= 400."""
    return (status == 0) | (status >= 400)


@define
class BackendContext:
    """What a backend is told when it opens: the run's config and seed."""

    config: Config
    seed: int


@runtime_checkable
class Backend(Protocol):
    """Executes action batches. ``execute`` may be a coroutine function for async backends."""

    name: str

    def open(self, context: BackendContext) -> None:
        """Acquire resources (connections, a database) before the first batch."""

    def execute(self, batch: ActionBatch) -> Outcomes | Awaitable[Outcomes]:
        """Carry out every action of ``batch`` in order and report their outcomes."""

    def close(self) -> None:
        """Release resources; called once, also after errors and interrupts."""


def available_backends() -> dict[str, Any]:
    """Entry points of every installed backend, by name."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load_backend(name: str, **options: Any) -> Backend:
    """Build the backend registered as ``name``; a clear error lists the known ones."""
    found = available_backends()
    if name not in found:
        near = difflib.get_close_matches(name, list(found), n=1)
        hint = f"did you mean '{near[0]}'? " if near else ""
        known = ", ".join(sorted(found)) or "none (is simcore installed?)"
        raise BackendError(f"unknown backend '{name}'; {hint}installed backends: {known}")
    try:
        factory = found[name].load()
    except Exception as exc:  # a third party's import error must not become a traceback
        raise BackendError(f"backend '{name}' failed to import: {exc}; reinstall it") from exc
    if options:
        try:
            params = dict(inspect.signature(factory).parameters)
            takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        except (TypeError, ValueError):  # a builtin or C factory: let it decide
            params, takes_any = {}, True
        unknown = [k for k in options if k not in params and not takes_any]
        if unknown:
            flags = ", ".join(f"--{k}" for k in unknown)
            raise BackendError(
                f"backend '{name}' takes no option {flags}; drop it or pick another backend"
            )
    backend: Backend = factory(**options)
    return backend
