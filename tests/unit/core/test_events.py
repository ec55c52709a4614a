"""Scheduled events: a launch-day spike, a viral post, an outage; each deterministic and
leaving everything before it as it was."""

from __future__ import annotations

import numpy as np
import pytest

from simcore.core.actions import ActionBatch
from simcore.core.simulation import Simulation
from simcore.errors import ConfigError
from simcore.scenario.parse import loads_config
from simcore.scenario.schema import Config
from simcore.seam.faults import ERROR, OK, Injector
from simcore.seam.retry import RetryPolicy

BASE = 'duration = "6h"\nstart = 2026-01-05T12:00:00\n[population]\ninitial_users = 300\n'


def _run(text: str) -> list[ActionBatch]:
    sim = Simulation(loads_config(BASE + text))
    return [sim.step() for _ in range(sim.config.duration_ticks)]


def _signups(batches: list[ActionBatch], first: int, end: int) -> int:
    return sum(int((b.kind == 0).sum()) for b in batches[first:end])


def test_a_launch_adds_arrivals_in_its_window_and_nothing_before() -> None:
    """2,000 extra sign-ups an hour from 2 h to 3 h: ~2,000 more in that hour, the same run
    before it (common random numbers), and the same run twice."""
    plain = _run("")
    text = '[[events]]\nkind = "launch"\nat = "2h"\nduration = "1h"\narrivals_per_hour = 2000.0\n'
    launch, again = _run(text), _run(text)
    assert all(a.equals(b) for a, b in zip(plain[:120], launch[:120]))
    extra = _signups(launch, 120, 180) - _signups(plain, 120, 180)
    assert 1800 < extra < 2200, extra
    assert all(a.equals(b) for a, b in zip(launch, again))


def test_a_viral_post_draws_its_share_of_reads() -> None:
    """From 3 h to 5 h half the reads go to the newest post of 3 h."""
    text = '[[events]]\nkind = "viral"\nat = "3h"\nduration = "2h"\nshare = 0.5\n'
    batches = _run(text)
    reads = [b.post[b.kind == 2] for b in batches]  # read_post
    created = [b.post[np.isin(b.kind, (3, 7, 8))] for b in batches]  # posts, reposts, quotes
    newest = int(max(p.max(initial=-1) for p in created[:180]))  # the newest post at 3 h
    before, during = np.concatenate(reads[:180]), np.concatenate(reads[180:300])
    assert (before == newest).mean() < 0.2
    assert 0.4 < (during == newest).mean() < 0.7, (during == newest).mean()


def test_an_outage_fails_every_attempt_and_the_crowd_gives_up() -> None:
    """From 2 h for 30 min: the crowd only browses its feed, at most 2 actions a session, and
    every attempt fails on the mock's fault injector; before and after, it goes through."""
    text = '[[events]]\nkind = "outage"\nat = "2h"\nduration = "30m"\ngive_up_after = 2\n'
    config = loads_config(BASE + text)
    batches = _run(text)
    during = batches[120:150]
    acting = np.concatenate([b.kind[b.kind != 0] for b in during])
    assert len(acting) > 50 and set(acting.tolist()) == {1}  # browse_feed
    injector = Injector.from_config(config, config.seed)
    assert injector is not None
    policy = RetryPolicy.from_config(config.backend, config.seed)
    for b in batches[118:152]:
        attempts, final, _ = injector.resolve(b.seq, policy, b.tick)
        down = 120 <= b.tick < 150
        assert np.all(final == (ERROR if down else OK))
        assert np.all(attempts == (policy.retries + 1 if down else 1))


def test_events_name_their_key_paths() -> None:
    """A bad event is reported at its [[events]] index and key."""
    with pytest.raises(ConfigError) as info:
        loads_config('[[events]]\nkind = "virl"\n[[events]]\nkind = "launch"\nduration = "0m"\n')
    report = str(info.value)
    assert "  events[0].kind: " in report and "did you mean 'viral'" in report
    assert "  events[1].duration: " in report


def test_no_events_is_the_default() -> None:
    """Configs without [[events]] have none."""
    assert Config().events == ()
