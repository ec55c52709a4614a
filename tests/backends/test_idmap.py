"""The id map's bookkeeping: content versions bumped in order, a post possibly repeated."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from simcore_backends.idmap import IdMap, combine_states


@given(st.lists(st.lists(st.integers(0, 20), max_size=30), max_size=4))
def test_next_versions_count_each_post_in_order(batches: list[list[int]]) -> None:
    """Each occurrence gets 1 + the post's versions before it, across batches too."""
    ids, seen = IdMap(), {}
    for batch in batches:
        expected = []
        for post in batch:
            seen[post] = seen.get(post, 0) + 1
            expected.append(seen[post])
        assert ids.next_versions(np.array(batch, dtype=np.int64)).tolist() == expected


_server_id = st.one_of(st.integers(0, 2**40), st.text("abc-xyz0123", min_size=1, max_size=12))


@given(
    st.dictionaries(st.integers(0, 3000), _server_id, max_size=20),
    st.dictionaries(
        st.integers(0, 3000),
        st.tuples(st.one_of(st.none(), _server_id), st.one_of(st.none(), st.text(max_size=20))),
        max_size=20,
    ),
)
def test_the_state_arrays_round_trip(
    posts: dict[int, int | str], users: dict[int, tuple[int | str | None, str | None]]
) -> None:
    """What a snapshot keeps loads back to the same map: ids (numbers and slugs), tokens
    (none, empty or not), versions; and the arrays are plain (no object dtype)."""
    ids = IdMap()
    for core, sid in posts.items():
        ids.set_post(core, sid)
    for core, (sid, token) in users.items():
        ids.set_user(core, sid, token)
    ids.next_versions(np.array(list(posts), dtype=np.int64))
    arrays = ids.state_arrays()
    assert all(a.dtype != object for a in arrays.values())
    back = IdMap()
    back.load_state({k: np.array(v) for k, v in arrays.items()})
    for core in range(3001):
        assert back.server_post(core) == ids.server_post(core)
        assert back.is_signed(core) == ids.is_signed(core)
        assert back.server_user(core) == ids.server_user(core)
        assert back.token(core) == ids.token(core)
    assert np.array_equal(back.versions, ids.versions)


def test_tokens_and_ids_keep_every_character() -> None:
    """A NUL at the end of a token or server id (numpy's unicode arrays drop it) survives."""
    from simcore_backends.idmap import IdMap

    ids = IdMap()
    ids.set_user(0, "u\x00", "tok\x00")
    ids.set_user(2, 7, None)
    ids.set_post(1, "slug-é\x00")
    again = IdMap()
    again.load_state(ids.state_arrays())
    assert again.token(0) == "tok\x00" and again.token(2) is None
    assert again.server_user(0) == "u\x00" and again.server_post(1) == "slug-é\x00"


@given(
    st.dictionaries(st.integers(0, 400), _server_id, max_size=20),
    st.dictionaries(st.integers(0, 400), st.tuples(_server_id, st.text(max_size=8)), max_size=20),
    st.integers(1, 3),
)
def test_combined_maps_are_the_map_one_instance_keeps(
    posts: dict[int, int | str], users: dict[int, tuple[int | str, str]], shards: int
) -> None:
    """Instances that each signed up their own users (id % shards) and created their own
    users' posts, having learned the others' ids, combine into the one instance's map:
    every token from its own instance, every server id, the highest content version."""
    one = IdMap()
    parts = [IdMap() for _ in range(shards)]
    for core, (server, token) in users.items():
        one.set_user(core, server, token)
        parts[core % shards].set_user(core, server, token)
    for core, server in posts.items():
        one.set_post(core, server)
        parts[core % shards].set_post(core, server)
    edits = np.array(sorted(posts), np.int64)
    one.next_versions(edits)
    for k, part in enumerate(parts):
        part.next_versions(edits[edits % shards == k])
        others = {
            "posts": [(c, s) for c, s in posts.items() if c % shards != k],
            "users": [(c, s) for c, (s, _) in users.items() if c % shards != k],
        }
        part.learn(others)
    combined = IdMap()
    combined.load_state(combine_states([part.state_arrays() for part in parts]))
    for core in set(posts) | set(users) | {401}:
        assert combined.server_post(core) == one.server_post(core)
        assert combined.server_user(core) == one.server_user(core)
        assert combined.is_signed(core) == one.is_signed(core)
        assert combined.token(core) == one.token(core)
    n = len(one.versions)
    assert combined.versions[:n].tolist() == one.versions.tolist()
    assert not combined.versions[n:].any()
