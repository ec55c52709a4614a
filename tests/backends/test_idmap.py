"""The id map's bookkeeping: content versions bumped in order, a post possibly repeated."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from simcore_backends.idmap import IdMap


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
