"""Shared test setup: hypothesis profiles and small configs.

HYPOTHESIS_PROFILE selects how hard property tests try: ``fast`` (default, for `make test`
and `make test-fast`), ``ci`` (same budget, no deadline, derandomised) or ``thorough``
(``HYPOTHESIS_PROFILE=thorough make test``). Tests that pin their own ``max_examples``
(the ones that simulate whole days) keep it under every profile.

Where tests live: tests/unit/<layer>/ mirrors src/simcore/<layer>/ (tests/unit/ itself holds
the architecture tests that span the layers: test_layers, test_purity), tests/backends/ is
simcore_backends, tests/e2e/ runs whole things (runs through the CLI, real servers, a browser). Shared helpers are in tests/support/, one module for what each holds. Tests that
take more than about two seconds are marked ``slow``: `make test-fast` leaves them out.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from simcore.run.loading import load_config
from simcore.scenario.parse import with_overrides
from simcore.scenario.schema import Config
from tests.support.paths import DEFAULT_PROFILE

settings.register_profile(
    "fast", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))


@pytest.fixture(scope="session")
def default_config() -> Config:
    """profiles/default.toml as loaded."""
    return load_config(DEFAULT_PROFILE)


@pytest.fixture(scope="session")
def small_config(default_config: Config) -> Config:
    """The default profile cut down to 200 users and 6 simulated hours from 06:00."""
    import datetime as dt

    return with_overrides(
        default_config,
        population__initial_users=200,
        duration="6h",
        start=dt.datetime(2026, 1, 5, 6, 0),
    )


@pytest.fixture(scope="session")
def ray_runtime() -> Iterator[None]:
    """One local Ray runtime for the whole test session (starting one costs seconds and
    hundreds of MB), small and without dashboard; runs built with workers join it; shut down
    at the end."""
    ray = pytest.importorskip("ray")
    import logging

    ray.init(
        address="local",  # a new runtime of its own, even if `ray start` left one running
        num_cpus=4,
        object_store_memory=100 * 1024 * 1024,
        include_dashboard=False,
        logging_level=logging.ERROR,
        log_to_driver=False,
    )
    try:
        yield
    finally:
        ray.shutdown()
