"""Checks of a run against the Medium-like API (tests/support/medium_api.py): the server's own
database against the run's log and the backend's id map."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from simcore.core.content import post_text
from simcore.scenario.parse import loads_config
from simcore.scenario.schema import Config
from simcore_backends.idmap import IdMap
from tests.support import medium_api
from tests.support.runner import small

#: Kinds whose success brings an article into being.
CREATES = ("create_post", "repost", "quote_post")
#: Errors after which an action's fate on the server is unknown (sent, no answer came).
UNKNOWN_FATE = ("connection", "timeout")


def medium_config(users: int = 150, duration: str = "2h") -> Config:
    """The default crowd, mostly people who write (and comment), driving the Medium-like API."""
    return small(
        loads_config(medium_api.ROUTES),
        users=users,
        duration=duration,
        population__mix={"chatterbox": 0.5, "content_curator": 0.5},
    )


def ok(record: dict[str, Any]) -> bool:
    """Whether a log record is a success."""
    return record["error"] is None and 200 <= record["status"] < 300


def username(user: int, namespace: str) -> str:
    """The username the routes give core user ``user``."""
    return f"u{user}-{namespace}"


def assert_db_matches_log(
    db_path: Path, records: list[dict[str, Any]], ids: IdMap, namespace: str, seed: int
) -> None:
    """The server's database holds exactly what the log says succeeded, once each."""
    db = medium_api.read_db(db_path)
    suffix = f"-{namespace}"
    ours = {u for u in db["users"] if u.endswith(suffix)}
    sign_ups = [r for r in records if r["action"] == "sign_up"]
    # no user lost: every sign-up succeeded (logged in, if its first answer was lost), once
    assert all(ok(r) for r in sign_ups), Counter((r["status"], r["error"]) for r in sign_ups)
    assert ours == {username(r["user"], namespace) for r in sign_ups}
    assert len(ours) == len(sign_ups)
    assert all(ids.is_signed(r["user"]) for r in sign_ups)

    articles = [a for a in db["articles"] if a[2].endswith(suffix)]
    by_slug = {a[1]: a for a in articles}
    made = [r for r in records if r["action"] in CREATES and ok(r)]
    # a create whose every answer was lost (error connection) may or may not have been made
    unknown = [r for r in records if r["action"] in CREATES and r["error"] in UNKNOWN_FATE]
    # no duplicates, none missing: one article per successful create
    assert len(made) <= len(articles) <= len(made) + len(unknown), (len(articles), len(made))
    updates = Counter(r["post"] for r in records if r["action"] == "update_post" and ok(r))
    deleted = {r["post"] for r in records if r["action"] == "delete_post" and ok(r)}
    core_of: dict[int, int] = {}
    for r in made:
        post = r["post"]
        slug = ids.server_post(post)
        assert isinstance(slug, str) and slug in by_slug, (post, slug)  # the slug as it is now
        aid, _slug, author, gone, version, body, _quote, _repost = by_slug[slug]
        assert author == username(r["user"], namespace)
        assert bool(gone) == (post in deleted)
        assert version == 1 + updates[post]
        if r["action"] != "repost":
            assert body == post_text(seed, post, version)
        core_of[aid] = post
    assert len(core_of) == len(made)
    if len(articles) > len(made):  # the unknown ones that were made: nobody could act on them
        core_of.update({a[0]: -1 - a[0] for a in articles if a[0] not in core_of})

    likes = {(r["user"], r["post"]) for r in records if r["action"] == "like_post" and ok(r)}
    user_of = {username(r["user"], namespace): r["user"] for r in sign_ups}
    favorites = {(user_of[u], core_of[a]) for u, a in db["favorites"] if u in user_of}
    assert favorites == likes

    edges: set[tuple[int, int]] = set()
    for r in sorted(records, key=lambda r: r["seq"]):
        if r["action"] == "follow_user" and ok(r):
            edges.add((r["user"], r["ref"]))
        elif r["action"] == "unfollow_user" and ok(r):
            edges.discard((r["user"], r["ref"]))
    follows = {(user_of[a], user_of[b]) for a, b in db["follows"] if a in user_of}
    assert follows == edges

    # comments (a kind of the API's own): one per successful comment, on the article commented
    said = Counter((r["user"], r["ref"]) for r in records if r["action"] == "comment" and ok(r))
    stored = Counter((user_of[u], core_of[a]) for a, u, _body in db["comments"] if u in user_of)
    assert stored == said
