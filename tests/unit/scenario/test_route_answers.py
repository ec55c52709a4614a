"""The routes' answer keys in configs: ``log_in``, ``exists``, ``ok``, ``id``, ``{run}``, and the
``[limits]`` table — what loads, and what is a config error naming its key path."""

from __future__ import annotations

import pytest

from simcore.errors import ConfigError
from simcore.scenario.parse import dump_config, loads_config
from simcore.scenario.routes import compile_routes

LOG_IN = (
    'log_in = { method = "POST", path = "/login", body = { name = "{name}-{run}" }, token = "token" }\n'
)


def _api(routes: str, head: str = "", *routed: str) -> str:
    """A config for another API: ``routes`` (and a feed route), every other kind in
    ``backend.lacks`` (a routes table for another API must route or disclaim each kind)."""
    kept = ("sign_up", "browse_feed", *routed)  # browse_feed: what sessions open with
    kinds = [k for k in loads_config("").backend.routes if k not in kept]
    lacks = "lacks = [" + ", ".join(f'"{k}"' for k in kinds) + "]\n"
    return f'[backend]\n{head}{lacks}[backend.routes]\nbrowse_feed = {{ path = "/feed" }}\n{routes}'


def _problems(text: str) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        loads_config(text)
    return info.value.problems


def test_the_new_keys_load_and_round_trip() -> None:
    routes = (
        'sign_up = { path = "/users", body = { name = "{name}-{run}" }, exists = [409, 422] }\n'
        + LOG_IN
        + 'like_post = { path = "/posts/{id}/like", ok = [409] }\n'
        'update_post = { method = "PATCH", path = "/posts/{id}", id = "data.slug" }\n'
    )
    limits = "[limits]\nfailure_share = 0.8\nunreachable_seconds = 0\n"
    text = _api(routes, 'namespace = "nightly-1"\n', "like_post", "update_post") + limits
    cfg = loads_config(text)
    routes = cfg.backend.routes
    assert routes["sign_up"].exists == (409, 422) and routes["like_post"].ok == (409,)
    assert cfg.backend.namespace == "nightly-1" and cfg.limits.failure_share == 0.8
    compiled = compile_routes(routes)
    assert compiled["log_in"].body({"name": "ann", "run": "nightly-1"}) == {"name": "ann-nightly-1"}
    assert loads_config(dump_config(cfg)) == cfg


@pytest.mark.parametrize(
    ("toml", "path", "fragment"),
    [
        (
            '[backend.routes]\nsign_up = { path = "/users", exists = [422] }\n',
            "backend.routes.sign_up.exists",
            "no backend.routes.log_in",
        ),
        (
            '[backend.routes]\nlike_post = { path = "/p/{id}/like", exists = [409] }\n' + LOG_IN,
            "backend.routes.like_post.exists",
            "only the sign_up route",
        ),
        (
            '[backend.routes]\ndelete_post = { method = "DELETE", path = "/p/{id}", id = "slug" }\n',
            "backend.routes.delete_post.id",
            "a DELETE answers with no post",
        ),
        (
            '[backend.routes]\nbrowse_feed = { path = "/feed", id = "id" }\n',
            "backend.routes.browse_feed.id",
            "browse_feed answers with no post",
        ),
        (
            '[backend.routes]\nfollow_user = { path = "/u/{target_id}/follow", id = "id" }\n',
            "backend.routes.follow_user.id",
            "no post of simcore's",
        ),
        (
            '[backend.routes]\nread_post = { path = "/p/{id}", token = "token" }\n',
            "backend.routes.read_post.token",
            "only sign_up and log_in",
        ),
        (
            '[backend.routes]\nlike_post = { path = "/p/{id}/like", ok = [1000] }\n',
            "backend.routes.like_post.ok",
            "HTTP statuses",
        ),
        (
            '[backend.routes]\nlog_in = { path = "/login/{id}" }\n',
            "backend.routes.log_in.path",
            "{id} is not available to log_in",
        ),
        ('[backend]\nnamespace = "has space"\n', "backend.namespace", "letters, digits"),
        ("[limits]\nfailure_share = 0\n", "limits.failure_share", "> 0"),
        ("[limits]\nwindow = 0\n", "limits.window", ">= 1"),
        ("[limits]\nunreachable_seconds = -1\n", "limits.unreachable_seconds", ">= 0"),
    ],
)
def test_meaningless_answer_keys_are_config_errors(toml: str, path: str, fragment: str) -> None:
    found = _problems(toml)
    assert any(p == path and fragment in m for p, m in found), found


def test_id_is_allowed_where_an_answer_carries_the_post() -> None:
    """Creates, sign-up, log-in and the routes answering with the post they acted on."""
    routes = (
        'read_post = { path = "/p/{id}", id = "post.slug" }\n'
        'update_post = { method = "PUT", path = "/p/{id}", id = "post.slug" }\n'
        'like_post = { method = "POST", path = "/p/{id}/like", id = "post.slug" }\n'
        'log_in = { method = "POST", path = "/login", id = "user.id", token = "user.token" }\n'
    )
    cfg = loads_config(_api(routes, "", "read_post", "update_post", "like_post"))
    assert cfg.backend.routes["update_post"].id == "post.slug"


def test_run_is_a_placeholder_of_every_route() -> None:
    kinds = loads_config("").backend.routes
    text = "[backend.routes]\n" + "".join(
        f'{kind} = {{ path = "/{kind}/{{run}}" }}\n' for kind in kinds if kind != "sign_up"
    )
    loads_config(text)  # no problem
