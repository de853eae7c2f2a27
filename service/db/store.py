"""Thin typed wrappers over the named queries. Each wrapper bears its query's name.

Wrappers take a connection, so the service layer decides transaction boundaries.
Driver errors that carry a constraint name are translated into domain errors here.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import asyncpg

from service.db.queries import QUERIES
from service.domain.types import Role, Status

Conn: TypeAlias = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy


@dataclass(frozen=True)
class StoredComment:
    id: uuid.UUID
    site_id: str
    external_id: str | None
    article_id: str
    author_id: str
    parent_id: uuid.UUID | None
    text: str
    status: Status
    scores: dict[str, float]
    reasons: list[dict[str, Any]]
    spans: list[dict[str, Any]]
    model_version: str | None
    max_score: float
    report_count: int
    version: int
    lease_key_id: int | None
    lease_expires_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    decided_at: dt.datetime | None
    reported_at: dt.datetime | None = None
    text_erased_at: dt.datetime | None = None
    language: str | None = None
    fingerprint: bytes | None = None
    open_reports: dict[str, int] | None = None  # unsettled reports per reason (reported-queue reads only)

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> StoredComment:
        return cls(
            id=row["id"],
            site_id=row["site_id"],
            external_id=row["external_id"],
            article_id=row["article_id"],
            author_id=row["author_id"],
            parent_id=row["parent_id"],
            text=row["text"],
            status=Status(row["status"]),
            scores=row["scores"],
            reasons=row["reasons"],
            spans=row["spans"],
            model_version=row["model_version"],
            max_score=row["max_score"],
            report_count=row["report_count"],
            version=row["version"],
            lease_key_id=row["lease_key_id"],
            lease_expires_at=row["lease_expires_at"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            decided_at=row["decided_at"],
            reported_at=row["reported_at"],
            text_erased_at=row["text_erased_at"],
            language=row["language"],
            fingerprint=row["fingerprint"],
            open_reports=row.get("open_reports"),
        )

    @classmethod
    def from_new(cls, comment_id: uuid.UUID, new: NewComment, filled: asyncpg.Record) -> StoredComment:
        """A comment just inserted: what the caller sent plus the columns the server ``filled`` in."""
        return cls(
            id=comment_id,
            site_id=new.site_id,
            external_id=new.external_id,
            article_id=new.article_id,
            author_id=new.author_id,
            parent_id=new.parent_id,
            text=new.text,
            status=new.status,
            scores=new.scores,
            reasons=new.reasons,
            spans=new.spans,
            model_version=new.model_version,
            max_score=filled["max_score"],
            report_count=filled["report_count"],
            version=filled["version"],
            lease_key_id=filled["lease_key_id"],
            lease_expires_at=filled["lease_expires_at"],
            created_at=filled["created_at"],
            updated_at=filled["updated_at"],
            decided_at=filled["decided_at"],
            reported_at=filled["reported_at"],
            text_erased_at=filled["text_erased_at"],
            language=new.language,
            fingerprint=new.fingerprint,
        )


@dataclass(frozen=True)
class StoredEvent:
    at: dt.datetime
    actor_kind: str
    actor_name: str
    action: str
    from_status: str | None
    to_status: str | None
    reasons: list[dict[str, Any]]
    details: dict[str, Any]


@dataclass(frozen=True)
class StoredKey:
    id: int
    name: str
    role: Role
    site_id: str | None
    key_hash: bytes


@dataclass(frozen=True)
class StoredArticle:
    site_id: str
    id: str
    title: str | None
    url: str | None
    mode: str | None  # None: the site's default mode
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class NewComment:
    site_id: str
    external_id: str | None
    article_id: str
    author_id: str
    parent_id: uuid.UUID | None
    text: str
    status: Status
    scores: dict[str, float]
    reasons: list[dict[str, Any]]
    spans: list[dict[str, Any]]
    model_version: str
    author_ip: str | None
    user_agent: str | None
    fingerprint: bytes | None = None
    language: str | None = None


async def get_api_key_by_hash(conn: Conn, key_hash: bytes) -> StoredKey | None:
    row = await conn.fetchrow(QUERIES["get_api_key_by_hash"], key_hash)
    if row is None:
        return None
    return StoredKey(row["id"], row["name"], Role(row["role"]), row["site_id"], bytes(row["key_hash"]))


async def insert_api_key(
    conn: Conn, name: str, role: Role, key_hash: bytes, key_prefix: str, site_id: str | None
) -> asyncpg.Record:
    return await conn.fetchrow(QUERIES["insert_api_key"], name, role.value, key_hash, key_prefix, site_id)


async def list_api_keys(conn: Conn) -> list[asyncpg.Record]:
    return await conn.fetch(QUERIES["list_api_keys"])


async def revoke_api_key(conn: Conn, name: str) -> bool:
    return await conn.fetchval(QUERIES["revoke_api_key"], name) is not None


async def retire_api_key(conn: Conn, name: str, grace_s: float) -> asyncpg.Record | None:
    """Schedule the current key named ``name`` to stop working in ``grace_s`` seconds (0: now)."""
    return await conn.fetchrow(QUERIES["retire_api_key"], name, float(grace_s))


async def touch_api_key(conn: Conn, key_id: int) -> None:
    await conn.execute(QUERIES["touch_api_key"], key_id)


async def ensure_site(conn: Conn, site_id: str) -> None:
    await conn.execute(QUERIES["ensure_site"], site_id)


def _article(row: asyncpg.Record) -> StoredArticle:
    return StoredArticle(
        row["site_id"], row["id"], row["title"], row["url"], row["mode"], row["created_at"], row["updated_at"]
    )


async def get_article(conn: Conn, site_id: str, article_id: str) -> StoredArticle | None:
    row = await conn.fetchrow(QUERIES["get_article"], site_id, article_id)
    return _article(row) if row else None


async def upsert_article(
    conn: Conn, site_id: str, article_id: str, mode: str, title: str | None, url: str | None
) -> StoredArticle:
    row = await conn.fetchrow(QUERIES["upsert_article"], site_id, article_id, mode, title, url)
    return _article(row)


async def insert_comment(
    conn: Conn, new: NewComment, *, created_by: str = "model:unknown", details: dict[str, Any] | None = None
) -> StoredComment | None:
    """Store one comment as the intake does (see :func:`store_comments`), its history entry naming
    ``created_by``; None when the (site, external id) pair already exists."""
    comment_id = uuid.uuid4()
    stored = await store_comments(conn, [NewStoredComment(comment_id, new, created_by, details or {})])
    return stored.get(comment_id)


# -- batched intake: one read and one write statement for all the comments of a micro-batch --------


@dataclass(frozen=True)
class StoredArticleSettings:
    site_id: str
    id: str
    mode: str | None  # None: the site's default mode
    settings: dict[str, Any] | None  # the article's overrides of its site's settings


@dataclass(frozen=True)
class NewStoredComment:
    """A comment to store with :func:`store_comments`, and what its 'created' history entry says."""

    id: uuid.UUID  # chosen by the caller
    comment: NewComment
    actor_name: str  # the system actor that created it ('model:<version>')
    details: dict[str, Any]


Key: TypeAlias = tuple[str, str]  # (site id, article/author/external id)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _columns(keys: Sequence[Key]) -> tuple[list[str], list[str]]:
    return [k[0] for k in keys], [k[1] for k in keys]


async def get_comments_by_external_ids(conn: Conn, keys: list[Key]) -> dict[Key, StoredComment]:
    rows = await conn.fetch(QUERIES["get_comments_by_external_ids"], *_columns(keys))
    return {(r["site_id"], r["external_id"]): StoredComment.from_row(r) for r in rows}


@dataclass(frozen=True)
class IntakeKey:
    """One submission of a micro-batch, as :func:`intake_context` looks it up."""

    site_id: str
    external_id: str | None
    article_id: str
    author_id: str
    fingerprint: bytes
    repeat_window_s: int
    window_days: int
    parent_id: uuid.UUID | None = None


@dataclass(frozen=True)
class IntakeContext:
    """What the database knows about one submission (see the ``intake_context`` query)."""

    site_version: int  # the site's settings version now (0: the site is not stored yet)
    existing_id: uuid.UUID | None  # the comment stored under the same (site, external id)
    article: StoredArticleSettings | None  # None: not stored yet
    author: StoredAuthor | None  # None: a new author
    activity: asyncpg.Record  # the columns of ``author_activity``
    parent: Key | None  # (site, article) of the parent comment; None: no parent, or not found

    @classmethod
    def from_row(cls, key: IntakeKey, row: asyncpg.Record) -> IntakeContext:
        return cls(
            site_version=row["site_version"] or 0,
            existing_id=row["existing_id"],
            article=StoredArticleSettings(key.site_id, key.article_id, row["article_mode"], row["article_settings"])
            if row["article_found"]
            else None,
            author=StoredAuthor(site_id=key.site_id, id=key.author_id, **{f: row[f] for f in _AUTHOR_COLUMNS})
            if row["author_found"]
            else None,
            activity=row,
            parent=(row["parent_site_id"], row["parent_article_id"]) if row["parent_site_id"] is not None else None,
        )


async def intake_context(conn: Conn, keys: Sequence[IntakeKey]) -> list[IntakeContext]:
    """One :class:`IntakeContext` per key, in order, from one statement."""
    rows = await conn.fetch(
        QUERIES["intake_context"],
        [k.site_id for k in keys],
        [k.external_id for k in keys],
        [k.article_id for k in keys],
        [k.author_id for k in keys],
        [k.fingerprint for k in keys],
        [float(k.repeat_window_s) for k in keys],
        [k.window_days for k in keys],
        [k.parent_id for k in keys],
    )
    return [IntakeContext.from_row(k, r) for k, r in zip(keys, rows, strict=True)]


async def store_comments(conn: Conn, new: Sequence[NewStoredComment]) -> dict[uuid.UUID, StoredComment]:
    """A micro-batch's whole write in one statement (``store_comments``): keys created on first use,
    the comments, their 'created' history entries, their authors' tallies. Returns the stored
    comments by the ids given; a comment whose (site, external id) exists already is left out (and
    gets no history entry)."""
    rows = await conn.fetch(
        QUERIES["store_comments"],
        [n.id for n in new],
        [n.comment.site_id for n in new],
        [n.comment.external_id for n in new],
        [n.comment.article_id for n in new],
        [n.comment.author_id for n in new],
        [n.comment.parent_id for n in new],
        [n.comment.text for n in new],
        [n.comment.status.value for n in new],
        [_json(n.comment.scores) for n in new],
        [_json(n.comment.reasons) for n in new],
        [_json(n.comment.spans) for n in new],
        [n.comment.model_version for n in new],
        [n.comment.author_ip for n in new],
        [n.comment.user_agent for n in new],
        [max(n.comment.scores.values(), default=0.0) for n in new],
        [n.comment.fingerprint for n in new],
        [n.comment.language for n in new],
        [n.actor_name for n in new],
        [_json(n.details) for n in new],
    )
    filled = {r["id"]: r for r in rows}
    return {n.id: StoredComment.from_new(n.id, n.comment, filled[n.id]) for n in new if n.id in filled}


async def get_comment(conn: Conn, comment_id: uuid.UUID) -> StoredComment | None:
    row = await conn.fetchrow(QUERIES["get_comment"], comment_id)
    return StoredComment.from_row(row) if row else None


async def get_comment_by_external_id(conn: Conn, site_id: str, external_id: str) -> StoredComment | None:
    row = await conn.fetchrow(QUERIES["get_comment_by_external_id"], site_id, external_id)
    return StoredComment.from_row(row) if row else None


async def insert_comment_event(
    conn: Conn,
    comment_id: uuid.UUID,
    *,
    actor_kind: str,
    actor_name: str,
    action: str,
    from_status: str | None,
    to_status: str | None,
    reasons: list[dict[str, Any]] | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        QUERIES["insert_comment_event"],
        comment_id,
        actor_kind,
        actor_name,
        action,
        from_status,
        to_status,
        reasons or [],
        details or {},
    )


async def list_comment_events(conn: Conn, comment_id: uuid.UUID) -> list[StoredEvent]:
    rows = await conn.fetch(QUERIES["list_comment_events"], comment_id)
    return [StoredEvent(**dict(row)) for row in rows]


# The order each claim query leases in, to sort what UPDATE ... RETURNING gives back unordered.
_CLAIM_ORDER: dict[str, Any] = {
    "oldest": lambda c: (c.created_at, c.id),
    "newest": lambda c: (-c.created_at.timestamp(), _desc_uuid(c.id)),
    "score": lambda c: (-c.max_score, _desc_uuid(c.id)),
}


def _desc_uuid(value: uuid.UUID) -> int:
    return -value.int


async def claim_reviews(
    conn: Conn,
    limit: int,
    site_id: str | None,
    article_id: str | None,
    key_id: int,
    lease_s: float,
    sort: str = "oldest",
) -> list[StoredComment]:
    if sort == "oldest":
        query = QUERIES["claim_reviews"]
    elif sort == "newest":
        query = QUERIES["claim_reviews_newest"]
    elif sort == "score":
        query = QUERIES["claim_reviews_score"]
    else:
        raise ValueError(f"unknown sort {sort!r}")
    rows = await conn.fetch(query, limit, site_id, article_id, key_id, float(lease_s))
    return sorted((StoredComment.from_row(r) for r in rows), key=_CLAIM_ORDER[sort])


async def decide_review(
    conn: Conn, comment_id: uuid.UUID, key_id: int, status: Status
) -> tuple[StoredComment, Status] | None:
    """The decided comment and the status it had before, or None when the caller holds no lease on it."""
    row = await conn.fetchrow(QUERIES["decide_review"], comment_id, key_id, status.value)
    return (StoredComment.from_row(row), Status(row["from_status"])) if row else None


async def count_author_decision(conn: Conn, site_id: str, author_id: str, status: Status) -> None:
    await conn.execute(QUERIES["count_author_decision"], site_id, author_id, status.value)


async def list_review_queue(
    conn: Conn,
    *,
    sort: str,
    site_id: str | None,
    article_id: str | None,
    limit: int,
    after: tuple[Any, uuid.UUID] | None,
) -> list[StoredComment]:
    query = QUERIES[f"list_review_queue_{sort}"]
    key, last_id = after if after else (None, None)
    rows = await conn.fetch(query, site_id, article_id, limit, key, last_id)
    return [StoredComment.from_row(r) for r in rows]


async def review_stats(conn: Conn, site_id: str | None, article_id: str | None) -> asyncpg.Record:
    return await conn.fetchrow(QUERIES["review_stats"], site_id, article_id)


@dataclass(frozen=True)
class LeaseExtended:
    id: uuid.UUID
    lease_expires_at: dt.datetime


async def extend_leases(conn: Conn, ids: list[uuid.UUID], key_id: int, lease_s: float) -> list[LeaseExtended]:
    rows = await conn.fetch(QUERIES["extend_leases"], ids, key_id, float(lease_s))
    return [LeaseExtended(r["id"], r["lease_expires_at"]) for r in rows]


async def release_leases(conn: Conn, ids: list[uuid.UUID], key_id: int) -> list[uuid.UUID]:
    return [r["id"] for r in await conn.fetch(QUERIES["release_leases"], ids, key_id)]


@dataclass(frozen=True)
class BulkSelection:
    """Which pending comments a bulk decision settles: ``ids`` (or all), narrowed by the filter."""

    ids: list[uuid.UUID] | None
    site_id: str | None
    article_id: str | None
    created_before: dt.datetime | None


async def count_bulk_candidates(conn: Conn, sel: BulkSelection, key_id: int) -> tuple[int, dt.datetime]:
    """How many comments the selection covers, and the database's time of the count."""
    row = await conn.fetchrow(
        QUERIES["count_bulk_candidates"], sel.ids, sel.site_id, sel.article_id, sel.created_before, key_id
    )
    return row["n"], row["as_of"]


async def bulk_decide(
    conn: Conn,
    sel: BulkSelection,
    *,
    key_id: int,
    limit: int,
    status: Status,
    actor_kind: str,
    actor_name: str,
    reasons: list[dict[str, Any]],
    reason: str | None,
) -> list[uuid.UUID]:
    rows = await conn.fetch(
        QUERIES["bulk_decide"],
        sel.ids,
        sel.site_id,
        sel.article_id,
        sel.created_before,
        key_id,
        limit,
        status.value,
        actor_kind,
        actor_name,
        reasons,
        reason,
    )
    return [r["id"] for r in rows]


@dataclass(frozen=True)
class UndoTarget:
    """A comment locked for undo, with its latest history event."""

    id: uuid.UUID
    site_id: str
    author_id: str
    status: Status
    decided_at: dt.datetime | None
    event_id: int | None
    action: str | None
    actor_name: str | None
    details: dict[str, Any]
    now: dt.datetime


async def lock_comment_for_undo(conn: Conn, comment_id: uuid.UUID) -> UndoTarget | None:
    row = await conn.fetchrow(QUERIES["lock_comment_for_undo"], comment_id)
    if row is None:
        return None
    return UndoTarget(
        id=row["id"],
        site_id=row["site_id"],
        author_id=row["author_id"],
        status=Status(row["status"]),
        decided_at=row["decided_at"],
        event_id=row["event_id"],
        action=row["action"],
        actor_name=row["actor_name"],
        details=row["details"] or {},
        now=row["now"],
    )


async def reopen_comment(conn: Conn, comment_id: uuid.UUID, key_id: int, lease_s: float) -> StoredComment:
    row = await conn.fetchrow(QUERIES["reopen_comment"], comment_id, key_id, float(lease_s))
    return StoredComment.from_row(row)


async def uncount_author_decision(conn: Conn, site_id: str, author_id: str, status: Status) -> None:
    await conn.execute(QUERIES["uncount_author_decision"], site_id, author_id, status.value)


@dataclass(frozen=True)
class AuthorComment:
    id: uuid.UUID
    article_id: str
    text: str
    status: Status
    created_at: dt.datetime


async def list_author_comments(
    conn: Conn, site_id: str, author_id: str, except_id: uuid.UUID, limit: int
) -> list[AuthorComment]:
    rows = await conn.fetch(QUERIES["list_author_comments"], site_id, author_id, except_id, limit)
    return [AuthorComment(r["id"], r["article_id"], r["text"], Status(r["status"]), r["created_at"]) for r in rows]


async def record_queue_snapshot(conn: Conn, bucket_s: float) -> None:
    await conn.execute(QUERIES["record_queue_snapshot"], float(bucket_s))


async def prune_queue_snapshots(conn: Conn, keep_days: int) -> None:
    await conn.execute(QUERIES["prune_queue_snapshots"], keep_days)


@dataclass(frozen=True)
class QueuePoint:
    at: dt.datetime
    depth: int
    oldest_age_s: float


async def dashboard_queue_series(conn: Conn, hours: int, bucket_s: float, site_id: str | None) -> list[QueuePoint]:
    rows = await conn.fetch(QUERIES["dashboard_queue_series"], hours, float(bucket_s), site_id)
    return [QueuePoint(r["at"], r["depth"], r["oldest_age_s"]) for r in rows]


@dataclass(frozen=True)
class ModeratorDay:
    day: dt.date
    moderator: str
    approved: int
    rejected: int


async def dashboard_decisions_per_moderator(conn: Conn, days: int, site_id: str | None) -> list[ModeratorDay]:
    rows = await conn.fetch(QUERIES["dashboard_decisions_per_moderator"], days, site_id)
    return [ModeratorDay(**dict(r)) for r in rows]


@dataclass(frozen=True)
class OverturnCount:
    dimension: str
    key: str
    decided: int
    overturned: int


async def dashboard_overturns(conn: Conn, days: int, site_id: str | None) -> list[OverturnCount]:
    rows = await conn.fetch(QUERIES["dashboard_overturns"], days, site_id)
    return [OverturnCount(**dict(r)) for r in rows]


async def get_comments_by_ids(conn: Conn, ids: list[uuid.UUID]) -> list[StoredComment]:
    return [StoredComment.from_row(r) for r in await conn.fetch(QUERIES["get_comments_by_ids"], ids)]


@dataclass(frozen=True)
class NewWebhook:
    id: uuid.UUID
    site_id: str
    event_type: str
    comment_id: uuid.UUID
    payload: dict[str, Any]


async def enqueue_webhooks(conn: Conn, events: list[NewWebhook]) -> None:
    await conn.execute(
        QUERIES["enqueue_webhooks"],
        [e.id for e in events],
        [e.site_id for e in events],
        [e.event_type for e in events],
        [e.comment_id for e in events],
        [e.payload for e in events],
    )


# -- model registry -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelRef:
    """A registered version and its artifact's hash, without the bytes."""

    version: str
    artifact_sha256: str | None


@dataclass(frozen=True)
class ModelArtifact:
    version: str
    state: str
    artifact: bytes | None
    artifact_sha256: str | None


@dataclass(frozen=True)
class StoredModelVersion:
    version: str
    state: str
    manifest: dict[str, Any]
    artifact_sha256: str | None
    artifact_bytes: int | None
    state_reason: str | None
    created_at: dt.datetime
    activated_at: dt.datetime | None
    origin: str
    created_by: str | None
    evaluation: dict[str, Any]
    shadow: bool
    compared: int
    agreed: int
    shadow_stricter: int
    shadow_laxer: int
    mean_max_delta: float | None


@dataclass(frozen=True)
class LockedModelVersion:
    version: str
    state: str
    has_artifact: bool


@dataclass(frozen=True)
class ShadowFeedComment:
    id: uuid.UUID
    text: str
    status: str
    scores: dict[str, float]
    model_version: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class LabelRow:
    """One human decision with its comment, as the label stream reads it."""

    cursor: int
    at: dt.datetime
    actor_kind: str
    actor_name: str
    action: str
    from_status: str | None
    to_status: str
    reasons: list[dict[str, Any]]
    details: dict[str, Any]
    comment_id: uuid.UUID
    site_id: str
    article_id: str
    text: str
    comment_model_version: str | None
    comment_scores: dict[str, float]


async def register_bundled_model_version(
    conn: Conn, version: str, manifest: dict[str, Any], artifact: bytes, sha256: str
) -> None:
    await conn.execute(QUERIES["register_bundled_model_version"], version, manifest, artifact, sha256)


async def get_active_model_version(conn: Conn) -> ModelRef | None:
    row = await conn.fetchrow(QUERIES["get_active_model_version"])
    return ModelRef(row["version"], row["artifact_sha256"]) if row else None


async def get_shadow_model_version(conn: Conn) -> ModelRef | None:
    row = await conn.fetchrow(QUERIES["get_shadow_model_version"])
    return ModelRef(row["version"], row["artifact_sha256"]) if row else None


async def get_model_artifact(conn: Conn, version: str) -> ModelArtifact | None:
    row = await conn.fetchrow(QUERIES["get_model_artifact"], version)
    if row is None:
        return None
    artifact = bytes(row["artifact"]) if row["artifact"] is not None else None
    return ModelArtifact(row["version"], row["state"], artifact, row["artifact_sha256"])


async def list_model_versions(conn: Conn, version: str | None = None) -> list[StoredModelVersion]:
    rows = await conn.fetch(QUERIES["list_model_versions"], version)
    return [StoredModelVersion(**dict(r)) for r in rows]


async def insert_model_version(
    conn: Conn,
    *,
    version: str,
    state: str,
    manifest: dict[str, Any],
    artifact: bytes,
    sha256: str,
    state_reason: str | None,
    origin: str,
    created_by: str | None,
    evaluation: dict[str, Any],
) -> bool:
    """True when registered; False when the version exists already."""
    got = await conn.fetchval(
        QUERIES["insert_model_version"],
        version,
        state,
        manifest,
        artifact,
        sha256,
        state_reason,
        origin,
        created_by,
        evaluation,
    )
    return got is not None


async def lock_model_version(conn: Conn, version: str) -> LockedModelVersion | None:
    row = await conn.fetchrow(QUERIES["lock_model_version"], version)
    return LockedModelVersion(row["version"], row["state"], row["has_artifact"]) if row else None


async def retire_active_model_version(conn: Conn, reason: str) -> str | None:
    return await conn.fetchval(QUERIES["retire_active_model_version"], reason)


async def activate_model_version(conn: Conn, version: str, reason: str) -> bool:
    return await conn.fetchval(QUERIES["activate_model_version"], version, reason) is not None


async def set_model_version_state(
    conn: Conn, version: str, state: str, reason: str, evaluation: dict[str, Any]
) -> bool:
    return await conn.fetchval(QUERIES["set_model_version_state"], version, state, reason, evaluation) is not None


async def clear_shadow_model_version(conn: Conn) -> None:
    await conn.execute(QUERIES["clear_shadow_model_version"])


async def set_shadow_model_version(conn: Conn, version: str) -> bool:
    return await conn.fetchval(QUERIES["set_shadow_model_version"], version) is not None


async def notify_model_activated(conn: Conn, version: str) -> None:
    await conn.execute(QUERIES["notify_model_activated"], version)


async def list_comments_after(
    conn: Conn, after: tuple[dt.datetime, uuid.UUID], model_version: str, limit: int
) -> list[ShadowFeedComment]:
    rows = await conn.fetch(QUERIES["list_comments_after"], after[0], after[1], model_version, limit)
    return [ShadowFeedComment(**dict(r)) for r in rows]


async def latest_comment_cursor(conn: Conn) -> tuple[dt.datetime, uuid.UUID] | None:
    row = await conn.fetchrow(QUERIES["latest_comment_cursor"])
    return (row["created_at"], row["id"]) if row else None


async def insert_shadow_score(
    conn: Conn,
    *,
    model_version: str,
    comment_id: uuid.UUID,
    active_version: str | None,
    active_status: str,
    shadow_status: str,
    active_scores: dict[str, float],
    shadow_scores: dict[str, float],
    max_score_delta: float,
) -> None:
    await conn.execute(
        QUERIES["insert_shadow_score"],
        model_version,
        comment_id,
        active_version,
        active_status,
        shadow_status,
        active_scores,
        shadow_scores,
        max_score_delta,
    )


async def list_training_labels(conn: Conn, after: int, limit: int, site_id: str | None) -> list[LabelRow]:
    rows = await conn.fetch(QUERIES["list_training_labels"], after, limit, site_id)
    return [LabelRow(**dict(r)) for r in rows]


async def try_retrain_lock(conn: Conn, key: int) -> bool:
    return bool(await conn.fetchval(QUERIES["try_retrain_lock"], key))


async def release_retrain_lock(conn: Conn, key: int) -> None:
    await conn.fetchval(QUERIES["release_retrain_lock"], key)


async def insert_retrain_run(conn: Conn, active_version: str | None) -> int:
    run_id: int = await conn.fetchval(QUERIES["insert_retrain_run"], active_version)
    return run_id


async def finish_retrain_run(
    conn: Conn,
    run_id: int,
    *,
    outcome: str,
    labels_cursor: int,
    labels_used: int,
    candidate_version: str | None,
    message: str,
    report: dict[str, Any],
) -> None:
    await conn.execute(
        QUERIES["finish_retrain_run"],
        run_id,
        outcome,
        labels_cursor,
        labels_used,
        candidate_version,
        message,
        report,
    )


async def last_retrain_cursor(conn: Conn) -> int:
    return int(await conn.fetchval(QUERIES["last_retrain_cursor"]))


async def count_training_labels_after(conn: Conn, after: int) -> int:
    return int(await conn.fetchval(QUERIES["count_training_labels_after"], after))


async def ping(conn: Conn) -> None:
    await conn.fetchval(QUERIES["ping"])


# ---------------------------------------------------------------------------------------------
# Site settings and word lists


@dataclass(frozen=True)
class StoredSiteSettings:
    site_id: str
    settings: dict[str, Any]
    version: int


def _site_settings(row: asyncpg.Record) -> StoredSiteSettings:
    return StoredSiteSettings(row["id"], row["settings"], row["settings_version"])


async def get_site_settings(conn: Conn, site_id: str) -> StoredSiteSettings | None:
    row = await conn.fetchrow(QUERIES["get_site_settings"], site_id)
    return _site_settings(row) if row else None


async def put_site_settings(conn: Conn, site_id: str, settings: dict[str, Any]) -> StoredSiteSettings:
    return _site_settings(await conn.fetchrow(QUERIES["put_site_settings"], site_id, settings))


async def get_article_settings(conn: Conn, site_id: str, article_id: str) -> dict[str, Any] | None:
    """An article's overrides; None when the article does not exist yet."""
    row = await conn.fetchrow(QUERIES["get_article_settings"], site_id, article_id)
    return row["settings"] if row else None


async def put_article_settings(conn: Conn, site_id: str, article_id: str, settings: dict[str, Any]) -> dict[str, Any]:
    return await conn.fetchval(QUERIES["put_article_settings"], site_id, article_id, settings)  # type: ignore[no-any-return]


async def bump_site_settings_version(conn: Conn, site_id: str) -> int:
    return int(await conn.fetchval(QUERIES["bump_site_settings_version"], site_id))


async def list_word_terms(conn: Conn, site_id: str, kind: str) -> list[str]:
    return [r["term"] for r in await conn.fetch(QUERIES["list_word_terms"], site_id, kind)]


async def list_all_word_terms(conn: Conn, site_id: str) -> list[tuple[str, str]]:
    return [(r["kind"], r["term"]) for r in await conn.fetch(QUERIES["list_all_word_terms"], site_id)]


async def delete_word_terms(conn: Conn, site_id: str, kind: str, terms: list[str] | None) -> None:
    await conn.execute(QUERIES["delete_word_terms"], site_id, kind, terms)


async def insert_word_terms(conn: Conn, site_id: str, kind: str, terms: list[str]) -> None:
    await conn.execute(QUERIES["insert_word_terms"], site_id, kind, terms)


# ---------------------------------------------------------------------------------------------
# Authors


@dataclass(frozen=True)
class StoredAuthor:
    site_id: str
    id: str
    standing: str
    suspended_until: dt.datetime | None
    approved_count: int
    rejected_count: int
    erased_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> StoredAuthor:
        return cls(**{f: row[f] for f in cls.__dataclass_fields__})


# The author columns of ``intake_context`` rows: the record's fields but its key.
_AUTHOR_COLUMNS = tuple(f for f in StoredAuthor.__dataclass_fields__ if f not in ("site_id", "id"))


@dataclass(frozen=True)
class StoredAuthorEvent:
    at: dt.datetime
    actor_kind: str
    actor_name: str
    action: str
    from_standing: str | None
    to_standing: str | None
    details: dict[str, Any]


async def get_author(conn: Conn, site_id: str, author_id: str) -> StoredAuthor | None:
    row = await conn.fetchrow(QUERIES["get_author"], site_id, author_id)
    return StoredAuthor.from_row(row) if row else None


async def set_author_standing(
    conn: Conn, site_id: str, author_id: str, standing: str, suspended_until: dt.datetime | None
) -> tuple[StoredAuthor, str | None]:
    """The author after the change and the standing before it (None for a new author)."""
    row = await conn.fetchrow(QUERIES["set_author_standing"], site_id, author_id, standing, suspended_until)
    return StoredAuthor.from_row(row), row["from_standing"]


async def insert_author_event(
    conn: Conn,
    site_id: str,
    author_id: str,
    *,
    actor_kind: str,
    actor_name: str,
    action: str,
    from_standing: str | None,
    to_standing: str | None,
    details: dict[str, Any],
) -> None:
    await conn.execute(
        QUERIES["insert_author_event"],
        site_id,
        author_id,
        actor_kind,
        actor_name,
        action,
        from_standing,
        to_standing,
        details,
    )


async def list_author_events(conn: Conn, site_id: str, author_id: str) -> list[StoredAuthorEvent]:
    rows = await conn.fetch(QUERIES["list_author_events"], site_id, author_id)
    return [StoredAuthorEvent(**dict(r)) for r in rows]


async def author_activity(
    conn: Conn, site_id: str, author_id: str, fingerprint: bytes, repeat_window_s: int, window_days: int
) -> asyncpg.Record:
    """What the author did lately (the activity columns of ``intake_context``)."""
    (context,) = await intake_context(
        conn, [IntakeKey(site_id, None, "", author_id, fingerprint, repeat_window_s, window_days)]
    )
    return context.activity


async def adjust_author_counts(
    conn: Conn, site_id: str, author_id: str, from_status: Status, to_status: Status
) -> None:
    await conn.execute(QUERIES["adjust_author_counts"], site_id, author_id, from_status.value, to_status.value)


async def reject_pending_by_author(
    conn: Conn, site_id: str, author_id: str, reasons: list[dict[str, Any]]
) -> list[StoredComment]:
    rows = await conn.fetch(QUERIES["reject_pending_by_author"], site_id, author_id, reasons)
    return [StoredComment.from_row(r) for r in rows]


async def rename_author(conn: Conn, site_id: str, author_id: str, new_id: str) -> bool:
    return await conn.fetchval(QUERIES["rename_author"], site_id, author_id, new_id) is not None


async def erase_author_comment_texts(conn: Conn, site_id: str, author_id: str) -> int:
    result = await conn.execute(QUERIES["erase_author_comment_texts"], site_id, author_id)
    return int(result.split()[-1])


async def delete_author_revisions(conn: Conn, site_id: str, author_id: str) -> None:
    await conn.execute(QUERIES["delete_author_revisions"], site_id, author_id)


async def forget_reporter(conn: Conn, site_id: str, reporter_id: str) -> None:
    await conn.execute(QUERIES["forget_reporter"], site_id, reporter_id)


async def scrub_webhook_author(conn: Conn, site_id: str, author_id: str, new_id: str) -> None:
    await conn.execute(QUERIES["scrub_webhook_author"], site_id, author_id, new_id)


async def purge_expired_rejected_texts(conn: Conn) -> list[uuid.UUID]:
    return [r["id"] for r in await conn.fetch(QUERIES["purge_expired_rejected_texts"])]


async def delete_revisions_of(conn: Conn, comment_ids: list[uuid.UUID]) -> None:
    await conn.execute(QUERIES["delete_revisions_of"], comment_ids)


# ---------------------------------------------------------------------------------------------
# Edits and reports


@dataclass(frozen=True)
class EditedComment:
    id: uuid.UUID
    text: str
    status: Status
    scores: dict[str, float]
    reasons: list[dict[str, Any]]
    spans: list[dict[str, Any]]
    model_version: str
    fingerprint: bytes | None
    language: str | None
    expected_version: int


async def update_comment_text(conn: Conn, edit: EditedComment) -> StoredComment | None:
    """The edited comment, or None when its version moved on meanwhile."""
    row = await conn.fetchrow(
        QUERIES["update_comment_text"],
        edit.id,
        edit.text,
        edit.status.value,
        edit.scores,
        edit.reasons,
        edit.spans,
        edit.model_version,
        max(edit.scores.values(), default=0.0),
        edit.fingerprint,
        edit.language,
        edit.expected_version,
    )
    return StoredComment.from_row(row) if row else None


async def insert_comment_revision(conn: Conn, comment_id: uuid.UUID, revision: int, text: str) -> None:
    await conn.execute(QUERIES["insert_comment_revision"], comment_id, revision, text)


async def list_comment_revisions(conn: Conn, comment_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(QUERIES["list_comment_revisions"], comment_id)


async def insert_report(
    conn: Conn, comment_id: uuid.UUID, reason: str, detail: str | None, reporter_id: str | None
) -> bool:
    """True when recorded; False when this reader already has an open report on the comment."""
    return await conn.fetchval(QUERIES["insert_report"], comment_id, reason, detail, reporter_id) is not None


async def mark_reported(conn: Conn, comment_id: uuid.UUID) -> StoredComment:
    return StoredComment.from_row(await conn.fetchrow(QUERIES["mark_reported"], comment_id))


async def open_report_reasons(conn: Conn, comment_id: uuid.UUID) -> dict[str, int]:
    return {r["reason"]: r["n"] for r in await conn.fetch(QUERIES["open_report_reasons"], comment_id)}


async def settle_reports(conn: Conn, comment_id: uuid.UUID, status: Status) -> None:
    await conn.execute(QUERIES["settle_reports"], comment_id, status.value)


async def claim_reported(
    conn: Conn, limit: int, site_id: str | None, article_id: str | None, key_id: int, lease_s: float
) -> list[StoredComment]:
    rows = await conn.fetch(QUERIES["claim_reported"], limit, site_id, article_id, key_id, float(lease_s))
    return sorted((StoredComment.from_row(r) for r in rows), key=lambda c: (c.created_at, c.id))


_REPORTED_QUEUES = {
    "oldest": QUERIES["list_reported_queue_oldest"],
    "newest": QUERIES["list_reported_queue_newest"],
    "score": QUERIES["list_reported_queue_score"],
}


async def list_reported_queue(
    conn: Conn,
    *,
    sort: str,
    site_id: str | None,
    article_id: str | None,
    limit: int,
    after: tuple[Any, uuid.UUID] | None,
) -> list[StoredComment]:
    key, last_id = after if after else (None, None)
    rows = await conn.fetch(_REPORTED_QUEUES[sort], site_id, article_id, limit, key, last_id)
    return [StoredComment.from_row(r) for r in rows]


async def reported_stats(conn: Conn, site_id: str | None, article_id: str | None) -> asyncpg.Record:
    return await conn.fetchrow(QUERIES["reported_stats"], site_id, article_id)


# ---------------------------------------------------------------------------------------------
# Webhooks


@dataclass(frozen=True)
class ClaimedWebhook:
    id: uuid.UUID
    site_id: str
    event_type: str
    payload: dict[str, Any]
    attempts: int
    url: str | None
    secret: str | None


async def enqueue_webhook(
    conn: Conn,
    event_id: uuid.UUID,
    site_id: str,
    event_type: str,
    comment_id: uuid.UUID | None,
    payload: dict[str, Any],
) -> None:
    await conn.execute(QUERIES["enqueue_webhook"], event_id, site_id, event_type, comment_id, payload)


async def claim_webhooks(conn: Conn, limit: int, lease_s: float) -> list[ClaimedWebhook]:
    rows = await conn.fetch(QUERIES["claim_webhooks"], limit, float(lease_s))
    return [ClaimedWebhook(**dict(r)) for r in rows]


async def record_webhook_attempt(
    conn: Conn,
    event_id: uuid.UUID,
    attempt: int,
    url: str,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
) -> None:
    await conn.execute(QUERIES["record_webhook_attempt"], event_id, attempt, url, status_code, error, duration_ms)


async def mark_webhook_delivered(conn: Conn, event_id: uuid.UUID, status_code: int) -> None:
    await conn.execute(QUERIES["mark_webhook_delivered"], event_id, status_code)


async def schedule_webhook_retry(
    conn: Conn, event_id: uuid.UUID, delay_s: float, status_code: int | None, error: str | None
) -> None:
    await conn.execute(QUERIES["schedule_webhook_retry"], event_id, float(delay_s), status_code, error)


async def mark_webhook_dead(conn: Conn, event_id: uuid.UUID, status_code: int | None, error: str | None) -> None:
    await conn.execute(QUERIES["mark_webhook_dead"], event_id, status_code, error)


async def list_webhook_deliveries(
    conn: Conn, site_id: str | None, state: str | None, limit: int
) -> list[asyncpg.Record]:
    return await conn.fetch(QUERIES["list_webhook_deliveries"], site_id, state, limit)


async def list_webhook_attempts(conn: Conn, event_ids: list[uuid.UUID]) -> list[asyncpg.Record]:
    return await conn.fetch(QUERIES["list_webhook_attempts"], event_ids)
