"""Generated post text: deterministic, keyed by (seed, post, version), realistic lengths, <= 2000 chars."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from simcore.core.content import MAX_CHARS, post_text, post_texts


@given(seed=st.integers(0, 2**63), post=st.integers(0, 2**31 - 1), version=st.integers(1, 10_000))
def test_text_is_a_pure_function_of_its_coordinates(seed: int, post: int, version: int) -> None:
    """Same coordinates, same text; always non-empty, at most 2000 characters, a finished sentence."""
    text = post_text(seed, post, version)
    assert text == post_text(seed, post, version)
    assert 0 < len(text) <= MAX_CHARS
    assert text[-1] in ".!?" and text == text.strip()


def test_each_coordinate_changes_the_text() -> None:
    """Another post, version or seed writes something else."""
    base = post_text(1, 10, 1)
    assert base != post_text(1, 11, 1)
    assert base != post_text(1, 10, 2)
    assert base != post_text(2, 10, 1)


def test_lengths_look_like_social_posts() -> None:
    """Mostly a sentence or two, a long tail, a hard cap."""
    lengths = np.array([len(t) for t in post_texts(7, np.arange(4000), np.ones(4000, np.int64))])
    assert 70 < np.median(lengths) < 160
    assert np.percentile(lengths, 99) > 400
    assert lengths.max() <= MAX_CHARS
    assert len({post_text(7, p, 1) for p in range(500)}) == 500
