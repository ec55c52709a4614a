"""simcore: a deterministic engine that simulates a social app's user base and drives its API.

The pure core (config, rng, routine, user, world, actions, simulation) decides;
the shell (controller, backends, sinks, CLI) does. See design.md.
"""

from simcore.actions import ActionBatch, ActionKind
from simcore.backend import Backend, BackendContext, Outcomes
from simcore.config import Config, loads_config
from simcore.errors import ConfigError, SimcoreError
from simcore.loading import load_config
from simcore.simulation import Simulation

__version__ = "0.1.0"

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
