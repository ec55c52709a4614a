"""Tests of the reference social app (simcore_backends.refapp) through FastAPI's TestClient."""

from __future__ import annotations

import pathlib
import sqlite3
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simcore_backends.refapp import create_app
from simcore_backends.refapp.app import DB_ENV_VAR, app_from_env, decode_cursor, encode_cursor
from tests.support.refapp_client import Headers, TestClient, make_post, sign_up


@pytest.fixture
def db_path(tmp_path: pathlib.Path) -> pathlib.Path:
    return tmp_path / "refapp.db"


@pytest.fixture
def client(db_path: pathlib.Path) -> Iterator[TestClient]:
    with TestClient(create_app(db_path)) as c:
        yield c


def count(db_path: pathlib.Path, table: str) -> int:
    assert table in {"users", "posts"}
    with sqlite3.connect(db_path) as conn:
        n: int = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    return n


def walk_feed(client: TestClient, headers: Headers, limit: int, **params: Any) -> list[int]:
    ids: list[int] = []
    cursor: str | None = None
    while True:
        query = {"limit": limit, **params} | ({} if cursor is None else {"cursor": cursor})
        r = client.get("/posts", params=query, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= limit
        ids.extend(p["id"] for p in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


# -- users and auth ------------------------------------------------------------------------


def test_health_needs_no_auth(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}


def test_sign_up_returns_token_that_authenticates(client: TestClient) -> None:
    r = client.post("/users", json={"name": "alice", "external_id": 7})
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"id", "name", "token"}
    assert body["name"] == "alice" and len(body["token"]) >= 32
    headers = {"Authorization": f"Bearer {body['token']}"}
    assert client.get("/posts", headers=headers).status_code == 200
    other = client.post("/users", json={"name": "bob", "external_id": None}).json()
    assert other["id"] != body["id"] and other["token"] != body["token"]


@pytest.mark.parametrize(
    "body",
    [{}, {"name": ""}, {"name": "x" * 65}, {"name": "ok", "external_id": "seven"}, {"name": 3}],
)
def test_sign_up_rejects_bad_bodies(client: TestClient, body: dict[str, Any]) -> None:
    assert client.post("/users", json=body).status_code == 422


@pytest.mark.parametrize(
    "auth",
    [None, "Bearer not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer", "not-bearer-at-all"],
)
def test_requests_without_valid_token_get_401_and_change_nothing(
    client: TestClient, db_path: pathlib.Path, auth: str | None
) -> None:
    _, alice = sign_up(client)
    post = make_post(client, alice)
    headers = {} if auth is None else {"Authorization": auth}
    pid = post["id"]
    calls = [
        ("GET", "/posts", None),
        ("GET", f"/posts/{pid}", None),
        ("POST", "/posts", {"content": "forged"}),
        ("PUT", f"/posts/{pid}", {"content": "forged"}),
        ("DELETE", f"/posts/{pid}", None),
    ]
    for method, url, body in calls:
        r = client.request(method, url, json=body, headers=headers)
        assert r.status_code == 401, (method, url, r.text)
        assert isinstance(r.json()["detail"], str)
    assert count(db_path, "posts") == 1
    after = client.get(f"/posts/{pid}", headers=alice).json()
    assert after["content"] == "hello" and after["version"] == 1 and after["views"] == 1


# -- posts ---------------------------------------------------------------------------------


def test_create_returns_201_location_and_post(client: TestClient) -> None:
    uid, alice = sign_up(client)
    r = client.post("/posts", json={"content": "first!"}, headers=alice)
    assert r.status_code == 201
    post = r.json()
    assert r.headers["location"] == f"/posts/{post['id']}"
    assert set(post) == {
        "id",
        "author_id",
        "content",
        "created_at",
        "updated_at",
        "version",
        "views",
        "tag",
        "repost_of",
        "quote_of",
        "likes",
        "reposts",
        "quotes",
    }
    assert post["author_id"] == uid and post["content"] == "first!"
    assert post["version"] == 1 and post["views"] == 0 and post["updated_at"] is None
    assert client.get(r.headers["location"], headers=alice).json()["content"] == "first!"


@pytest.mark.parametrize(
    "body", [{}, {"content": ""}, {"content": "x" * 2001}, {"content": None}, {"text": "hi"}]
)
def test_bad_post_bodies_get_422(
    client: TestClient, db_path: pathlib.Path, body: dict[str, Any]
) -> None:
    _, alice = sign_up(client)
    post = make_post(client, alice)
    assert client.post("/posts", json=body, headers=alice).status_code == 422
    assert client.put(f"/posts/{post['id']}", json=body, headers=alice).status_code == 422
    assert count(db_path, "posts") == 1
    assert client.get(f"/posts/{post['id']}", headers=alice).json()["version"] == 1


def test_content_of_exactly_2000_chars_is_accepted(client: TestClient) -> None:
    _, alice = sign_up(client)
    assert make_post(client, alice, "y" * 2000)["content"] == "y" * 2000


@pytest.mark.parametrize("limit", [0, -1, 101, "ten"])
def test_bad_limit_gets_422(client: TestClient, limit: object) -> None:
    _, alice = sign_up(client)
    assert client.get("/posts", params={"limit": limit}, headers=alice).status_code == 422


@pytest.mark.parametrize("cursor", ["!!!", "cXVhY2s", "cA", "cC01", encode_cursor(5) + "=x"])
def test_bad_cursor_gets_422(client: TestClient, cursor: str) -> None:
    _, alice = sign_up(client)
    assert client.get("/posts", params={"cursor": cursor}, headers=alice).status_code == 422


def test_cursor_round_trip() -> None:
    for n in (1, 9, 10, 123456789):
        assert decode_cursor(encode_cursor(n)) == n


def test_update_sets_updated_at_and_bumps_version(client: TestClient) -> None:
    _, alice = sign_up(client)
    post = make_post(client, alice)
    r = client.put(f"/posts/{post['id']}", json={"content": "edited"}, headers=alice)
    assert r.status_code == 200
    edited = r.json()
    assert edited["content"] == "edited" and edited["version"] == 2
    assert edited["updated_at"] is not None and edited["created_at"] == post["created_at"]
    again = client.put(f"/posts/{post['id']}", json={"content": "again"}, headers=alice).json()
    assert again["version"] == 3


def test_only_the_author_may_update_or_delete(client: TestClient) -> None:
    _, alice = sign_up(client, "alice")
    _, bob = sign_up(client, "bob")
    post = make_post(client, alice, "mine")
    url = f"/posts/{post['id']}"
    r = client.put(url, json={"content": "bob was here"}, headers=bob)
    assert r.status_code == 403 and isinstance(r.json()["detail"], str)
    assert client.delete(url, headers=bob).status_code == 403
    after = client.get(url, headers=bob).json()
    assert (after["content"], after["version"], after["updated_at"]) == ("mine", 1, None)
    assert [p["id"] for p in client.get("/posts", headers=alice).json()["items"]] == [post["id"]]


def test_missing_posts_are_404(client: TestClient) -> None:
    _, alice = sign_up(client)
    for method, body in [("GET", None), ("PUT", {"content": "x"}), ("DELETE", None)]:
        r = client.request(method, "/posts/999", json=body, headers=alice)
        assert r.status_code == 404 and isinstance(r.json()["detail"], str)


def test_deleted_post_is_gone(client: TestClient) -> None:
    _, alice = sign_up(client)
    keep = make_post(client, alice, "keep")
    gone = make_post(client, alice, "gone")
    url = f"/posts/{gone['id']}"
    r = client.delete(url, headers=alice)
    assert r.status_code == 204 and r.content == b""
    assert client.get(url, headers=alice).status_code == 404
    assert client.put(url, json={"content": "zombie"}, headers=alice).status_code == 404
    assert client.delete(url, headers=alice).status_code == 404
    feed = client.get("/posts", headers=alice).json()
    assert [p["id"] for p in feed["items"]] == [keep["id"]]


def test_reading_a_post_counts_views(client: TestClient) -> None:
    _, alice = sign_up(client)
    _, bob = sign_up(client, "bob")
    post = make_post(client, alice)
    url = f"/posts/{post['id']}"
    assert [client.get(url, headers=h).json()["views"] for h in (alice, bob, bob)] == [1, 2, 3]
    feed_views = client.get("/posts", headers=alice).json()["items"][0]["views"]
    assert feed_views == 3  # listing the feed does not count as a view


# -- idempotency ---------------------------------------------------------------------------


def test_sign_up_retry_with_idempotency_key_creates_one_user(
    client: TestClient, db_path: pathlib.Path
) -> None:
    body = {"name": "alice", "external_id": 1}
    first = client.post("/users", json=body, headers={"Idempotency-Key": "signup-1"})
    again = client.post("/users", json=body, headers={"Idempotency-Key": "signup-1"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert count(db_path, "users") == 1
    other = client.post("/users", json=body, headers={"Idempotency-Key": "signup-2"})
    assert other.json()["id"] != first.json()["id"]
    conflict = client.post("/users", json={"name": "mallory"}, headers={"Idempotency-Key": "signup-1"})
    assert conflict.status_code == 422
    assert count(db_path, "users") == 2


def test_post_retry_with_idempotency_key_creates_one_post(
    client: TestClient, db_path: pathlib.Path
) -> None:
    _, alice = sign_up(client, "alice")
    _, bob = sign_up(client, "bob")
    keyed = alice | {"Idempotency-Key": "post-1"}
    first = client.post("/posts", json={"content": "once"}, headers=keyed)
    client.get(first.headers["location"], headers=alice)  # views change; the replay does not
    again = client.post("/posts", json={"content": "once"}, headers=keyed)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert first.headers["location"] == again.headers["location"]
    assert count(db_path, "posts") == 1
    # Keys are scoped per user: bob's "post-1" is a different post.
    bobs = client.post("/posts", json={"content": "once"}, headers=bob | {"Idempotency-Key": "post-1"})
    assert bobs.status_code == 201 and bobs.json()["id"] != first.json()["id"]
    # The same key with a different body is refused and creates nothing.
    clash = client.post("/posts", json={"content": "twice"}, headers=keyed)
    assert clash.status_code == 422
    assert count(db_path, "posts") == 2


# -- feed ----------------------------------------------------------------------------------


def test_feed_is_newest_first_and_pagination_walks_every_post_once(client: TestClient) -> None:
    _, alice = sign_up(client, "alice")
    _, bob = sign_up(client, "bob")
    ids = [make_post(client, alice if i % 3 else bob, f"post {i}")["id"] for i in range(23)]
    expected = sorted(ids, reverse=True)
    for limit in (1, 5, 7, 23, 100):
        assert walk_feed(client, alice, limit) == expected
    first_page = client.get("/posts", headers=alice).json()
    assert [p["id"] for p in first_page["items"]] == expected[:20]  # default limit is 20
    exact = client.get("/posts", params={"limit": 23}, headers=alice).json()
    assert exact["next_cursor"] is None


def test_feed_author_filter(client: TestClient) -> None:
    alice_id, alice = sign_up(client, "alice")
    bob_id, bob = sign_up(client, "bob")
    by: dict[int, list[int]] = {alice_id: [], bob_id: []}
    for i in range(12):
        uid, headers = (alice_id, alice) if i % 2 else (bob_id, bob)
        by[uid].append(make_post(client, headers, f"p{i}")["id"])
    for uid, ids in by.items():
        assert walk_feed(client, alice, 5, author=uid) == sorted(ids, reverse=True)
    assert walk_feed(client, alice, 5, author=424242) == []


def test_empty_feed(client: TestClient) -> None:
    _, alice = sign_up(client)
    assert client.get("/posts", headers=alice).json() == {"items": [], "next_cursor": None}


# -- app plumbing --------------------------------------------------------------------------


def test_openapi_lists_all_routes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    assert set(paths["/posts"]) == {"get", "post"}
    assert set(paths["/posts/{post_id}"]) == {"get", "put", "delete"}
    assert set(paths["/users"]) == {"post"} and set(paths["/health"]) == {"get"}
    assert "201" in paths["/posts"]["post"]["responses"]
    assert "Location" in paths["/posts"]["post"]["responses"]["201"]["headers"]
    assert {"401", "403", "404"} <= set(paths["/posts/{post_id}"]["put"]["responses"])
    assert "204" in paths["/posts/{post_id}"]["delete"]["responses"]
    assert {"PostOut", "PostPage", "UserOut", "PostIn", "UserIn"} <= set(spec["components"]["schemas"])


def test_data_survives_a_restart_and_db_is_wal(db_path: pathlib.Path) -> None:
    with TestClient(create_app(db_path)) as c:
        _, alice = sign_up(c)
        post = make_post(c, alice, "durable")
    with TestClient(create_app(db_path)) as c:
        assert c.get(f"/posts/{post['id']}", headers=alice).json()["content"] == "durable"
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_app_from_env_reads_db_path(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "env.db"
    monkeypatch.setenv(DB_ENV_VAR, str(path))
    with TestClient(app_from_env()) as c:
        assert c.get("/health").status_code == 200
    assert path.exists()


# -- property: the feed equals a Python model ----------------------------------------------

N_USERS = 3
_ops = st.one_of(
    st.tuples(st.just("create"), st.integers(0, N_USERS - 1), st.text(min_size=1, max_size=20)),
    st.tuples(st.just("update"), st.integers(0, N_USERS - 1), st.integers(0, 30)),
    st.tuples(st.just("delete"), st.integers(0, N_USERS - 1), st.integers(0, 30)),
    st.tuples(st.just("read"), st.integers(0, N_USERS - 1), st.integers(0, 30)),
)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(_ops, max_size=40), limit=st.integers(1, 7))
def test_random_sequences_keep_feed_equal_to_model(ops: list[tuple[str, int, Any]], limit: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, TestClient(create_app(f"{tmp}/p.db")) as c:
        users = [sign_up(c, f"user{i}") for i in range(N_USERS)]
        model: dict[int, dict[str, Any]] = {}  # live posts: id -> author, content, version, views
        created: list[int] = []  # every id ever created, to target deleted ones too
        for op, actor, arg in ops:
            uid, headers = users[actor]
            if op == "create":
                post = make_post(c, headers, arg)
                model[post["id"]] = {"author": uid, "content": arg, "version": 1, "views": 0}
                created.append(post["id"])
                continue
            pid = created[arg % len(created)] if created else 10_000 + arg
            live = model.get(pid)
            want = 404 if live is None else 200 if op == "read" or live["author"] == uid else 403
            if op == "update":
                r = c.put(f"/posts/{pid}", json={"content": f"v{arg}"}, headers=headers)
                if r.status_code == 200 and live is not None:
                    live["content"], live["version"] = f"v{arg}", live["version"] + 1
            elif op == "delete":
                r = c.delete(f"/posts/{pid}", headers=headers)
                want = 204 if want == 200 else want
                if r.status_code == 204:
                    model.pop(pid)
            else:
                r = c.get(f"/posts/{pid}", headers=headers)
                if r.status_code == 200 and live is not None:
                    live["views"] += 1
            assert r.status_code == want, (op, actor, pid, r.text)
        viewer = users[0][1]
        assert walk_feed(c, viewer, limit) == sorted(model, reverse=True)
        items = {
            p["id"]: p for p in c.get("/posts", params={"limit": 100}, headers=viewer).json()["items"]
        }
        for pid, m in model.items():
            got = items[pid]
            assert (got["author_id"], got["content"], got["version"], got["views"]) == (
                m["author"],
                m["content"],
                m["version"],
                m["views"],
            )
        for uid, _ in users:
            mine = sorted((p for p, m in model.items() if m["author"] == uid), reverse=True)
            assert walk_feed(c, viewer, limit, author=uid) == mine
