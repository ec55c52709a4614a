"""An outage event on the backends without a network: every attempt in its window fails, the
same way on the mock and on the testclient backend over the reference app."""

from __future__ import annotations

import pytest

from simcore.scenario.parse import loads_config
from simcore_backends.mock import MockBackend
from simcore_backends.testclient import TestClientBackend
from tests.support.runner import run, without_outcomes

OUTAGE = """
duration = "2h"
start = 2026-01-05T18:00:00
[population]
initial_users = 60
[[events]]
kind = "outage"
at = "1h"
duration = "20m"
"""


@pytest.mark.slow  # the reference app through its TestClient: a few seconds
def test_an_outage_fails_alike_on_mock_and_testclient() -> None:
    """Inside the window every action fails after all its retries (503); outside, all succeed;
    the testclient backend logs the mock's statuses and attempts."""
    config = loads_config(OUTAGE)
    _, mock = run(config, MockBackend())
    _, real = run(config, TestClientBackend())
    keep = ("status", "attempts", "error")
    assert without_outcomes(real, keep=keep) == without_outcomes(mock, keep=keep)
    down = [r for r in mock if 60 <= r["tick"] < 80 and r["status"] != 0]
    up = [r for r in mock if not 60 <= r["tick"] < 80 and r["status"] != 0]
    assert down and all(r["status"] == 503 and r["attempts"] == 4 for r in down)
    assert up and all(r["status"] < 400 for r in up)
