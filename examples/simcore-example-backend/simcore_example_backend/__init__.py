"""An example simcore backend (see README.md): ``simcore run --backend example``."""

from simcore_example_backend.backend import ExampleBackend

__all__ = ["ExampleBackend"]
