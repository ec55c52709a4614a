"""What the routes' answer keys do, action by action, against the Medium-like API in process:
``exists`` + ``log_in``, ``ok``, ``id`` re-learning a changed slug, and ``bad_answer``."""

from __future__ import annotations

from pathlib import Path

import pytest
from attrs import evolve

from simcore.scenario.backend_schema import Route
from simcore.scenario.kinds import ActionKind as K
from simcore.scenario.parse import loads_config
from simcore.scenario.schema import Config
from simcore.seam.contract import BackendContext, ErrorKind, Outcomes
from simcore_backends.testclient import TestClientBackend
from tests.support import medium_api
from tests.support.helpers import scripted_batch

APP = "tests.support.medium_api:app_from_env"


def _config(namespace: str = "t1", **routes: Route) -> Config:
    config = loads_config(medium_api.ROUTES)
    table = {**config.backend.routes, **routes}
    return evolve(config, backend=evolve(config.backend, namespace=namespace, routes=table))


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "medium.db"
    monkeypatch.setenv("MEDIUM_API_DB", str(path))
    return path


def _open(config: Config) -> TestClientBackend:
    backend = TestClientBackend(app=APP)
    backend.open(BackendContext(config))
    return backend


def _steps(backend: TestClientBackend, *rows: tuple[int, int, int, int]) -> list[Outcomes]:
    """One batch (tick) per row of (kind, user, post, ref)."""
    out = []
    for tick, (kind, user, post, ref) in enumerate(rows):
        out.append(backend.execute(scripted_batch([kind], [user], [post], [ref], tick=tick, seq0=tick)))
    return out


def _status(outcomes: list[Outcomes]) -> list[tuple[int, str]]:
    return [(int(o.status[0]), ErrorKind(int(o.error[0])).name.lower()) for o in outcomes]


def test_a_user_who_exists_logs_in_and_lives_on(db: Path) -> None:
    """A second sign-up of the same user (its first answer lost, say) answers 422: the user is
    logged in instead, and acts with its token and username."""
    config = _config()
    first = _open(config)
    assert _status(_steps(first, (K.SIGN_UP, 0, -1, -1))) == [(201, "none")]
    first.close()
    again = _open(config)
    try:
        outcomes = _steps(again, (K.SIGN_UP, 0, -1, -1), (K.CREATE_POST, 0, 0, -1))
    finally:
        again.close()
    assert _status(outcomes) == [(200, "none"), (201, "none")]
    assert outcomes[0].attempts[0] == 2  # the sign-up, then the log-in
    assert medium_api.read_db(db)["users"] == ["u0-t1"]
    assert again.rest is not None and again.rest.ids.server_user(0) == "u0-t1"


def test_without_exists_the_repeated_sign_up_fails_for_good(db: Path) -> None:
    config = _config(sign_up=evolve(_config().backend.routes["sign_up"], exists=()))
    _open(config).close()
    for _ in range(2):
        backend = _open(config)
        try:
            outcomes = _steps(backend, (K.SIGN_UP, 0, -1, -1), (K.CREATE_POST, 0, 0, -1))
        finally:
            backend.close()
    assert _status(outcomes) == [(422, "none"), (0, "skipped")]


def test_ok_statuses_count_as_success(db: Path) -> None:
    """A like of a post already liked answers 409; with ok = [409] the like is a success."""
    base = _config().backend.routes["like_post"]
    for ok, expected in (((409,), (200, "none")), ((), (409, "none"))):
        backend = _open(_config(like_post=evolve(base, ok=ok)))
        try:
            outcomes = _steps(
                backend,
                (K.SIGN_UP, 0, -1, -1),
                (K.SIGN_UP, 1, -1, -1),
                (K.CREATE_POST, 0, 0, -1),
                (K.LIKE_POST, 1, 0, -1),
                (K.LIKE_POST, 1, 0, -1),
            )
        finally:
            backend.close()
        assert _status(outcomes)[3:] == [(200, "none"), expected]
        assert Outcomes.failed(outcomes[4]).tolist() == [expected[0] == 409]


@pytest.mark.parametrize("relearn", [True, False])
def test_id_relearns_the_slug_an_edit_changed(db: Path, relearn: bool) -> None:
    """With id = "article.slug" on update_post, reads, likes and edits after an edit reach the
    article by its new slug; without it they get 404."""
    base = _config().backend.routes["update_post"]
    backend = _open(_config(update_post=evolve(base, id="article.slug" if relearn else "")))
    try:
        outcomes = _steps(
            backend,
            (K.SIGN_UP, 0, -1, -1),
            (K.CREATE_POST, 0, 0, -1),
            (K.UPDATE_POST, 0, 0, -1),
            (K.READ_POST, 0, 0, -1),
            (K.UPDATE_POST, 0, 0, -1),
            (K.LIKE_POST, 0, 0, -1),
            (K.DELETE_POST, 0, 0, -1),
        )
    finally:
        backend.close()
    statuses = [s for s, _ in _status(outcomes)]
    if relearn:
        assert statuses == [201, 201, 200, 200, 200, 200, 204]
        articles = medium_api.read_db(db)["articles"]
        assert [(a[3], a[4]) for a in articles] == [(1, 3)]  # deleted, at version 3
    else:
        assert statuses == [201, 201, 200, 404, 404, 404, 404]


def test_a_malformed_answer_fails_that_action_not_the_run(db: Path) -> None:
    """A 2xx sign-up answer without the token the route names, and a create's answer without
    the id: bad_answer for that action, the user not signed up / the post not created, the
    batch and the run go on."""
    routes = _config().backend.routes
    config = _config(
        sign_up=evolve(routes["sign_up"], token="user.jwt"),
        create_post=evolve(routes["create_post"], id="article.nope"),
    )
    backend = _open(config)
    try:
        with pytest.warns(RuntimeWarning, match="no token at field 'user.jwt'"):
            first = _steps(backend, (K.SIGN_UP, 0, -1, -1), (K.BROWSE_FEED, 0, -1, -1))
    finally:
        backend.close()
    assert _status(first) == [(201, "bad_answer"), (0, "skipped")]
    assert first[0].failed().tolist() == [True]

    good_signup = _config(namespace="t2", create_post=config.backend.routes["create_post"])
    backend = _open(good_signup)
    try:
        with pytest.warns(RuntimeWarning, match="no id at field 'article.nope'"):
            second = _steps(
                backend, (K.SIGN_UP, 0, -1, -1), (K.CREATE_POST, 0, 0, -1), (K.READ_POST, 0, 0, -1)
            )
    finally:
        backend.close()
    assert _status(second) == [(201, "none"), (201, "bad_answer"), (0, "skipped")]
