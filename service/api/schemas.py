"""Request and response bodies: pydantic at the HTTP edge, nothing deeper."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyAddress,
    ValidationInfo,
    field_validator,
    model_validator,
)

from service.domain.reasons import public_message
from service.domain.rules import FloodAction, RepeatAction, Standing
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
    site_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Apply this site's word lists, link rules, thresholds and language check too.",
    )


class CommentEditIn(TextBody):
    version: int | None = Field(
        default=None, ge=1, description="The version you edited; 409 version_conflict when it moved on."
    )


ReportReason = Literal["spam", "abuse", "harassment", "hate", "off_topic", "misinformation", "other"]


class ReportIn(Body):
    reason: ReportReason
    detail: str | None = Field(default=None, max_length=500)
    reporter_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The reporting reader's id on the website: a reader's repeated reports count once.",
    )


class ArticleIn(Body):
    mode: ArticleMode
    site_id: str | None = Field(default=None, min_length=1, max_length=200)
    title: str | None = Field(default=None, max_length=1000)
    url: str | None = Field(default=None, max_length=2000)


Queue = Literal["pending", "reported"]


class ClaimIn(Body):
    limit: int = Field(default=10, ge=1, le=1000)
    queue: Queue = "pending"
    site_id: str | None = Field(default=None, min_length=1, max_length=200)
    article_id: str | None = Field(default=None, min_length=1, max_length=200)


class DecisionIn(Body):
    decision: Literal["approve", "reject"]
    reason: str | None = Field(default=None, max_length=500)


class QueueQuery(Body):
    sort: Literal["oldest", "newest", "score"] = "oldest"
    queue: Queue = "pending"
    site_id: str | None = Field(default=None, min_length=1, max_length=200)
    article_id: str | None = Field(default=None, min_length=1, max_length=200)
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = Field(default=None, max_length=500)


class StatsQuery(Body):
    queue: Queue = "pending"
    site_id: str | None = Field(default=None, min_length=1, max_length=200)
    article_id: str | None = Field(default=None, min_length=1, max_length=200)


class ReasonOut(BaseModel):
    code: str = Field(description="Stable reason code (docs/reason-codes.md).")
    message: str = Field(description="For moderators.")
    label: str | None = None
    score: float | None = None
    threshold: float | None = None
    detail: str | None = Field(default=None, description="What fired: the listed term, domain or language.")
    public_message: str = Field(default="", description="What the website may show the author.")

    @model_validator(mode="after")
    def _public(self) -> ReasonOut:
        if not self.public_message:
            self.public_message = public_message(self.code)
        return self


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
    report_count: int = 0
    version: int = 1
    language: str | None = None
    created_at: dt.datetime
    decided_at: dt.datetime | None


class RevisionOut(BaseModel):
    revision: int
    text: str
    replaced_at: dt.datetime


class CommentDetailOut(CommentOut):
    text: str
    history: list[EventOut]
    revisions: list[RevisionOut] = Field(default_factory=list, description="Earlier texts, oldest first.")
    open_reports: dict[str, int] = Field(default_factory=dict, description="Unsettled reports per reason.")


class ReportOut(BaseModel):
    comment_id: uuid.UUID
    counted: bool = Field(description="False when this reader had already reported the comment.")
    report_count: int
    open_reports: dict[str, int]


class QueueItemOut(CommentOut):
    text: str
    max_score: float
    lease_expires_at: dt.datetime | None
    reported_at: dt.datetime | None = None
    open_reports: dict[str, int] | None = Field(
        default=None, description="Unsettled reader reports per reason (reported queue only)."
    )


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
    mode: ArticleMode | None = Field(description="None: the article follows its site's default mode.")
    title: str | None
    url: str | None
    updated_at: dt.datetime


# ---------------------------------------------------------------------------------------------
# Site settings and word lists


class ThresholdPairIn(Body):
    review: float = Field(ge=0.0, le=1.0)
    reject: float = Field(ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> ThresholdPairIn:
        if self.review > self.reject:
            raise ValueError("review must not exceed reject")
        return self


Domain = Field(min_length=3, max_length=253, pattern=r"^[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")


class SiteSettingsBase(Body):
    default_mode: Literal["postmod", "premod", "closed"] = "postmod"
    thresholds: dict[str, ThresholdPairIn] = Field(default_factory=dict)
    max_links: int | None = Field(default=3, ge=0, le=100, description="More links hold for review; null: no limit.")
    allowed_domains: list[str] = Field(default_factory=list, max_length=1000)
    blocked_domains: list[str] = Field(default_factory=list, max_length=10000)
    repeat_window_s: int = Field(default=600, ge=0, le=7 * 86400)
    repeat_action: RepeatAction = RepeatAction.REVIEW
    flood_max_per_minute: int = Field(default=10, ge=0, le=10000, description="0: off.")
    flood_action: FloodAction = FloodAction.THROTTLE
    new_author_min_approved: int = Field(default=0, ge=0, le=1000)
    rejection_rate_max: float = Field(default=0.5, ge=0.0, le=1.0)
    rejection_rate_min_decided: int = Field(default=5, ge=1, le=10000)
    rejection_rate_window_days: int = Field(default=30, ge=1, le=3650)
    language_check: bool = True
    retention_days: int | None = Field(default=None, ge=1, le=36500)
    webhook_url: AnyHttpUrl | None = None

    @field_validator("allowed_domains", "blocked_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        for domain in value:
            if not 3 <= len(domain) <= 253 or "." not in domain or any(c in domain for c in "/:@ \t"):
                raise ValueError("each entry must be a bare domain name such as example.com")
        return [d.strip().lower() for d in value]


class ArticleSettingsIn(Body):
    """Overrides of the site's settings for one article; an absent field follows the site."""

    site_id: str | None = Field(default=None, min_length=1, max_length=200)
    thresholds: dict[str, ThresholdPairIn] | None = None
    max_links: int | None = Field(default=None, ge=0, le=100)
    allowed_domains: list[str] | None = Field(default=None, max_length=1000)
    blocked_domains: list[str] | None = Field(default=None, max_length=10000)
    new_author_min_approved: int | None = Field(default=None, ge=0, le=1000)
    language_check: bool | None = None

    @field_validator("allowed_domains", "blocked_domains")
    @classmethod
    def _domains(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else SiteSettingsBase._domains(value)  # type: ignore[call-arg]

    def overrides(self) -> dict[str, object]:
        return self.model_dump(mode="json", exclude={"site_id"}, exclude_none=True)


class ArticleSettingsOut(BaseModel):
    site_id: str
    article_id: str
    overrides: dict[str, object]


class SiteSettingsIn(SiteSettingsBase):
    webhook_secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="HMAC key for webhook signatures; omit to keep the current one. Never shown back.",
    )


class SiteSettingsOut(SiteSettingsBase):
    model_config = ConfigDict(extra="ignore")
    site_id: str
    version: int
    webhook_secret_set: bool


def _check_terms(value: list[str]) -> list[str]:
    for term in value:
        if not 1 <= len(term.strip()) <= 200:
            raise ValueError("each term must have 1 to 200 characters")
    return value


class WordListIn(Body):
    """A whole list. Terms match whole words, case- and disguise-insensitively; a leading or
    trailing ``*`` also matches longer words (``idiot*`` catches "idiots")."""

    terms: list[str] = Field(max_length=50_000)

    @field_validator("terms")
    @classmethod
    def _terms(cls, value: list[str]) -> list[str]:
        return _check_terms(value)


class WordListPatchIn(Body):
    add: list[str] = Field(default_factory=list, max_length=50_000)
    remove: list[str] = Field(default_factory=list, max_length=50_000)

    @field_validator("add", "remove")
    @classmethod
    def _terms(cls, value: list[str]) -> list[str]:
        return _check_terms(value)


class WordListOut(BaseModel):
    site_id: str
    kind: Literal["banned", "suspect"]
    count: int
    terms: list[str]


# ---------------------------------------------------------------------------------------------
# Authors


class SiteQuery(Body):
    site_id: str | None = Field(default=None, min_length=1, max_length=200)


class StandingIn(Body):
    site_id: str | None = Field(default=None, min_length=1, max_length=200)
    reason: str | None = Field(default=None, max_length=500, description="Kept in the author's history.")


class BanIn(StandingIn):
    reject_pending: bool = Field(default=False, description="Also reject the author's pending comments.")


class SuspendIn(StandingIn):
    until: dt.datetime | None = Field(default=None, description="End of the suspension (with a time zone).")
    duration_s: int | None = Field(default=None, ge=60, le=10 * 365 * 86400)

    @model_validator(mode="after")
    def _one(self) -> SuspendIn:
        if (self.until is None) == (self.duration_s is None):
            raise ValueError("give exactly one of until and duration_s")
        if self.until is not None and self.until.tzinfo is None:
            raise ValueError("until needs a time zone")
        return self


class AuthorEventOut(BaseModel):
    at: dt.datetime
    actor_kind: str
    actor_name: str
    action: str
    from_standing: Standing | None
    to_standing: Standing | None
    details: dict[str, object]


class AuthorOut(BaseModel):
    site_id: str
    id: str
    standing: Standing
    suspended_until: dt.datetime | None
    approved_count: int
    rejected_count: int
    created_at: dt.datetime
    updated_at: dt.datetime
    history: list[AuthorEventOut]


class AuthorActionOut(BaseModel):
    author: AuthorOut
    rejected_pending: int = Field(description="Pending comments rejected with a ban.")


class ErasedOut(BaseModel):
    erased_comments: int


# ---------------------------------------------------------------------------------------------
# Webhooks


class DeliveriesQuery(Body):
    site_id: str | None = Field(default=None, min_length=1, max_length=200)
    state: Literal["pending", "delivered", "dead"] | None = None
    limit: int = Field(default=50, ge=1, le=500)


class AttemptOut(BaseModel):
    attempt: int
    at: dt.datetime
    url: str
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    id: uuid.UUID = Field(description="The event id sent to the receiver (stable across retries).")
    site_id: str
    event_type: str
    comment_id: uuid.UUID | None
    state: Literal["pending", "delivered", "dead"]
    attempts: int
    next_attempt_at: dt.datetime
    last_status: int | None
    last_error: str | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    log: list[AttemptOut]


class DeliveriesOut(BaseModel):
    items: list[DeliveryOut]


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
