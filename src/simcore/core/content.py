"""Deterministic post text: what a simulated user writes, keyed by (seed, post id, version).

The mock backend needs no text; the HTTP-like backends send it as the body of
``create_post`` (version 1) and ``update_post`` (version 2, 3, … per edit). The
same coordinates always give the same text, whatever the order of calls, so two
runs of one scenario send byte-identical bodies.

Lengths follow a lognormal around :data:`MEDIAN_CHARS` (most posts are a
sentence or two, a few are long), capped at :data:`MAX_CHARS`, the reference
app's limit. Text is drawn from small word lists into sentences, with an
occasional hashtag or mention. Pure: no I/O, no clock, no global RNG.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from simcore.core import rng

MAX_CHARS = 2000
MEDIAN_CHARS = 110.0
SIGMA = 0.8
MIN_CHARS = 12

_S_LENGTH = rng.stream_id("content.length")
_S_WORDS = rng.stream_id("content.words")

_OPENERS = (
    "honestly",
    "today",
    "so",
    "just",
    "finally",
    "quick thought:",
    "hot take:",
    "reminder:",
    "update:",
    "ok",
    "well",
    "fun fact:",
)
_WORD_TEXT = (
    "the a my this that our every some new old best worst coffee morning city train garden "
    "book song movie game team weekend project idea dog cat friend neighbour market bread "
    "rain sun river park bike code bug release meeting lunch dinner recipe photo sky street "
    "window kitchen office library is was feels looks seems became stays got made found "
    "really quite so very almost never always still already again great strange quiet busy "
    "lovely tiny huge bright slow fast and but because while after before with without near "
    "under today tonight yesterday tomorrow lately somehow anyway together walking reading "
    "writing cooking running thinking waiting building"
)
_TAG_TEXT = (
    "#mondaymood #coffee #citylife #reading #gardening #devlife #weekend #music #photography "
    "#food #running #thoughts #community #news"
)
_WORDS = tuple(_WORD_TEXT.split())
_TAGS = tuple(_TAG_TEXT.split())
_ENDS = (".", ".", ".", "!", "?", "...")


_TWO_53 = float(2**53)


def _length(seed: int, post_id: int, version: int) -> int:
    key = rng.base_key(seed, _S_LENGTH, version, post_id)
    u1 = ((rng.mix64(key) >> 11) + 0.5) / _TWO_53
    u2 = (rng.mix64(key ^ 1) >> 11) / _TWO_53
    z = math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
    chars = MEDIAN_CHARS * math.exp(SIGMA * max(min(z, 6.0), -6.0))
    return int(min(max(chars, MIN_CHARS), MAX_CHARS))


def post_text(seed: int, post_id: int, version: int = 1) -> str:
    """The text of post ``post_id`` at ``version`` (1 = as created): at most 2000 characters."""
    target = _length(seed, post_id, version)
    key = rng.base_key(seed, _S_WORDS, version, post_id)
    slots = target // 2 + 4  # more word slots than the text can use
    parts: list[str] = []
    size = 0
    start_sentence = True
    words_in_sentence = 0
    for i in range(slots):
        h = rng.mix64(key ^ i)
        if start_sentence:
            word = _OPENERS[h % len(_OPENERS)] if (h >> 8) % 4 == 0 else _WORDS[h % len(_WORDS)]
            word = word[0].upper() + word[1:]
            start_sentence = False
        elif (h >> 12) % 41 == 0:
            word = _TAGS[(h >> 20) % len(_TAGS)]
        elif (h >> 12) % 97 == 1:
            word = f"@user{(h >> 24) % 10000}"
        else:
            word = _WORDS[h % len(_WORDS)]
        words_in_sentence += 1
        end_now = words_in_sentence >= 4 and (h >> 32) % 7 == 0
        if end_now or i == slots - 1:
            word += _ENDS[(h >> 40) % len(_ENDS)]
            start_sentence = True
            words_in_sentence = 0
        extra = len(word) + (1 if parts else 0)
        if size + extra > target and parts:
            break
        parts.append(word)
        size += extra
    text = " ".join(parts)
    if text[-1] not in ".!?":
        text = text[: MAX_CHARS - 1] + "."
    return text[:MAX_CHARS]


def post_texts(
    seed: int, post_ids: NDArray[np.integer[Any]], versions: NDArray[np.integer[Any]]
) -> list[str]:
    """:func:`post_text` for each (post id, version) pair."""
    return [post_text(seed, p, v) for p, v in zip(post_ids.tolist(), versions.tolist())]


#: The longest title :func:`post_title` makes, its post-id suffix included.
MAX_TITLE_CHARS = 60


def post_title(seed: int, post_id: int, version: int = 1) -> str:
    """A short title for post ``post_id`` at ``version``: the text's first words (without
    hashtags or mentions) and the post's id, so no two posts share one (``Quiet coffee
    morning #17``); at most :data:`MAX_TITLE_CHARS` characters."""
    suffix = f" #{post_id}"
    words = [w.strip(".!?,:") for w in post_text(seed, post_id, version).split() if w[0] not in "#@"]
    head = ""
    for word in filter(None, words):
        if len(head) + len(word) + 1 + len(suffix) > MAX_TITLE_CHARS or len(head.split()) >= 6:
            break
        head = f"{head} {word}" if head else word
    return (head or "Post") + suffix
