"""``simcore serve --slow``: a fixed extra latency on one route of the reference app."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from simcore.ui.cli import main
from simcore_backends.refapp import create_app
from simcore_backends.refapp.slow import SlowRoute, parse_slow, slow_down

pytest.importorskip("fastapi")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("GET /posts/{id}=20ms", SlowRoute("GET", "/posts/{id}", 0.02)),
        ("  post /posts = 0.5s ", SlowRoute("POST", "/posts", 0.5)),
        ("DELETE /users/{user_id}/follow=1.5ms", SlowRoute("DELETE", "/users/{user_id}/follow", 0.0015)),
    ],
)
def test_parse_slow(spec: str, expected: SlowRoute) -> None:
    assert parse_slow(spec) == expected


@pytest.mark.parametrize(
    "spec", ["GET /posts", "/posts=2ms", "GET /posts=2", "GET /posts=fast", "GET posts=2ms"]
)
def test_parse_slow_refuses_malformed_specs(spec: str) -> None:
    with pytest.raises(ValueError, match="expected 'METHOD /path/template=DELAY'"):
        parse_slow(spec)


def _timed(client: object, method: str, path: str, **kw: object) -> tuple[int, float]:
    start = time.perf_counter()
    response = getattr(client, method)(path, **kw)
    return response.status_code, (time.perf_counter() - start) * 1000


def test_only_the_slowed_route_waits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """GET /posts/{id} (named with a placeholder other than the app's {post_id}) waits 150 ms
    more; GET /posts, PUT /posts/{id} and POST /posts/{id}/like do not wait at all (the sleeps
    the middleware asks for are recorded, so no timing decides this)."""

    from fastapi.testclient import TestClient

    from simcore_backends.refapp import slow

    waits: list[tuple[str, str, float]] = []
    real_wait = slow.wait_precisely

    async def recording(seconds: float) -> None:
        waits.append((current["method"], current["path"], seconds))
        await real_wait(seconds)

    current: dict[str, str] = {}
    monkeypatch.setattr(slow, "wait_precisely", recording)
    app = create_app(tmp_path / "app.db")
    slow_down(app, [parse_slow("GET /posts/{id}=150ms")])
    with TestClient(app) as client:
        user = client.post("/users", json={"name": "a", "external_id": 1}).json()
        auth = {"Authorization": f"Bearer {user['token']}"}
        post = client.post("/posts", json={"content": "x"}, headers=auth).json()["id"]
        current.update(method="GET", path=f"/posts/{post}")
        status, took = _timed(client, "get", f"/posts/{post}", headers=auth)
        assert status == 200 and took >= 150
        for method, path, kw in (
            ("get", "/posts", {}),
            ("put", f"/posts/{post}", {"json": {"content": "y"}}),
            ("post", f"/posts/{post}/like", {}),
        ):
            current.update(method=method.upper(), path=path)
            status, _ = _timed(client, method, path, headers=auth, **kw)
            assert status < 400
    assert waits == [("GET", f"/posts/{post}", 0.15)]


def test_an_unknown_route_is_refused_naming_the_apps_routes(tmp_path: Path) -> None:
    app = create_app(tmp_path / "app.db")
    with pytest.raises(
        ValueError, match=r"no route GET /nope in the app; its routes: .*GET /posts/\{post_id\}"
    ):
        slow_down(app, [parse_slow("GET /nope=2ms")])
    with pytest.raises(ValueError, match=r"no route PATCH /posts/\{id\}"):
        slow_down(app, [parse_slow("PATCH /posts/{id}=2ms")])


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ("GET /posts/{id}=soon", "expected 'METHOD /path/template=DELAY'"),
        ("GET /nope=2ms", "no route GET /nope"),
    ],
)
def test_serve_refuses_a_bad_slow_spec_with_exit_2(tmp_path: Path, spec: str, said: str) -> None:
    result = CliRunner().invoke(
        main, ["serve", "--db", str(tmp_path / "x.db"), "--port", "0", "--slow", spec]
    )
    assert result.exit_code == 2 and "--slow: " in result.output and said in result.output


def test_a_precise_wait_lasts_its_time_and_lets_others_run() -> None:
    """A wait of a fraction of a millisecond lasts at least that long (the event loop's timers
    alone would make it a whole one or none), and waits overlap: the event loop is not held."""
    import asyncio
    import time

    from simcore_backends.refapp.slow import wait_precisely

    async def main() -> tuple[list[float], int]:
        took = []
        for seconds in (0.0003, 0.0017, 0.0042):
            began = time.perf_counter()
            await wait_precisely(seconds)
            took.append(time.perf_counter() - began - seconds)
        ticks = 0

        async def count() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        counter = asyncio.ensure_future(count())
        await asyncio.gather(*(wait_precisely(0.003) for _ in range(8)))
        counter.cancel()
        return took, ticks

    took, ticks = asyncio.run(main())
    assert all(extra >= 0 for extra in took), took
    assert ticks > 8  # the loop went on running other work during the waits
