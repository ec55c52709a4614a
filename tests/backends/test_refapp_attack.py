"""The reference app under attack (issue 13): auth and ownership, idempotency scope and replay,
token storage, body size, huge ids, bad Unicode, a locked database, idempotency expiry."""

from __future__ import annotations

import json
import os
import pathlib
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from simcore_backends.refapp import create_app
from simcore_backends.refapp.app import encode_cursor
from simcore_backends.refapp.records import token_digest
from simcore_backends.refapp.store import Store
from tests.support.liveserver import uvicorn_server
from tests.support.refapp_client import Headers, TestClient, make_post, sign_up

ALICE_ADDR = ("10.0.0.1", 40001)
MALLORY_ADDR = ("10.0.0.66", 40066)
BIG = 2**63


@pytest.fixture
def db_path(tmp_path: pathlib.Path) -> pathlib.Path:
    return tmp_path / "attack.db"


@pytest.fixture
def app(db_path: pathlib.Path) -> Any:
    return create_app(db_path, max_body=4096)


@pytest.fixture
def alice_client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, client=ALICE_ADDR) as c:
        yield c


@pytest.fixture
def mallory_client(app: Any, alice_client: TestClient) -> Iterator[TestClient]:
    with TestClient(app, client=MALLORY_ADDR) as c:
        yield c


def _dump(db_path: pathlib.Path) -> str:
    with sqlite3.connect(db_path) as conn:
        return "\n".join(conn.iterdump())


# -- auth and ownership --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/posts", None),
        ("POST", "/posts", {"content": "x"}),
        ("GET", "/posts/1", None),
        ("PUT", "/posts/1", {"content": "x"}),
        ("DELETE", "/posts/1", None),
        ("POST", "/posts/1/like", None),
        ("POST", "/posts/1/repost", None),
        ("POST", "/users/1/follow", None),
        ("GET", "/feed/following", None),
    ],
)
def test_every_route_but_sign_up_and_health_needs_a_valid_token(
    alice_client: TestClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    _, alice = sign_up(alice_client, "alice")
    make_post(alice_client, alice)
    token = alice["Authorization"].removeprefix("Bearer ")
    for headers in (
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer " + token[:-1] + ("A" if token[-1] != "A" else "B")},
        {"Authorization": "Bearer " + token_digest(token)},  # what the database holds is no token
        {"Authorization": "Basic " + token},
        {"Authorization": "Bearer ' OR 1=1 --"},
    ):
        r = alice_client.request(method, path, json=body, headers=headers)
        assert r.status_code == 401, (headers, r.status_code, r.text)


def test_only_the_author_may_change_a_post(alice_client: TestClient) -> None:
    _, alice = sign_up(alice_client, "alice")
    _, bob = sign_up(alice_client, "bob")
    post = make_post(alice_client, alice, "mine")
    assert (
        alice_client.put(f"/posts/{post['id']}", json={"content": "bob's"}, headers=bob).status_code
        == 403
    )
    assert alice_client.delete(f"/posts/{post['id']}", headers=bob).status_code == 403
    assert alice_client.get(f"/posts/{post['id']}", headers=bob).json()["content"] == "mine"


# -- idempotency scope and replay ----------------------------------------------------------


def test_someone_elses_sign_up_replay_reveals_nothing(
    alice_client: TestClient, mallory_client: TestClient
) -> None:
    body = {"name": "alice", "external_id": 1}
    key = {"Idempotency-Key": "signup-1"}
    first = alice_client.post("/users", json=body, headers=key)
    retry = alice_client.post("/users", json=body, headers=key)
    assert first.status_code == retry.status_code == 201 and first.json() == retry.json()
    token = first.json()["token"]
    assert alice_client.get("/posts", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    replay = mallory_client.post("/users", json=body, headers=key)
    assert replay.status_code == 201
    assert replay.json()["id"] != first.json()["id"] and replay.json()["token"] != token
    assert token not in replay.text


def test_a_key_reused_with_another_body_or_route_is_refused(alice_client: TestClient) -> None:
    _, alice = sign_up(alice_client, "alice")
    keyed = alice | {"Idempotency-Key": "k-1"}
    post = alice_client.post("/posts", json={"content": "one"}, headers=keyed)
    assert post.status_code == 201
    assert alice_client.post("/posts", json={"content": "two"}, headers=keyed).status_code == 422
    assert (
        alice_client.put(
            f"/posts/{post.json()['id']}", json={"content": "one"}, headers=keyed
        ).status_code
        == 422
    )
    assert alice_client.post(f"/posts/{post.json()['id']}/repost", headers=keyed).status_code == 422
    assert alice_client.get("/posts", headers=alice).json()["items"][0]["content"] == "one"


def test_a_replayed_put_applies_once(alice_client: TestClient) -> None:
    _, alice = sign_up(alice_client, "alice")
    post = make_post(alice_client, alice, "v1")
    keyed = alice | {"Idempotency-Key": "edit-1"}
    first = alice_client.put(f"/posts/{post['id']}", json={"content": "v2"}, headers=keyed)
    again = alice_client.put(f"/posts/{post['id']}", json={"content": "v2"}, headers=keyed)
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    assert first.json()["version"] == 2
    assert alice_client.get(f"/posts/{post['id']}", headers=alice).json()["version"] == 2
    unkeyed = alice_client.put(f"/posts/{post['id']}", json={"content": "v2"}, headers=alice)
    assert unkeyed.json()["version"] == 3  # without a key every PUT is a new edit


def test_another_users_replay_of_a_post_key_sees_nothing_of_the_first(alice_client: TestClient) -> None:
    _, alice = sign_up(alice_client, "alice")
    _, bob = sign_up(alice_client, "bob")
    secret = alice_client.post(
        "/posts", json={"content": "alice's"}, headers=alice | {"Idempotency-Key": "p"}
    )
    bobs = alice_client.post(
        "/posts", json={"content": "alice's"}, headers=bob | {"Idempotency-Key": "p"}
    )
    assert bobs.status_code == 201 and bobs.json()["id"] != secret.json()["id"]
    assert bobs.json()["author_id"] != secret.json()["author_id"]


# -- what is stored ------------------------------------------------------------------------


def test_tokens_and_keys_are_stored_only_as_hashes_in_private_files(
    alice_client: TestClient, db_path: pathlib.Path
) -> None:
    tokens = []
    for i in range(3):
        r = alice_client.post(
            "/users", json={"name": f"u{i}"}, headers={"Idempotency-Key": f"secret-key-{i}"}
        )
        tokens.append(r.json()["token"])
    tokens.append(sign_up(alice_client, "plain")[1]["Authorization"].removeprefix("Bearer "))
    dump = _dump(db_path)
    for token in tokens:
        assert token not in dump and token_digest(token) in dump
    assert "secret-key-" not in dump
    for suffix in ("", "-wal", "-shm"):
        path = pathlib.Path(f"{db_path}{suffix}")
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, (path, oct(path.stat().st_mode))


def test_an_old_database_with_plain_tokens_is_migrated(tmp_path: pathlib.Path) -> None:
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, external_id INTEGER,"
            " token TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL)"
        )
        conn.execute("INSERT INTO users VALUES (1, 'old', NULL, 'plain-old-token', '2026-01-01')")
    with TestClient(create_app(db)) as client:
        assert (
            client.get("/posts", headers={"Authorization": "Bearer plain-old-token"}).status_code == 200
        )
    assert "plain-old-token" not in _dump(db)


def test_idempotency_keys_expire(tmp_path: pathlib.Path) -> None:
    store = Store(tmp_path / "ttl.db", idempotency_ttl=0.2)
    store.open()
    user = store.create_user("a", None)
    for i in range(20):
        store.create_post(user["id"], f"c{i}", idempotency_key=f"k{i}")
    assert store.idempotency_rows() == 20
    first = store.create_post(user["id"], "c0", idempotency_key="k0")
    time.sleep(0.3)
    store.create_post(user["id"], "late", idempotency_key="late")  # a write purges what expired
    assert store.idempotency_rows() == 1
    again = store.create_post(user["id"], "c0", idempotency_key="k0")  # expired: a new post
    assert first is not None and again is not None and again["id"] != first["id"]
    store.close()


# -- body size, huge ids, bad Unicode ------------------------------------------------------


def test_large_bodies_are_refused_before_being_read(alice_client: TestClient) -> None:
    _, alice = sign_up(alice_client, "alice")
    big = json.dumps({"content": "x" * 10_000})
    r = alice_client.post("/posts", content=big, headers=alice | {"Content-Type": "application/json"})
    assert r.status_code == 413
    chunks = (b'{"content": "' + b"x" * 1000 for _ in range(10))
    r = alice_client.post("/posts", content=chunks, headers=alice | {"Content-Type": "application/json"})
    assert r.status_code == 413
    r = alice_client.post("/users", content=b'{"name": "' + b"y" * 5000 + b'"}')
    assert r.status_code == 413
    assert alice_client.post("/posts", json={"content": "fits"}, headers=alice).status_code == 201


def test_huge_ids_are_404_or_422_never_500(alice_client: TestClient) -> None:
    _, alice = sign_up(alice_client, "alice")
    post = make_post(alice_client, alice)
    for n in (BIG, BIG * 4, -(BIG * 2), 10**40):
        for method, path in (
            ("GET", f"/posts/{n}"),
            ("PUT", f"/posts/{n}"),
            ("DELETE", f"/posts/{n}"),
            ("POST", f"/posts/{n}/like"),
            ("POST", f"/posts/{n}/repost"),
            ("POST", f"/users/{n}/follow"),
            ("DELETE", f"/users/{n}/follow"),
        ):
            body = {"content": "x"} if method == "PUT" else None
            r = alice_client.request(method, path, json=body, headers=alice)
            assert r.status_code in (404, 422), (method, path, r.status_code, r.text)
        assert alice_client.get("/posts", params={"author": n}, headers=alice).status_code == 422
        for body in (
            {"content": "q", "quote_of": n},
            {"content": "q", "quote_of": post["id"], "tag": None},
        ):
            r = alice_client.post("/posts", json=body, headers=alice)
            assert r.status_code in (201, 404, 422), r.text
        r = alice_client.post("/users", json={"name": "n", "external_id": n})
        assert r.status_code == 422
    cursor = encode_cursor(BIG)
    assert alice_client.get("/posts", params={"cursor": cursor}, headers=alice).status_code == 422


@pytest.mark.parametrize("field", ["content", "tag"])
def test_lone_surrogates_are_422(alice_client: TestClient, field: str) -> None:
    _, alice = sign_up(alice_client, "alice")
    raw = '{"content": "ok", "tag": "a\\ud800b"}' if field == "tag" else '{"content": "a\\udfffb"}'
    r = alice_client.post(
        "/posts", content=raw.encode(), headers=alice | {"Content-Type": "application/json"}
    )
    assert r.status_code == 422 and r.json()["detail"]
    r = alice_client.post(
        "/users", content=b'{"name": "\\ud83d"}', headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422
    r = alice_client.get("/posts?tag=%ED%A0%80", headers=alice)  # a surrogate's bytes in a query
    assert r.status_code in (200, 422)


# -- a locked database ---------------------------------------------------------------------


@pytest.mark.server
def test_a_locked_database_is_503_and_never_stalls_the_server(tmp_path: pathlib.Path) -> None:
    """While another process holds the write lock: writes answer 503 + Retry-After after the busy
    timeout, /health answers at once meanwhile, and everything works again once it is released."""
    db = tmp_path / "locked.db"
    with (
        uvicorn_server(create_app(db, busy_timeout=1.5)) as url,
        httpx.Client(base_url=url, timeout=10) as http,
    ):
        token = http.post("/users", json={"name": "alice"}).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        locker = sqlite3.connect(db, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        try:
            answers: list[httpx.Response] = []

            def write() -> None:
                with httpx.Client(base_url=url, timeout=10) as other:
                    answers.extend(
                        other.post("/posts", json={"content": "x"}, headers=auth) for _ in range(2)
                    )

            writer = threading.Thread(target=write)
            started = time.monotonic()
            writer.start()
            time.sleep(0.1)
            health = []
            while writer.is_alive() and time.monotonic() - started < 10:
                t0 = time.monotonic()
                assert http.get("/health").status_code == 200
                health.append(time.monotonic() - t0)
                time.sleep(0.05)
            writer.join()
            assert [r.status_code for r in answers] == [503, 503]
            assert all(r.headers.get("retry-after") for r in answers)
            assert health and max(health) < 0.75, health  # the loop is never held for a busy wait
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        assert http.post("/posts", json={"content": "after"}, headers=auth).status_code == 201


@pytest.mark.server
def test_a_large_body_over_the_wire_is_refused_early(tmp_path: pathlib.Path) -> None:
    """A 50 MB upload to the live server is answered 413 without the server reading it all."""
    with (
        uvicorn_server(create_app(tmp_path / "b.db")) as url,
        httpx.Client(base_url=url, timeout=10) as http,
    ):
        sent = 0

        def body() -> Iterator[bytes]:
            nonlocal sent
            for _ in range(50):
                sent += 1
                yield b"x" * 1_000_000

        try:
            r = http.post("/users", content=body(), headers={"Content-Type": "application/json"})
            assert r.status_code == 413
        except httpx.HTTPError:
            pass  # the server closed the connection mid-upload: refused all the same
        assert sent < 50
        assert http.get("/health").status_code == 200


def _headers_for(token: str) -> Headers:
    return {"Authorization": f"Bearer {token}"}


def test_db_file_mode_is_private_even_with_a_permissive_umask(tmp_path: pathlib.Path) -> None:
    old = os.umask(0)
    try:
        with TestClient(create_app(tmp_path / "u.db")) as client:
            sign_up(client, "a")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "u.db").stat().st_mode) == 0o600
