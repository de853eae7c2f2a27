"""Request and response bodies: pydantic at the HTTP edge, nothing deeper."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, IPvAnyAddress, ValidationInfo, field_validator, model_validator

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
    sort: Literal["oldest", "newest", "score"] = Field(
        default="oldest", description="Which comments to lease first; score: most likely to be rejected."
    )
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


SiteId = Field(default=None, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
# Enough for a generous batch on a page; bounded so one request cannot lock the table.
MAX_LEASE_IDS = 500
MAX_BULK_IDS = 1000


class LeaseIdsIn(Body):
    ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_LEASE_IDS)


class BulkFilter(Body):
    site_id: str | None = SiteId
    article_id: str | None = SiteId
    created_before: dt.datetime | None = Field(
        default=None, description="Only comments created at or before this time (pass a preview's as_of)."
    )


class BulkIn(Body):
    """Exactly one of ``ids`` (comments chosen one by one) or ``filter`` (all pending matching it)."""

    ids: list[uuid.UUID] | None = Field(default=None, min_length=1, max_length=MAX_BULK_IDS)
    filter: BulkFilter | None = None
    decision: Literal["approve", "reject"]
    reason: str | None = Field(default=None, max_length=500)
    dry_run: bool = Field(default=False, description="Only count what would be decided.")

    @model_validator(mode="after")
    def _one_selection(self) -> BulkIn:
        if (self.ids is None) == (self.filter is None):
            raise ValueError("send exactly one of ids or filter")
        return self


class DashboardQuery(Body):
    site_id: str | None = SiteId
    hours: int = Field(default=48, ge=1, le=24 * 90, description="Queue chart span.")
    days: int = Field(default=14, ge=1, le=366, description="Span of the decision and overturn tables.")


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


class WhoAmIOut(BaseModel):
    name: str
    role: str
    site_id: str | None
    lease_s: int = Field(description="How long a claim holds; extend before it runs out.")
    claim_max: int
    undo_window_s: int
    bulk_max: int
    reject_reasons: list[str]


class LeaseOut(BaseModel):
    id: uuid.UUID
    lease_expires_at: dt.datetime


class ExtendOut(BaseModel):
    extended: list[LeaseOut] = Field(description="The comments still held; any other id is no longer yours.")


class ReleaseOut(BaseModel):
    released: list[uuid.UUID]


class BulkOut(BaseModel):
    dry_run: bool
    decision: Literal["approve", "reject"]
    matched: int = Field(description="Pending comments the selection covered (held by you or by no one).")
    decided: int
    skipped: int = Field(description="Matched but not decided: being decided concurrently, or past bulk_max.")
    ids: list[uuid.UUID] = Field(description="The decided comments (only for a selection by ids).")
    as_of: dt.datetime = Field(description="Database time of the count: send as filter.created_before.")


class ContextArticleOut(BaseModel):
    id: str
    title: str | None
    url: str | None
    mode: str | None


class ContextParentOut(BaseModel):
    id: uuid.UUID
    author_id: str
    status: Status
    text: str
    created_at: dt.datetime


class ContextAuthorCommentOut(BaseModel):
    id: uuid.UUID
    article_id: str
    status: Status
    text: str
    created_at: dt.datetime


class ContextAuthorOut(BaseModel):
    id: str
    standing: str
    suspended_until: dt.datetime | None
    approved_count: int
    rejected_count: int
    approval_rate: float | None
    first_seen: dt.datetime | None
    sanctions: list[str] = Field(description="Current sanctions: banned, suspended, always_review.")
    recent: list[ContextAuthorCommentOut]


class ContextOut(BaseModel):
    comment: QueueItemOut
    article: ContextArticleOut
    parent: ContextParentOut | None
    author: ContextAuthorOut


class QueuePointOut(BaseModel):
    at: dt.datetime
    depth: int
    oldest_age_s: float


class ModeratorDayOut(BaseModel):
    day: dt.date
    moderator: str
    approved: int
    rejected: int


class OverturnOut(BaseModel):
    key: str
    decided: int
    overturned: int
    rate: float | None


class OverturnsOut(BaseModel):
    overall: OverturnOut
    by_label: list[OverturnOut]
    by_model_reason: list[OverturnOut]
    by_moderator_reason: list[OverturnOut]


class DashboardOut(BaseModel):
    hours: int
    days: int
    bucket_s: int
    now: StatsOut
    queue: list[QueuePointOut]
    decisions: list[ModeratorDayOut]
    overturns: OverturnsOut


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
