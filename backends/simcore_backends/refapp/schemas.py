"""Pydantic models for the reference social app's requests and responses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

__all__ = [
    "MAX_CONTENT",
    "MAX_ID",
    "MAX_NAME",
    "ErrorOut",
    "FollowOut",
    "HealthOut",
    "PostIn",
    "PostOut",
    "PostPage",
    "RepostIn",
    "UserIn",
    "UserOut",
]

MAX_NAME = 64
MAX_CONTENT = 2000
#: Ids are SQLite integers: below 2**63 (larger ones are refused with a 422, never a 500).
MAX_ID = 2**63 - 1


def _utf8(text: str) -> str:
    """Refuse text that is not Unicode (lone UTF-16 surrogates from JSON ``\\ud800`` escapes)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (it holds a lone UTF-16 surrogate)") from None
    return text


Text = Annotated[str, AfterValidator(_utf8)]
Id = Annotated[int, Field(ge=-MAX_ID, le=MAX_ID)]


class UserIn(BaseModel):
    """Body of ``POST /users``."""

    name: Text = Field(min_length=1, max_length=MAX_NAME, description="Display name.")
    external_id: Id | None = Field(
        default=None, description="The caller's own id for this user (e.g. a simulator index)."
    )


class UserOut(BaseModel):
    """A signed-up user and the bearer token that authenticates them."""

    id: int
    name: str
    token: str = Field(description="Send as `Authorization: Bearer <token>`.")


class PostIn(BaseModel):
    """Body of ``POST /posts`` and ``PUT /posts/{id}``."""

    content: Text = Field(min_length=1, max_length=MAX_CONTENT)
    tag: Text | None = Field(default=None, max_length=MAX_NAME, description="A topic tag.")
    quote_of: Id | None = Field(
        default=None, description="Quote this post (404 if it is missing or deleted)."
    )


class RepostIn(BaseModel):
    """Optional body of ``POST /posts/{id}/repost``."""

    content: Text = Field(default="", max_length=MAX_CONTENT)


class FollowOut(BaseModel):
    """A follow edge and the followee's follower count after it."""

    follower_id: int
    followee_id: int
    followers: int


class PostOut(BaseModel):
    """A post as the API shows it."""

    id: int
    author_id: int
    content: str
    created_at: datetime
    updated_at: datetime | None = Field(description="Set by the last edit; null if never edited.")
    version: int = Field(description="1 on creation, +1 per edit.")
    views: int = Field(description="How many times `GET /posts/{id}` returned the post.")
    tag: str | None = None
    repost_of: int | None = Field(default=None, description="The reposted post, if a repost.")
    quote_of: int | None = Field(default=None, description="The quoted post, if a quote.")
    likes: int = 0
    reposts: int = 0
    quotes: int = 0


class PostPage(BaseModel):
    """One page of the feed, newest first."""

    items: list[PostOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class HealthOut(BaseModel):
    """Body of ``GET /health``."""

    status: str = "ok"


class ErrorOut(BaseModel):
    """An error answer (401, 403, 404, idempotency conflicts)."""

    detail: str
