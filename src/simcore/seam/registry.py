"""Finding backends by name: the ``simcore.backends`` entry-point group, the built-ins included."""

from __future__ import annotations

import difflib
import inspect
from importlib.metadata import entry_points
from typing import Any

from simcore.errors import BackendError
from simcore.seam.contract import Backend

ENTRY_POINT_GROUP = "simcore.backends"


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
    try:
        backend = factory(**options)
    except Exception as exc:  # a third party's constructor must not end in a traceback either
        raise BackendError(
            f"backend '{name}' ({found[name].value}) could not be built: {type(exc).__name__}: "
            f'{exc}; fix its constructor (README, "Writing a backend") or pick another backend'
        ) from exc
    missing = contract_gaps(backend)
    if missing:
        raise BackendError(
            f"backend '{name}' ({found[name].value}) does not implement the backend contract: "
            f'{"; ".join(missing)}; see the README section "Writing a backend" '
            "(simcore.seam.contract)"
        )
    checked: Backend = backend
    return checked


def contract_gaps(backend: object) -> list[str]:
    """What ``backend`` lacks of the contract (:class:`~simcore.seam.contract.Backend` and
    one of :class:`~simcore.seam.contract.SyncBackend` or
    :class:`~simcore.seam.contract.AsyncBackend`); empty if it has it all."""
    gaps: list[str] = []
    name = getattr(backend, "name", None)
    if not isinstance(name, str) or not name:
        gaps.append('no name (a class attribute: name = "...")')
    for method in ("open", "close"):
        if not callable(getattr(backend, method, None)):
            gaps.append(f"no {method}() method")
    sync = callable(getattr(backend, "execute", None))
    run_async = getattr(backend, "execute_async", None)
    if not sync and run_async is None:
        gaps.append("neither execute(batch) nor async execute_async(batch)")
    elif not sync and not inspect.iscoroutinefunction(run_async):
        gaps.append("execute_async is not an async def method")
    return gaps
