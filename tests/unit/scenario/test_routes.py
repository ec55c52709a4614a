"""Routes as configuration: validation with key paths, and rendering (a custom API driven end to end:
tests/backends/test_custom_routes.py)."""

from __future__ import annotations

from typing import Any

import pytest

from simcore.errors import ConfigError
from simcore.scenario.backend_schema import reference_routes
from simcore.scenario.parse import dump_config, loads_config
from simcore.scenario.routes import compile_route, compile_routes


def problems(text: str) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        loads_config(text)
    return info.value.problems


def test_default_routes_are_the_reference_api() -> None:
    """No [backend.routes] means the reference app's API, and it round-trips through TOML."""
    cfg = loads_config("")
    assert cfg.backend.routes == reference_routes()
    assert loads_config(dump_config(cfg)) == cfg


def test_a_route_inherits_what_it_does_not_say() -> None:
    """A partial route keeps the reference route's other keys; other kinds keep theirs."""
    others = "".join(f'{kind} = {{ path = "{r.path}" }}\n' for kind, r in reference_routes().items())
    others = others.replace('create_post = { path = "/posts" }\n', "")
    cfg = loads_config('[backend.routes]\ncreate_post = { path = "/api/v2/statuses" }\n' + others)
    route = cfg.backend.routes["create_post"]
    assert (route.method, route.path, route.body, route.id) == (
        "POST",
        "/api/v2/statuses",
        {"content": "{content}"},
        "id",
    )
    assert cfg.backend.routes["read_post"] == reference_routes()["read_post"]
    assert loads_config(dump_config(cfg)) == cfg


def test_routes_of_your_own_leave_no_kind_on_the_reference_paths() -> None:
    """Giving a built-in kind a route of your own makes every kind the crowd does need one."""
    with pytest.raises(ConfigError) as info:
        loads_config('[backend.routes]\ncreate_post = { path = "/api/v2/statuses" }\n')
    ((where, message),) = info.value.problems
    assert where == "backend.routes"
    assert "read_post" in message and "like_post" in message and "create_post" not in message
    assert "sign_up" not in message  # not a choice: sign-ups are the arrivals
    # a route for a kind of your own alone keeps the reference routes for the others
    cfg = loads_config(
        '[kinds.comment]\nbehaves_as = "read_post"\n'
        '[backend.routes.comment]\nmethod = "POST"\npath = "/posts/{id}/comments"\n'
    )
    assert cfg.kind_set.names[-1] == "comment"


@pytest.mark.parametrize(
    ("toml", "path", "fragment"),
    [
        ('creat_post = { path = "/x" }', "backend.routes.creat_post", "did you mean 'create_post'"),
        ('read_post = { method = "FETCH" }', "backend.routes.read_post.method", "expected one of GET"),
        ('read_post = { path = "posts/{id}" }', "backend.routes.read_post.path", "starting with '/'"),
        ('read_post = { path = "/posts/{id" }', "backend.routes.read_post.path", "malformed template"),
        ('read_post = { path = "/p/{pid}" }', "backend.routes.read_post.path", "{pid} is not available"),
        (
            'browse_feed = { path = "/p/{id}" }',
            "backend.routes.browse_feed.path",
            "{id} is not available",
        ),
        (
            'sign_up = { path = "/u/{user_id}" }',
            "backend.routes.sign_up.path",
            "{user_id} is not available",
        ),
        (
            'create_post = { path = "/p/{content}" }',
            "backend.routes.create_post.path",
            "belongs in the body",
        ),
        (
            'update_post = { body = { text = "{conten}" } }',
            "backend.routes.update_post.body.text",
            "{conten} is not available",
        ),
        ('read_post = { path = "/p/{id!r}" }', "backend.routes.read_post.path", "format spec"),
        ('create_post = { id = "data..id" }', "backend.routes.create_post.id", "JSON field"),
        ('read_post = { verb = "GET" }', "backend.routes.read_post.verb", "unknown key"),
    ],
)
def test_bad_routes_are_reported_with_their_key_path(toml: str, path: str, fragment: str) -> None:
    """Each mistake names its TOML key path and what would be right."""
    found = problems(f"[backend.routes]\n{toml}\n")
    assert any(p == path and fragment in m for p, m in found), found


@pytest.mark.parametrize(
    ("toml", "path"),
    [
        ('target = "ftp://example.org"', "backend.target"),
        ('target = "http://"', "backend.target"),
        ('target = "http://127.0.0.1:99999"', "backend.target"),
        ('app = "no_colon"', "backend.app"),
        ("concurrency = 0", "backend.concurrency"),
        ("timeout = 0", "backend.timeout"),
        ("retries = -1", "backend.retries"),
        ("backoff_ms = 100.0\nbackoff_max_ms = 10.0", "backend.backoff_max_ms"),
        ('auth_format = "Bearer"', "backend.auth_format"),
        ('auth_header = "Bad Header"', "backend.auth_header"),
    ],
)
def test_bad_backend_settings(toml: str, path: str) -> None:
    """[backend] values are range- and shape-checked."""
    assert path in [p for p, _ in problems(f"[backend]\n{toml}\n")]


@pytest.mark.parametrize(
    ("toml", "path"),
    [
        ("error_rate = 1.5", "faults.error_rate"),
        ("timeout_rate = -0.1", "faults.timeout_rate"),
        ("error_rate = 0.6\ntimeout_rate = 0.6", "faults.timeout_rate"),
        ("error_status = 200", "faults.error_status"),
        ("latency_sigma = -1.0", "faults.latency_sigma"),
        ("eror_rate = 0.1", "faults.eror_rate"),
    ],
)
def test_bad_faults(toml: str, path: str) -> None:
    """[faults] rates are probabilities that add up to at most 1."""
    assert path in [p for p, _ in problems(f"[faults]\n{toml}\n")]


def test_rendering_keeps_types_and_encodes_paths() -> None:
    """A lone placeholder keeps its JSON type; text is formatted; path values are percent-encoded."""
    others = "".join(
        f'{k} = {{ path = "{r.path}" }}\n' for k, r in reference_routes().items() if k != "update_post"
    )
    cfg = loads_config(
        "[backend.routes]\n"
        'update_post = { path = "/u/{name}/p/{id}?x=1", '
        'body = { n = "{user}", text = "by {name}: {content}", tags = ["{id}", 3], lit = "{{x}}" } }\n'
        + others
    )
    route = compile_route("update_post", cfg.backend.routes["update_post"])
    values: dict[str, Any] = {"user": 7, "name": "a b/c", "id": 12, "content": "hi", "user_id": 1}
    assert route.path(values) == "/u/a%20b%2Fc/p/12?x=1"
    assert route.body(values) == {"n": 7, "text": "by a b/c: hi", "tags": [12, 3], "lit": "{x}"}
    assert route.needs == {"user", "name", "id", "content"}
    plain = compile_routes(reference_routes())
    assert plain["browse_feed"].body(values) is None
    assert plain["read_post"].path({"id": 5}) == "/posts/5"
