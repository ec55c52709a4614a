"""Thresholds: conditions parsed, evaluated against a run's numbers, and config errors naming key paths."""

from __future__ import annotations

import pytest

from simcore.analysis.thresholds import evaluate, parse_condition
from simcore.errors import ConfigError
from simcore.scenario.parse import loads_config


def test_parse_condition() -> None:
    assert parse_condition("< 250") == ("<", 250.0)
    assert parse_condition(">=1e3") == (">=", 1000.0)
    with pytest.raises(ValueError, match="expected a comparison"):
        parse_condition("250")


def test_evaluate_passes_fails_and_missing_values() -> None:
    """A missing value fails; comparisons are strict or not as written."""
    res = evaluate(
        {"p99_ms": "< 250", "error_rate": "<= 0.01", "crowd.burstiness": "> 0"},
        {"p99_ms": 250.0, "error_rate": 0.01},
    )
    assert [r["passed"] for r in res] == [False, True, False]
    assert res[2]["value"] is None


def test_config_errors_name_the_key_path() -> None:
    """Unknown metrics and malformed comparisons are config errors with key paths."""
    with pytest.raises(ConfigError) as info:
        loads_config('[thresholds]\np99 = "< 250"\n"read_post.error_rate" = "small"\n')
    paths = [p for p, _ in info.value.problems]
    assert paths == ["thresholds.p99", 'thresholds."read_post.error_rate"']
    assert "did you mean 'p99_ms'" in str(info.value)
