"""Request and response bodies: pydantic at the HTTP edge, nothing deeper."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

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


def _contains_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_contains_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    return False


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    @field_validator("*")
    @classmethod
    def _storable(cls, value: object) -> object:
        """No U+0000 anywhere in a request: PostgreSQL text and jsonb cannot hold it (422, not 500)."""
        if _contains_nul(value):
            raise ValueError("must not contain U+0000 (NUL)")
        return value


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
    site_id: str | None = OptionalId(
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
    reporter_id: str | None = OptionalId(
        description="The reporting reader's id on the website: a reader's repeated reports count once.",
    )


class ArticleIn(Body):
    mode: ArticleMode
    site_id: str | None = OptionalId()
    title: str | None = OptionalText(1000)
    url: str | None = OptionalText(2000)


Queue = Literal["pending", "reported"]


class ClaimIn(Body):
    limit: int = Field(default=10, ge=1, le=1000)
    queue: Queue = "pending"
    sort: Literal["oldest", "newest", "score"] = Field(
        default="oldest",
        description="Which pending comments to lease first (score: most likely rejected); reported: oldest first.",
    )
    site_id: str | None = OptionalId()
    article_id: str | None = OptionalId()


class DecisionIn(Body):
    decision: Literal["approve", "reject"]
    reason: str | None = OptionalText(500)


class QueueQuery(Body):
    sort: Literal["oldest", "newest", "score"] = "oldest"
    queue: Queue = "pending"
    site_id: str | None = OptionalId()
    article_id: str | None = OptionalId()
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = Field(default=None, max_length=500)


class StatsQuery(Body):
    queue: Queue = "pending"
    site_id: str | None = OptionalId()
    article_id: str | None = OptionalId()


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


class ContextAuthorActionOut(BaseModel):
    at: dt.datetime
    actor_name: str
    action: str
    to_standing: str | None
    reason: str | None


class ContextAuthorOut(BaseModel):
    id: str
    standing: str
    suspended_until: dt.datetime | None
    approved_count: int
    rejected_count: int
    approval_rate: float | None
    first_seen: dt.datetime | None
    sanctions: list[str] = Field(description="Current sanctions: banned, suspended, always_review.")
    actions: list[ContextAuthorActionOut] = Field(description="Moderator actions on the author, newest first.")
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
    link_min_approved: int = Field(
        default=1,
        ge=0,
        le=1000,
        description="Hold a comment with a link (outside allowed_domains) for review until its author has "
        "this many approved comments; 0: off.",
    )
    repeat_window_s: int = Field(default=600, ge=0, le=7 * 86400)
    repeat_action: RepeatAction = RepeatAction.REVIEW
    flood_max_per_minute: int = Field(default=10, ge=0, le=10000, description="0: off.")
    flood_action: FloodAction = FloodAction.THROTTLE
    new_author_min_approved: int = Field(default=0, ge=0, le=1000)
    rejection_rate_max: float = Field(default=0.5, ge=0.0, le=1.0)
    rejection_rate_min_decided: int = Field(default=5, ge=1, le=10000)
    rejection_rate_window_days: int = Field(default=30, ge=1, le=3650)
    language_check: bool = True
    auto_reject_group_mentions: bool = Field(
        default=False,
        description="Reject comments that name an identity group on the classifier's scores alone; "
        "false: they go to review (reason names_group_held).",
    )
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

    site_id: str | None = OptionalId()
    thresholds: dict[str, ThresholdPairIn] | None = None
    max_links: int | None = Field(default=None, ge=0, le=100)
    allowed_domains: list[str] | None = Field(default=None, max_length=1000)
    blocked_domains: list[str] | None = Field(default=None, max_length=10000)
    link_min_approved: int | None = Field(default=None, ge=0, le=1000)
    new_author_min_approved: int | None = Field(default=None, ge=0, le=1000)
    language_check: bool | None = None
    auto_reject_group_mentions: bool | None = None

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
    site_id: str | None = OptionalId()


class StandingIn(Body):
    site_id: str | None = OptionalId()
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
    site_id: str | None = OptionalId()
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


# -- model registry and training data (service/api/models.py) -------------------------------------


class ActivateIn(Body):
    reason: str | None = Field(default=None, max_length=500, description="Why; recorded as the state reason.")
    force: bool = Field(default=False, description="Activate even a version the gate rejected.")


class ShadowIn(Body):
    enabled: bool = Field(description="Score live traffic beside the active model (true) or stop (false).")


class TrainingDataQuery(Body):
    # The cursor is a bigint event id: a larger number cannot be sent to PostgreSQL (was a 500; fuzzing).
    since: int = Field(
        default=0, ge=0, le=2**63 - 1, description="Resume after this cursor (the last example's cursor)."
    )
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
    evaluation: dict[str, object] = Field(
        description="The retraining gate's report; for uploads, the behavioural-canary check against the served model."
    )
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
