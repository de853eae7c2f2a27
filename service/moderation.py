"""The service layer: one function per use case. Handlers call these; these call the store.

Transaction boundaries live here. Nothing in this module knows about HTTP.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from service.db import store
from service.domain.policy import PolicyInput, decide
from service.domain.types import ArticleMode, Decision, Principal, Status
from service.errors import (
    AlreadyDecided,
    ArticleClosed,
    Forbidden,
    InvalidReference,
    LeaseNotHeld,
    NotFound,
)
from service.ml.scorer import Scored, Scorer

DEFAULT_SITE = "default"


@dataclass(frozen=True)
class Submission:
    article_id: str
    author_id: str
    text: str
    site_id: str | None = None
    external_id: str | None = None
    parent_id: uuid.UUID | None = None
    author_ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class Submitted:
    comment: store.StoredComment
    created: bool  # False: an earlier submission with the same external id was returned


@dataclass(frozen=True)
class ScoreResult:
    scored: Scored
    decision: Decision


@dataclass(frozen=True)
class CommentWithHistory:
    comment: store.StoredComment
    history: list[store.StoredEvent]


@dataclass(frozen=True)
class QueuePage:
    items: list[store.StoredComment]
    next_cursor: str | None


def resolve_site(principal: Principal, site_id: str | None) -> str:
    """The site a request acts on; a key bound to a site may act on that site only."""
    if principal.site_id is not None:
        if site_id is not None and site_id != principal.site_id:
            raise Forbidden("this key may only act on its own site", field="site_id")
        return principal.site_id
    return site_id or DEFAULT_SITE


def _visible(principal: Principal, comment: store.StoredComment | None) -> store.StoredComment:
    if comment is None or (principal.site_id is not None and comment.site_id != principal.site_id):
        raise NotFound("no such comment")
    return comment


async def submit_comment(
    pool: asyncpg.Pool, scorer: Scorer, principal: Principal, sub: Submission
) -> Submitted:
    """Score, decide and store a comment; a repeated (site, external id) returns the first result."""
    site_id = resolve_site(principal, sub.site_id)
    if sub.external_id is not None:
        async with pool.acquire() as conn:
            existing = await store.get_comment_by_external_id(conn, site_id, sub.external_id)
        if existing is not None:
            return Submitted(existing, created=False)

    async with pool.acquire() as conn:
        article = await store.get_article(conn, site_id, sub.article_id)
    mode = ArticleMode(article.mode) if article else ArticleMode.POSTMOD
    if mode is ArticleMode.CLOSED:
        raise ArticleClosed("this article is closed for comments", field="article_id")

    scored = await scorer.score(sub.text)
    decision = decide(PolicyInput(scores=scored.scores, thresholds=scorer.thresholds, mode=mode))
    spans = await scorer.explain(sub.text, scored) if decision.status is not Status.APPROVED else []
    reasons = [r.as_dict() for r in decision.reasons]

    async with pool.acquire() as conn, conn.transaction():
        await store.ensure_site(conn, site_id)
        await store.ensure_article(conn, site_id, sub.article_id)
        await store.ensure_author(conn, site_id, sub.author_id)
        if sub.parent_id is not None and not await store.get_parent_comment(
            conn, sub.parent_id, site_id, sub.article_id
        ):
            raise InvalidReference("parent comment not found on this article", field="parent_id")
        comment = await store.insert_comment(
            conn,
            store.NewComment(
                site_id=site_id,
                external_id=sub.external_id,
                article_id=sub.article_id,
                author_id=sub.author_id,
                parent_id=sub.parent_id,
                text=sub.text,
                status=decision.status,
                scores=scored.scores,
                reasons=reasons,
                spans=spans,
                model_version=scored.model_version,
                author_ip=sub.author_ip,
                user_agent=sub.user_agent,
            ),
        )
        if comment is None:
            # A concurrent request with the same external id committed first: answer with its result.
            assert sub.external_id is not None
            existing = await store.get_comment_by_external_id(conn, site_id, sub.external_id)
            assert existing is not None
            return Submitted(existing, created=False)
        await store.insert_comment_event(
            conn,
            comment.id,
            actor_kind="system",
            actor_name=f"model:{scored.model_version}",
            action="created",
            from_status=None,
            to_status=decision.status.value,
            reasons=reasons,
            details={"submitted_by": principal.name, "mode": mode.value},
        )
        if decision.status is not Status.PENDING:
            await store.count_author_decision(conn, site_id, sub.author_id, decision.status)
    return Submitted(comment, created=True)


async def get_comment(pool: asyncpg.Pool, principal: Principal, comment_id: uuid.UUID) -> CommentWithHistory:
    async with pool.acquire() as conn:
        comment = _visible(principal, await store.get_comment(conn, comment_id))
        history = await store.list_comment_events(conn, comment_id)
    return CommentWithHistory(comment, history)


async def score_text(scorer: Scorer, text: str) -> ScoreResult:
    """Score without storing: what the policy would decide on a postmod article, and why."""
    scored = await scorer.score(text)
    decision = decide(PolicyInput(scores=scored.scores, thresholds=scorer.thresholds))
    spans = await scorer.explain(text, scored)
    return ScoreResult(Scored(scored.scores, spans, scored.model_version), decision)


async def set_article_mode(
    pool: asyncpg.Pool,
    principal: Principal,
    *,
    site_id: str | None,
    article_id: str,
    mode: ArticleMode,
    title: str | None,
    url: str | None,
) -> store.StoredArticle:
    site = resolve_site(principal, site_id)
    async with pool.acquire() as conn, conn.transaction():
        await store.ensure_site(conn, site)
        return await store.upsert_article(conn, site, article_id, mode.value, title, url)


async def claim_reviews(
    pool: asyncpg.Pool,
    principal: Principal,
    *,
    limit: int,
    site_id: str | None,
    article_id: str | None,
    lease_s: float,
) -> list[store.StoredComment]:
    """Lease up to ``limit`` pending comments to the caller, oldest first."""
    site = principal.site_id if principal.site_id is not None else site_id
    if principal.site_id is not None and site_id not in (None, principal.site_id):
        raise Forbidden("this key may only act on its own site", field="site_id")
    async with pool.acquire() as conn:
        return await store.claim_reviews(conn, limit, site, article_id, principal.key_id, lease_s)


async def decide_review(
    pool: asyncpg.Pool,
    principal: Principal,
    comment_id: uuid.UUID,
    *,
    approve: bool,
    reason: str | None,
) -> store.StoredComment:
    """Settle a leased pending comment; only the lease holder may, and only once."""
    status = Status.APPROVED if approve else Status.REJECTED
    async with pool.acquire() as conn, conn.transaction():
        decided = await store.decide_review(conn, comment_id, principal.key_id, status)
        if decided is None:
            current = _visible(principal, await store.get_comment(conn, comment_id))
            if current.status is not Status.PENDING:
                raise AlreadyDecided(f"comment is already {current.status.value}")
            raise LeaseNotHeld("claim the comment first; another moderator or no one holds it")
        _visible(principal, decided)
        reasons = [{"code": "moderator_decision", "message": reason or f"{status.value} by a moderator"}]
        await store.insert_comment_event(
            conn,
            comment_id,
            actor_kind=principal.role.value,
            actor_name=principal.name,
            action="decided",
            from_status=Status.PENDING.value,
            to_status=status.value,
            reasons=reasons,
            details={"reason": reason, "model_version": decided.model_version, "scores": decided.scores},
        )
        await store.count_author_decision(conn, decided.site_id, decided.author_id, status)
    return decided


# Queue sorts and the column each keyset cursor is built on.
QUEUE_SORTS = ("oldest", "newest", "score")


def encode_cursor(sort: str, comment: store.StoredComment) -> str:
    key: Any = comment.max_score if sort == "score" else comment.created_at.isoformat()
    raw = json.dumps([sort, key, str(comment.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(sort: str, cursor: str) -> tuple[Any, uuid.UUID]:
    """Parse a cursor made by ``encode_cursor`` for the same sort; ValueError on anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, key, last_id = json.loads(raw)
        if cursor_sort != sort:
            raise ValueError("cursor belongs to another sort order")
        parsed_key: Any = float(key) if sort == "score" else dt.datetime.fromisoformat(key)
        return parsed_key, uuid.UUID(last_id)
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError("invalid cursor") from exc


async def list_queue(
    pool: asyncpg.Pool,
    principal: Principal,
    *,
    sort: str,
    site_id: str | None,
    article_id: str | None,
    limit: int,
    cursor: str | None,
) -> QueuePage:
    if principal.site_id is not None:
        site_id = resolve_site(principal, site_id)
    after = decode_cursor(sort, cursor) if cursor else None
    async with pool.acquire() as conn:
        items = await store.list_review_queue(
            conn, sort=sort, site_id=site_id, article_id=article_id, limit=limit + 1, after=after
        )
    has_more = len(items) > limit
    items = items[:limit]
    return QueuePage(items, encode_cursor(sort, items[-1]) if has_more and items else None)


async def queue_stats(
    pool: asyncpg.Pool, principal: Principal, *, site_id: str | None, article_id: str | None
) -> dict[str, Any]:
    if principal.site_id is not None:
        site_id = resolve_site(principal, site_id)
    async with pool.acquire() as conn:
        row = await store.review_stats(conn, site_id, article_id)
    return {"depth": row["depth"], "leased": row["leased"], "oldest_age_s": round(row["oldest_age_s"], 3)}
