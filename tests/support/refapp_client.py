"""Talking to the reference app through FastAPI's TestClient: sign up, post, auth headers.

Shared by the reference app's tests (tests/backends/test_refapp*.py).
"""

from __future__ import annotations

import warnings
from typing import Any

with warnings.catch_warnings():
    # Starlette warns that its TestClient will move from httpx to httpx2; not our concern.
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette\.testclient`")
    from fastapi.testclient import TestClient

__all__ = ["Headers", "TestClient", "make_post", "sign_up"]

#: The headers that authenticate one user: {"Authorization": "Bearer <token>"}.
Headers = dict[str, str]


def sign_up(client: TestClient, name: str = "alice", **extra: Any) -> tuple[int, Headers]:
    """Create a user called ``name`` (``extra`` goes to client.post); return its id and auth headers."""
    r = client.post("/users", json={"name": name, "external_id": None}, **extra)
    assert r.status_code == 201, r.text
    body = r.json()
    return body["id"], {"Authorization": f"Bearer {body['token']}"}


def make_post(client: TestClient, headers: Headers, content: str = "hello") -> dict[str, Any]:
    """Create a post as the user of ``headers``; return the post as the app answered it."""
    r = client.post("/posts", json={"content": content}, headers=headers)
    assert r.status_code == 201, r.text
    post: dict[str, Any] = r.json()
    return post
