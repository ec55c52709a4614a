"""Auth and ownership end to end: nobody changes another's post; bad tokens change nothing."""

from __future__ import annotations

import asyncio
import sqlite3
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from attrs import evolve

from simcore.core.actions import ActionBatch
from simcore.scenario.kinds import ActionKind
from simcore.scenario.schema import Config
from simcore.seam.contract import AsyncBackend, Backend, BackendContext, Outcomes, SyncBackend
from simcore_backends.http import HttpBackend
from simcore_backends.mock import MockBackend
from simcore_backends.refapp import create_app
from simcore_backends.testclient import TestClientBackend
from tests.support.helpers import scripted_batch
from tests.support.liveserver import uvicorn_server
from tests.support.runner import run, small

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

S, F, R, C, U, D = (
    ActionKind.SIGN_UP,
    ActionKind.BROWSE_FEED,
    ActionKind.READ_POST,
    ActionKind.CREATE_POST,
    ActionKind.UPDATE_POST,
    ActionKind.DELETE_POST,
)


def _batch(tick: int, seq0: int, actions: list[tuple[int, int, int]]) -> ActionBatch:
    """``actions``: (kind, user, post)."""
    kind, user, post = ([a[i] for a in actions] for i in range(3))
    return scripted_batch(kind, user, post, tick=tick, seq0=seq0)


def _execute(backend: Backend, batch: ActionBatch, loop: asyncio.AbstractEventLoop) -> Outcomes:
    if isinstance(backend, AsyncBackend):
        return loop.run_until_complete(backend.execute_async(batch))
    assert isinstance(backend, SyncBackend)
    return backend.execute(batch)


@pytest.fixture(params=["mock", "testclient", pytest.param("http", marks=pytest.mark.server)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "mock":
        yield MockBackend()
    elif request.param == "testclient":
        yield TestClientBackend(db=str(tmp_path / "a.db"))
    else:
        with uvicorn_server(create_app(tmp_path / "a.db")) as url:
            yield HttpBackend(target=url)


def test_only_the_author_changes_a_post(backend: Backend, default_config: Config) -> None:
    """Another user's update and delete get 403, a read of it 200, and the author's go through."""
    loop = asyncio.new_event_loop()
    backend.open(BackendContext(evolve(default_config, seed=1)))
    try:
        script = [
            [(S, 0, -1), (S, 1, -1)],
            [(C, 0, 0), (C, 1, 1)],
            [(U, 1, 0), (D, 1, 0), (R, 1, 0), (F, 1, -1)],
            [(U, 0, 0), (R, 1, 1), (D, 0, 0)],
            [(R, 1, 0), (D, 0, 1)],
        ]
        statuses = []
        seq = 0
        for tick, actions in enumerate(script):
            out = _execute(backend, _batch(tick, seq, actions), loop)
            seq += len(actions)
            statuses.append(out.status.tolist())
    finally:
        backend.close()
        loop.close()
    assert statuses == [[201, 201], [201, 201], [403, 403, 200, 200], [200, 200, 204], [404, 403]]


@pytest.mark.slow
def test_simulated_users_only_ever_change_their_own_posts(
    default_config: Config, tmp_path: Path
) -> None:
    """In a whole run no edit or delete is refused, and each hits a post its actor wrote."""
    cfg = small(default_config, users=200, duration="2h", population__mix={"chatterbox": 1.0})
    backend = TestClientBackend(db=str(tmp_path / "run.db"))
    sim, records = run(cfg, backend)
    changes = [r for r in records if r["action"] in ("update_post", "delete_post")]
    assert len(changes) > 10
    for r in changes:
        assert sim.world.author[r["post"]] == r["user"]
        assert r["status"] in (200, 204)

    # now try it the other way round with the run's real tokens, and with forged or missing ones
    assert backend.rest is not None
    ids = backend.rest.ids
    db = tmp_path / "run.db"
    with sqlite3.connect(db) as conn:
        before = conn.execute("SELECT * FROM posts ORDER BY id").fetchall()
        authors = dict(conn.execute("SELECT id, external_id FROM users").fetchall())
    live = [p for p in np.flatnonzero(sim.world.live()).tolist()][:30]
    assert live
    with TestClient(create_app(db)) as client:
        for core in live:
            sid = ids.server_post(core)
            author = int(sim.world.author[core])
            other = next(u for u in range(sim.population.n) if u != author and ids.token(u))
            assert authors[ids.server_user(other)] == other
            theirs = {"Authorization": f"Bearer {ids.token(other)}"}
            forged = {"Authorization": "Bearer " + "x" * 43}
            body = {"content": "pwned"}
            assert client.put(f"/posts/{sid}", json=body, headers=theirs).status_code == 403
            assert client.delete(f"/posts/{sid}", headers=theirs).status_code == 403
            for headers in (forged, {}, {"Authorization": ids.token(author) or ""}):
                assert client.put(f"/posts/{sid}", json=body, headers=headers).status_code == 401
                assert client.delete(f"/posts/{sid}", headers=headers).status_code == 401
                assert client.post("/posts", json=body, headers=headers).status_code == 401
    with sqlite3.connect(db) as conn:
        after = conn.execute("SELECT * FROM posts ORDER BY id").fetchall()
    assert after == before
