"""Kinds of the config's own (``[kinds.NAME] behaves_as``): comments, bookmarks and stories
join the crowd's weights, routes, logs and metrics, target as their built-in kind does,
and change no world state unless their table says they create a post."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from simcore.errors import ConfigError
from simcore.logs.read import read_rows
from simcore.scenario.parse import loads_config
from simcore.scenario.schema import Config
from simcore.ui.cli import main
from simcore_backends.http import HttpBackend
from simcore_backends.mock import MockBackend
from simcore_backends.testclient import TestClientBackend
from tests.support import kinds_api
from tests.support.liveserver import uvicorn_server
from tests.support.runner import run, small, without_outcomes

CROWD = """
[profiles.chatterbox.weights.relaxing]
comment = 3
bookmark = 2
story = 1
[profiles.lurker.weights.relaxing]
comment = 1
bookmark = 2
"""


@pytest.fixture
def config() -> Config:
    base = loads_config(kinds_api.ROUTES + CROWD)
    return small(base, users=150, duration="1h", population__mix={"lurker": 0.5, "chatterbox": 0.5})


def _counts(records: list[dict[str, Any]]) -> Counter[str]:
    return Counter(r["action"] for r in records)


def test_custom_kinds_join_the_stream_and_change_no_world_state(config: Config) -> None:
    """On the mock: every custom kind is done; comments and bookmarks target existing posts and
    make none; stories are posts (new ids, read later); the world holds only real posts."""
    sim, records = run(config, MockBackend())
    counts = _counts(records)
    assert counts["comment"] > 20 and counts["bookmark"] > 20 and counts["story"] > 5
    assert not {"repost", "quote_post", "follow_user", "update_post"} & set(counts)  # lacked
    comments = [r for r in records if r["action"] == "comment"]
    assert all(
        r["post"] is None and r["ref"] is not None and r["path"] == f"/comment/{r['ref']}"
        for r in comments
    )
    bookmarks = [r for r in records if r["action"] == "bookmark"]
    assert all(r["post"] is not None and r["ref"] is None for r in bookmarks)
    stories = {r["post"] for r in records if r["action"] == "story"}
    created = {r["post"] for r in records if r["action"] == "create_post"}
    assert None not in stories and not stories & created
    assert sim.world.n == len(stories) + len(created)  # comments and bookmarks made no post
    read = {r["post"] for r in records if r["action"] in ("read_post", "comment", "bookmark")}
    assert read & stories  # stories are read like posts
    assert all(r["status"] in (200, 201) for r in comments + bookmarks)


@pytest.mark.parametrize(
    "name",
    [pytest.param("testclient", marks=pytest.mark.slow), pytest.param("http", marks=pytest.mark.server)],
)
def test_custom_kinds_reach_their_endpoints(name: str, config: Config) -> None:
    """Over testclient and http: the mock's stream, every request answered, each comment on the
    server's copy of the post the log names, stories created with their own ids."""
    _, expected = run(config, MockBackend())
    kinds_api.reset()
    if name == "http":
        with uvicorn_server(kinds_api.app) as url:
            backend: Any = HttpBackend(target=url)
            _, records = run(config, backend)
    else:
        backend = TestClientBackend(app="tests.support.kinds_api:app")
        _, records = run(config, backend)
    assert without_outcomes(records) == without_outcomes(expected)
    assert all(r["error"] is None and 200 <= r["status"] < 300 for r in records), [
        r for r in records if r["error"] or r["status"] >= 300
    ][:3]
    ids = backend.rest.ids
    comments = [r for r in records if r["action"] == "comment"]
    on_server = Counter(c["post"] for c in kinds_api.comments())
    assert sum(on_server.values()) == len(comments)
    assert on_server == Counter(str(ids.server_post(r["ref"])) for r in comments)
    assert all(r["sent_path"] == f"/posts/{ids.server_post(r['ref'])}/comments" for r in comments)
    assert {c["on"] for c in kinds_api.comments()} == {
        r["ref"] for r in comments
    }  # {post}: simcore's id
    stories = [r for r in records if r["action"] == "story"]
    server_stories = {pid for pid, p in kinds_api.posts().items() if p["kind"] == "story"}
    assert {ids.server_post(r["post"]) for r in stories} == server_stories
    titles = [p["title"] for p in kinds_api.posts().values()]
    assert len(set(titles)) == len(titles) and max(map(len, titles)) <= 60  # {title}: short, unique
    assert {p["tag"] for p in kinds_api.posts().values() if p["kind"] == "post"} <= set(
        config.tags.names
    )
    bookmarks = [r for r in records if r["action"] == "bookmark"]
    assert all(r["method"] == "PUT" and r["sent_path"].startswith("/me/bookmarks/") for r in bookmarks)


def test_custom_kinds_in_logs_metrics_and_report(tmp_path: Path) -> None:
    """Through the CLI on the mock: every log format names the kinds alike; endpoints.csv,
    the summary and the report list them."""
    profile = tmp_path / "kinds.toml"
    profile.write_text(kinds_api.ROUTES + CROWD + "[population]\ninitial_users = 100\n")
    out = tmp_path / "run"
    args = ["run", str(profile), "--duration", "3h", "--out", str(out), "--quiet", "--no-control"]
    result = CliRunner().invoke(main, [*args, "--log", "jsonl,sqlite,parquet"])
    assert result.exit_code == 0, result.output
    rows = {fmt: read_rows(out / f"actions.{fmt}") for fmt in ("jsonl", "sqlite", "parquet")}
    assert rows["sqlite"] == rows["jsonl"] and rows["parquet"] == rows["jsonl"]
    assert {"comment", "bookmark", "story"} <= {r["action"] for r in rows["jsonl"]}
    with open(out / "endpoints.csv", newline="") as f:
        endpoints = {r["endpoint"]: r for r in csv.DictReader(f)}
    assert int(endpoints["comment"]["count"]) == sum(r["action"] == "comment" for r in rows["jsonl"])
    assert (endpoints["story"]["method"], endpoints["story"]["path"]) == (
        "POST",
        "/story",
    )  # the mock's reference
    summary = json.loads((out / "summary.json").read_text())
    assert summary["actions_by_kind"]["bookmark"] > 0
    assert "bookmark" in (out / "report.html").read_text()


@pytest.mark.parametrize(
    ("toml", "where", "fragment"),
    [
        ('[kinds.comment]\nbehaves_as = "reply"\n', "kinds.comment.behaves_as", "expected one of"),
        ('[kinds.like_post]\nbehaves_as = "read_post"\n', "kinds.like_post", "built-in kind"),
        ('[kinds.Comment]\nbehaves_as = "read_post"\n', "kinds.Comment", "lowercase name"),
        (
            '[kinds.bm]\nbehaves_as = "like_post"\ncreates = "post"\n',
            "kinds.bm.creates",
            "cannot create a post",
        ),
        (
            '[kinds.bm]\nbehaves_as = "like_post"\ncreates = "user"\n',
            "kinds.bm.creates",
            'expected "post"',
        ),
        ('[kinds.comment]\nbehaves_as = "quote_post"\n', "kinds.comment", "no route"),
        (
            "[profiles.lurker.weights.relaxing]\ncomment = 1\n",
            "profiles.lurker.weights.relaxing.comment",
            "unknown action",
        ),
        (
            '[kinds.c]\nbehaves_as = "read_post"\n[backend.routes.c]\npath = "/c/{target_id}"\n',
            "backend.routes.c.path",
            "{target_id} is not available to c",
        ),
        ('[backend]\nlacks = ["liking"]\n', "backend.lacks[0]", "expected one of"),
    ],
)
def test_bad_custom_kinds_are_config_errors(toml: str, where: str, fragment: str) -> None:
    """Each mistake names its TOML key path and the fix."""
    with pytest.raises(ConfigError) as info:
        loads_config(toml)
    messages = [message for key, message in info.value.problems if key == where]
    assert any(fragment in m for m in messages), info.value.problems
