"""The reference app's social endpoints: likes, reposts, quotes, follows, the following
feed and tag filters, with their ownership and error rules."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from simcore_backends.refapp import create_app
from tests.support.refapp_client import Headers, TestClient, sign_up


@pytest.fixture
def client(tmp_path: pathlib.Path) -> Iterator[TestClient]:
    with TestClient(create_app(tmp_path / "social.db")) as c:
        yield c


def _post(client: TestClient, headers: Headers, content: str = "hello", **extra: object) -> int:
    r = client.post("/posts", json={"content": content, **extra}, headers=headers)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_like_once_then_409_and_404_for_missing(client: TestClient) -> None:
    """A like is 201 and counted; a second like by the same user 409; a missing post 404."""
    _, alice = sign_up(client, "alice")
    _, bob = sign_up(client, "bob")
    post = _post(client, alice)
    r = client.post(f"/posts/{post}/like", headers=bob)
    assert r.status_code == 201 and r.json()["likes"] == 1
    assert client.post(f"/posts/{post}/like", headers=bob).status_code == 409
    assert client.post(f"/posts/{post}/like", headers=alice).json()["likes"] == 2
    assert client.post("/posts/999/like", headers=bob).status_code == 404
    assert client.post(f"/posts/{post}/like").status_code == 401
    client.delete(f"/posts/{post}", headers=alice)
    assert client.post(f"/posts/{post}/like", headers=bob).status_code == 404


def test_repost_and_quote_refer_to_live_posts(client: TestClient) -> None:
    """Reposts and quotes are new posts of the caller referring to the original (its tag kept);
    the original counts them; a missing or deleted original is 404."""
    _, alice = sign_up(client, "alice")
    bob_id, bob = sign_up(client, "bob")
    original = _post(client, alice, tag="tech")
    r = client.post(f"/posts/{original}/repost", headers=bob)
    assert r.status_code == 201, r.text
    repost = r.json()
    assert repost["author_id"] == bob_id and repost["repost_of"] == original
    assert repost["tag"] == "tech" and r.headers["Location"] == f"/posts/{repost['id']}"
    quote = client.post("/posts", json={"content": "so true", "quote_of": original}, headers=bob)
    assert quote.status_code == 201 and quote.json()["quote_of"] == original
    counts = client.get(f"/posts/{original}", headers=alice).json()
    assert (counts["reposts"], counts["quotes"]) == (1, 1)
    assert client.post("/posts/999/repost", headers=bob).status_code == 404
    client.delete(f"/posts/{original}", headers=alice)
    assert client.post(f"/posts/{original}/repost", headers=bob).status_code == 404
    gone = client.post("/posts", json={"content": "x", "quote_of": original}, headers=bob)
    assert gone.status_code == 404
    # only the reposter may delete the repost
    assert client.delete(f"/posts/{repost['id']}", headers=alice).status_code == 403
    assert client.delete(f"/posts/{repost['id']}", headers=bob).status_code == 204


def test_follow_rules_and_the_following_feed(client: TestClient) -> None:
    """Follow 201, again 409, oneself 422, nobody 404; unfollow 204 then 404; the following
    feed shows followed authors' live posts only, newest first."""
    alice_id, alice = sign_up(client, "alice")
    bob_id, bob = sign_up(client, "bob")
    carol_id, carol = sign_up(client, "carol")
    r = client.post(f"/users/{bob_id}/follow", headers=alice)
    assert r.status_code == 201 and r.json() == {
        "follower_id": alice_id,
        "followee_id": bob_id,
        "followers": 1,
    }
    assert client.post(f"/users/{bob_id}/follow", headers=alice).status_code == 409
    assert client.post(f"/users/{alice_id}/follow", headers=alice).status_code == 422
    assert client.post("/users/999/follow", headers=alice).status_code == 404
    assert client.post(f"/users/{bob_id}/follow").status_code == 401
    first = _post(client, bob, "one")
    _post(client, carol, "not followed")
    second = _post(client, bob, "two")
    feed = client.get("/feed/following", headers=alice).json()
    assert [p["id"] for p in feed["items"]] == [second, first]
    page = client.get("/feed/following", params={"limit": 1}, headers=alice).json()
    assert [p["id"] for p in page["items"]] == [second] and page["next_cursor"]
    rest = client.get(
        "/feed/following", params={"limit": 1, "cursor": page["next_cursor"]}, headers=alice
    ).json()
    assert [p["id"] for p in rest["items"]] == [first]
    assert client.delete(f"/users/{bob_id}/follow", headers=alice).status_code == 204
    assert client.delete(f"/users/{bob_id}/follow", headers=alice).status_code == 404
    assert client.delete(f"/users/{carol_id}/follow", headers=alice).status_code == 404
    assert client.get("/feed/following", headers=alice).json()["items"] == []


def test_posts_filter_by_tag(client: TestClient) -> None:
    """GET /posts?tag= lists only live posts with that tag."""
    _, alice = sign_up(client, "alice")
    tech = _post(client, alice, "a", tag="tech")
    _post(client, alice, "b", tag="food")
    _post(client, alice, "c")
    items = client.get("/posts", params={"tag": "tech"}, headers=alice).json()["items"]
    assert [p["id"] for p in items] == [tech]
    assert len(client.get("/posts", headers=alice).json()["items"]) == 3
