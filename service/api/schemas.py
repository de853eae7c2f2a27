"""Request and response bodies: pydantic at the HTTP edge, nothing deeper."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, IPvAnyAddress, ValidationInfo, field_validator

from service.domain.types import ArticleMode, Status

# Identifiers: printable, no control characters (they end up in logs, URLs and exports).
ID_PATTERN = r"^[^\x00-\x1f\x7f]+$"
# Free text: anything but U+0000, which PostgreSQL text and jsonb cannot hold. Refusing it here
# answers 422 naming the field, instead of a 500 from the database.
NO_NUL_PATTERN = r"^[^\x00]*$"

Id = Field(min_length=1, max_length=200, pattern=ID_PATTERN)


def OptionalId(**kwargs: Any) -> Any:  # noqa: N802 - reads like the Field it returns
    return Field(default=None, min_length=1, max_length=200, pattern=ID_PATTERN, **kwargs)


def OptionalText(max_length: int, **kwargs: Any) -> Any:  # noqa: N802
    return Field(default=None, max_length=max_length, pattern=NO_NUL_PATTERN, **kwargs)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class TextBody(Body):
    text: str = Field(min_length=1, description="The comment as the reader wrote it.")

    @field_validator("text")
    @classmethod
    def _text(cls, value: str, info: ValidationInfo) -> str:
        if not value.strip():
            raise ValueError("text must not be blank")
        if "\x00" in value:
            raise ValueError("text must not contain U+0000 (NUL)")
        limit = (info.context or {}).get("max_text_chars")
        if limit is not None and len(value) > limit:
            raise ValueError(f"text is longer than {limit} characters")
        return value


class CommentIn(TextBody):
    article_id: str = Id
    author_id: str = Id
    site_id: str | None = OptionalId()
    external_id: str | None = OptionalId(
        description="The website's own id for this comment: submitting it again returns the first result.",
    )
    parent_id: uuid.UUID | None = None
    author_ip: IPvAnyAddress | None = None
    user_agent: str | None = OptionalText(1000)


class ScoreIn(TextBody):
    pass


class ArticleIn(Body):
    mode: ArticleMode
    site_id: str | None = OptionalId()
    title: str | None = OptionalText(1000)
    url: str | None = OptionalText(2000)


class ClaimIn(Body):
    limit: int = Field(default=10, ge=1, le=1000)
    site_id: str | None = OptionalId()
    article_id: str | None = OptionalId()


class DecisionIn(Body):
    decision: Literal["approve", "reject"]
    reason: str | None = OptionalText(500)


class QueueQuery(Body):
    sort: Literal["oldest", "newest", "score"] = "oldest"
    site_id: str | None = OptionalId()
    article_id: str | None = OptionalId()
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = Field(default=None, max_length=500)


class StatsQuery(Body):
    site_id: str | None = OptionalId()
    article_id: str | None = OptionalId()


class ReasonOut(BaseModel):
    code: str
    message: str
    label: str | None = None
    score: float | None = None
    threshold: float | None = None


class SpanOut(BaseModel):
    start: int
    end: int
    label: str
    weight: float


class EventOut(BaseModel):
    at: dt.datetime
    actor_kind: str
    actor_name: str
    action: str
    from_status: Status | None
    to_status: Status | None
    reasons: list[ReasonOut]


class CommentOut(BaseModel):
    id: uuid.UUID
    site_id: str
    external_id: str | None
    article_id: str
    author_id: str
    parent_id: uuid.UUID | None
    status: Status
    scores: dict[str, float]
    reasons: list[ReasonOut]
    spans: list[SpanOut]
    model_version: str | None
    created_at: dt.datetime
    decided_at: dt.datetime | None


class CommentDetailOut(CommentOut):
    text: str
    history: list[EventOut]


class QueueItemOut(CommentOut):
    text: str
    max_score: float
    lease_expires_at: dt.datetime | None


class ClaimOut(BaseModel):
    items: list[QueueItemOut]


class QueuePageOut(BaseModel):
    items: list[QueueItemOut]
    next_cursor: str | None


class StatsOut(BaseModel):
    depth: int
    leased: int
    oldest_age_s: float


class ScoreOut(BaseModel):
    status: Status = Field(description="What the policy would decide on a post-moderated article.")
    scores: dict[str, float]
    reasons: list[ReasonOut]
    spans: list[SpanOut]
    model_version: str


class ArticleOut(BaseModel):
    site_id: str
    id: str
    mode: ArticleMode
    title: str | None
    url: str | None
    updated_at: dt.datetime


class HealthOut(BaseModel):
    status: Literal["ok"]


class ReadyOut(BaseModel):
    status: Literal["ready", "not_ready"]
    database: bool
    model_version: str | None


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, the one error body of the API."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    request_id: str | None = None
    errors: list[FieldError] | None = None
