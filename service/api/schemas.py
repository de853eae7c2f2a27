"""Request and response bodies: pydantic at the HTTP edge, nothing deeper."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, IPvAnyAddress, ValidationInfo, field_validator

from service.domain.types import ArticleMode, Status

Id = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class TextBody(Body):
    text: str = Field(min_length=1, description="The comment as the reader wrote it.")

    @field_validator("text")
    @classmethod
    def _text(cls, value: str, info: ValidationInfo) -> str:
        if not value.strip():
            raise ValueError("text must not be blank")
        limit = (info.context or {}).get("max_text_chars")
        if limit is not None and len(value) > limit:
            raise ValueError(f"text is longer than {limit} characters")
        return value


class CommentIn(TextBody):
    article_id: str = Id
    author_id: str = Id
    site_id: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
    external_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The website's own id for this comment: submitting it again returns the first result.",
    )
    parent_id: uuid.UUID | None = None
    author_ip: IPvAnyAddress | None = None
    user_agent: str | None = Field(default=None, max_length=1000)


class ScoreIn(TextBody):
    pass


class ArticleIn(Body):
    mode: ArticleMode
    site_id: str | None = Field(default=None, min_length=1, max_length=200)
    title: str | None = Field(default=None, max_length=1000)
    url: str | None = Field(default=None, max_length=2000)


class ClaimIn(Body):
    limit: int = Field(default=10, ge=1, le=1000)
    site_id: str | None = Field(default=None, min_length=1, max_length=200)
    article_id: str | None = Field(default=None, min_length=1, max_length=200)


class DecisionIn(Body):
    decision: Literal["approve", "reject"]
    reason: str | None = Field(default=None, max_length=500)


class QueueQuery(Body):
    sort: Literal["oldest", "newest", "score"] = "oldest"
    site_id: str | None = Field(default=None, min_length=1, max_length=200)
    article_id: str | None = Field(default=None, min_length=1, max_length=200)
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = Field(default=None, max_length=500)


class StatsQuery(Body):
    site_id: str | None = Field(default=None, min_length=1, max_length=200)
    article_id: str | None = Field(default=None, min_length=1, max_length=200)


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


# -- model registry and training data (service/api/models.py) -------------------------------------


class ActivateIn(Body):
    reason: str | None = Field(default=None, max_length=500, description="Why; recorded as the state reason.")
    force: bool = Field(default=False, description="Activate even a version the gate rejected.")


class ShadowIn(Body):
    enabled: bool = Field(description="Score live traffic beside the active model (true) or stop (false).")


class TrainingDataQuery(Body):
    since: int = Field(default=0, ge=0, description="Resume after this cursor (the last example's cursor).")
    limit: int | None = Field(default=None, ge=1, le=1_000_000, description="At most this many examples.")


class ShadowComparisonOut(BaseModel):
    compared: int
    agreed: int
    agreement: float | None
    shadow_stricter: int = Field(description="Comments the shadow would have held or rejected more strictly.")
    shadow_laxer: int
    mean_max_score_delta: float | None


class DataSourceOut(BaseModel):
    name: str | None
    rows: int | None
    files: list[dict[str, str]]


class ModelOut(BaseModel):
    version: str
    state: Literal["candidate", "active", "retired", "rejected"]
    state_reason: str | None
    origin: str
    created_by: str | None
    created_at: dt.datetime
    activated_at: dt.datetime | None
    artifact_sha256: str | None
    artifact_bytes: int | None
    recipe: str | None
    data_sources: list[DataSourceOut]
    library_versions: dict[str, str]
    thresholds: dict[str, dict[str, float]]
    metrics: dict[str, object]
    evaluation: dict[str, object] = Field(description="The retraining gate's report (empty for uploads).")
    shadow: bool
    shadow_comparison: ShadowComparisonOut


class ModelListOut(BaseModel):
    items: list[ModelOut]
    serving: str | None = Field(description="The version this instance is serving right now.")


class TrainingExampleOut(BaseModel):
    """One line of GET /v1/training-data (JSON lines)."""

    cursor: str
    comment_id: uuid.UUID
    site_id: str
    article_id: str
    text: str
    outcome: Literal["approved", "rejected"]
    labels: dict[str, float | None]
    provenance: dict[str, object]
