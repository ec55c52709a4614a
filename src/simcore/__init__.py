"""simcore: a deterministic engine that simulates a social app's user base and drives its API.

The packages are the layers (docs/architecture.md): :mod:`simcore.scenario` and
:mod:`simcore.core` decide and are pure; :mod:`simcore.seam` is the backend
contract; :mod:`simcore.run`, :mod:`simcore.logs`, :mod:`simcore.analysis` and
:mod:`simcore.ui` are the shell. Importing ``simcore`` imports none of them: the
names below are loaded on first use, so ``import simcore.core.rng`` stays pure.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it (imported on first access).
_PUBLIC = {
    "ActionBatch": "simcore.core.actions",
    "ActionKind": "simcore.scenario.kinds",
    "Backend": "simcore.seam.contract",
    "BackendContext": "simcore.seam.contract",
    "Config": "simcore.scenario.schema",
    "ConfigError": "simcore.errors",
    "Outcomes": "simcore.seam.contract",
    "SimcoreError": "simcore.errors",
    "Simulation": "simcore.core.simulation",
    "load_config": "simcore.run.loading",
    "loads_config": "simcore.scenario.parse",
}

if TYPE_CHECKING:
    from simcore.core.actions import ActionBatch
    from simcore.core.simulation import Simulation
    from simcore.errors import ConfigError, SimcoreError
    from simcore.run.loading import load_config
    from simcore.scenario.kinds import ActionKind
    from simcore.scenario.parse import loads_config
    from simcore.scenario.schema import Config
    from simcore.seam.contract import Backend, BackendContext, Outcomes


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'simcore' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "ActionBatch",
    "ActionKind",
    "Backend",
    "BackendContext",
    "Config",
    "ConfigError",
    "Outcomes",
    "SimcoreError",
    "Simulation",
    "__version__",
    "load_config",
    "loads_config",
]
