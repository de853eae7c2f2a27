"""Thin typed wrappers over the named queries. Each wrapper bears its query's name.

Wrappers take a connection, so the service layer decides transaction boundaries.
Driver errors that carry a constraint name are translated into domain errors here.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from service.db.queries import QUERIES
from service.domain.types import Role, Status

Conn = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy


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
    mode: str
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


async def ensure_article(conn: Conn, site_id: str, article_id: str) -> None:
    await conn.execute(QUERIES["ensure_article"], site_id, article_id)


async def ensure_author(conn: Conn, site_id: str, author_id: str) -> None:
    await conn.execute(QUERIES["ensure_author"], site_id, author_id)


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


async def insert_comment(conn: Conn, new: NewComment) -> StoredComment | None:
    """The stored comment, or None when the (site, external id) pair already exists."""
    max_score = max(new.scores.values(), default=0.0)
    row = await conn.fetchrow(
        QUERIES["insert_comment"],
        new.site_id,
        new.external_id,
        new.article_id,
        new.author_id,
        new.parent_id,
        new.text,
        new.status.value,
        new.scores,
        new.reasons,
        new.spans,
        new.model_version,
        new.author_ip,
        new.user_agent,
        max_score,
    )
    return StoredComment.from_row(row) if row else None


async def get_comment(conn: Conn, comment_id: uuid.UUID) -> StoredComment | None:
    row = await conn.fetchrow(QUERIES["get_comment"], comment_id)
    return StoredComment.from_row(row) if row else None


async def get_comment_by_external_id(conn: Conn, site_id: str, external_id: str) -> StoredComment | None:
    row = await conn.fetchrow(QUERIES["get_comment_by_external_id"], site_id, external_id)
    return StoredComment.from_row(row) if row else None


async def get_parent_comment(conn: Conn, parent_id: uuid.UUID, site_id: str, article_id: str) -> bool:
    return await conn.fetchval(QUERIES["get_parent_comment"], parent_id, site_id, article_id) is not None


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


async def claim_reviews(
    conn: Conn, limit: int, site_id: str | None, article_id: str | None, key_id: int, lease_s: float
) -> list[StoredComment]:
    rows = await conn.fetch(QUERIES["claim_reviews"], limit, site_id, article_id, key_id, float(lease_s))
    return sorted((StoredComment.from_row(r) for r in rows), key=lambda c: (c.created_at, c.id))


async def decide_review(
    conn: Conn, comment_id: uuid.UUID, key_id: int, status: Status
) -> StoredComment | None:
    row = await conn.fetchrow(QUERIES["decide_review"], comment_id, key_id, status.value)
    return StoredComment.from_row(row) if row else None


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


async def register_model_version(
    conn: Conn, version: str, manifest: dict[str, Any], sha256: str | None
) -> None:
    await conn.execute(QUERIES["register_model_version"], version, manifest, sha256)


async def ping(conn: Conn) -> None:
    await conn.fetchval(QUERIES["ping"])
