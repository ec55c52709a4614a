"""The mock backend: it answers like the reference API, refuses what the API would,
and ends with the core's world."""

from __future__ import annotations

import numpy as np

from simcore.core.actions import (
    CREATE_POST,
    DELETE_POST,
    FOLLOW_USER,
    LIKE_POST,
    QUOTE_POST,
    READ_POST,
    REPOST,
    SIGN_UP,
    UNFOLLOW_USER,
    UPDATE_POST,
)
from simcore.core.simulation import Simulation
from simcore.scenario.schema import Config
from simcore_backends.mock import MockBackend
from tests.support.helpers import busy_config


def test_mock_answers_like_the_api_and_ends_with_the_core_world(small_config: Config) -> None:
    """Every action succeeds except reads of posts deleted earlier in the same tick; the mock's
    posts, authors, deletions and views end equal to the core's world."""
    sim = Simulation(busy_config(small_config))
    mock = MockBackend()
    expected = {
        SIGN_UP: 201,
        CREATE_POST: 201,
        DELETE_POST: 204,
        LIKE_POST: 201,
        REPOST: 201,
        QUOTE_POST: 201,
        FOLLOW_USER: 201,
        UNFOLLOW_USER: 204,
    }
    for _ in range(sim.config.duration_ticks):
        batch = sim.step()
        out = mock.execute(batch)
        want = np.array([expected.get(k, 200) for k in batch.kind.tolist()])
        bad = out.status != want
        late = np.isin(batch.kind[bad], [READ_POST, LIKE_POST, REPOST, QUOTE_POST])
        assert np.all(late) and np.all(out.status[bad] == 404)
    n = sim.world.n
    assert mock.n_posts == n
    assert np.array_equal(mock.author[:n], sim.world.author[:n])
    assert np.array_equal(mock.deleted_tick[:n] >= 0, sim.world.deleted_tick[:n] >= 0)
    assert np.array_equal(mock.views[:n], sim.world.views[:n])


def test_mock_refuses_strangers_and_other_authors() -> None:
    """Actions of users not signed up, or on posts never created, are skipped (not sent);
    403 on another's post; 404 on a post deleted earlier."""
    from simcore.core.actions import ActionBatch
    from simcore.seam.contract import ErrorKind

    mock = MockBackend()

    def run(tick: int, rows: list[tuple[int, int, int]]) -> list[tuple[int, int]]:
        users, kinds, posts = (np.array(c) for c in zip(*rows))
        batch = ActionBatch(
            tick=tick,
            user=users.astype(np.int32),
            kind=kinds.astype(np.uint8),
            post=posts.astype(np.int32),
            offset_ms=np.arange(len(rows), dtype=np.int32),
            state=np.zeros(len(rows), np.uint8),
            profile=np.zeros(len(rows), np.uint8),
        )
        out = mock.execute(batch)
        return list(zip(out.status.tolist(), out.error.tolist()))

    skipped = (0, int(ErrorKind.SKIPPED))
    assert run(0, [(0, READ_POST, 0), (0, SIGN_UP, -1), (0, CREATE_POST, 0), (1, SIGN_UP, -1)]) == [
        skipped,
        (201, 0),
        (201, 0),
        (201, 0),
    ]
    assert run(
        1, [(1, UPDATE_POST, 0), (1, DELETE_POST, 0), (0, READ_POST, 5), (0, UPDATE_POST, 0)]
    ) == [(403, 0), (403, 0), skipped, (200, 0)]
    assert run(2, [(0, DELETE_POST, 0), (1, READ_POST, 0), (0, DELETE_POST, 0)]) == [
        (204, 0),
        (404, 0),
        (404, 0),
    ]
    # a paced tick comes in slices: a delete in an earlier slice of the same tick
    assert run(3, [(1, CREATE_POST, 1), (0, CREATE_POST, 2)]) == [(201, 0), (201, 0)]
    assert run(4, [(0, DELETE_POST, 2)]) == [(204, 0)]
    assert run(4, [(1, DELETE_POST, 1), (1, READ_POST, 2), (0, READ_POST, 1)]) == [
        (204, 0),
        (404, 0),
        (404, 0),
    ]
