"""The moderator's workbench, service layer: leases, bulk decisions, undo, comment context, dashboard.

Transaction boundaries live here; handlers call one function each; nothing here knows about HTTP.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import asyncpg

from service import webhooks
from service.db import store
from service.domain.review import UNDONE, LastDecision, UndoRefusal, rate, series_bucket_s, undo_refusal
from service.domain.types import Principal, Status
from service.domain.webhooks import status_event
from service.errors import Forbidden, NotFound, UndoNotAllowed, UndoWindowPassed
from service.moderation import resolve_site
from service.sites import load_site

# How many of an author's other comments the comment card shows.
AUTHOR_RECENT_LIMIT = 10


def _site_scope(principal: Principal, site_id: str | None) -> str | None:
    """The site filter a request may use: its own site for a site-bound key, else what it asked (or all)."""
    if principal.site_id is not None:
        return resolve_site(principal, site_id)
    return site_id


def _visible(principal: Principal, site_id: str) -> bool:
    return principal.site_id is None or principal.site_id == site_id


async def extend_leases(
    pool: asyncpg.Pool, principal: Principal, ids: list[uuid.UUID], lease_s: float
) -> list[store.LeaseExtended]:
    """Keep holding the comments the caller still works on; those it no longer holds are left out."""
    async with pool.acquire() as conn:
        return await store.extend_leases(conn, ids, principal.key_id, lease_s)


async def release_leases(pool: asyncpg.Pool, principal: Principal, ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """Give back comments the caller holds but will not decide, so other moderators get them now."""
    async with pool.acquire() as conn:
        return await store.release_leases(conn, ids, principal.key_id)


@dataclass(frozen=True)
class BulkOutcome:
    matched: int  # pending comments the selection covered when the request ran
    decided: list[uuid.UUID]
    as_of: dt.datetime  # pass back as created_before to decide exactly what was previewed
    dry_run: bool
    webhooks_queued: bool = False


async def _announce(conn: store.Conn, ids: list[uuid.UUID]) -> bool:
    """Queue the status-change webhook events of these comments (sites without a webhook get none),
    in a constant number of statements however many comments there are."""
    if not ids:
        return False
    comments = await store.get_comments_by_ids(conn, ids)
    policies = {site_id: (await load_site(conn, site_id)).policy for site_id in {c.site_id for c in comments}}
    events = [
        event
        for c in sorted(comments, key=lambda c: (c.created_at, c.id))
        if (event := webhooks.new_event(policies[c.site_id], c, status_event(c.status))) is not None
    ]
    if events:
        await store.enqueue_webhooks(conn, events)
    return bool(events)


async def bulk_decide(
    pool: asyncpg.Pool,
    principal: Principal,
    *,
    ids: list[uuid.UUID] | None,
    site_id: str | None,
    article_id: str | None,
    created_before: dt.datetime | None,
    approve: bool,
    reason: str | None,
    limit: int,
    dry_run: bool,
) -> BulkOutcome:
    """Approve or reject many pending comments in one transaction and one statement.

    Comments another moderator holds are skipped (their lease is their work), as are those being
    decided by a concurrent transaction. ``dry_run`` only counts, for a confirmation dialog.
    """
    status = Status.APPROVED if approve else Status.REJECTED
    sel = store.BulkSelection(ids, _site_scope(principal, site_id), article_id, created_before)
    async with pool.acquire() as conn, conn.transaction():
        matched, as_of = await store.count_bulk_candidates(conn, sel, principal.key_id)
        if dry_run:
            return BulkOutcome(matched, [], as_of, True)
        reasons = [{"code": "moderator_decision", "message": reason or f"{status.value} by a moderator (bulk)"}]
        decided = await store.bulk_decide(
            conn,
            sel,
            key_id=principal.key_id,
            limit=limit,
            status=status,
            actor_kind=principal.role.value,
            actor_name=principal.name,
            reasons=reasons,
            reason=reason,
        )
        queued = await _announce(conn, decided)
    return BulkOutcome(matched, decided, as_of, False, queued)


@dataclass(frozen=True)
class Reopened:
    comment: store.StoredComment
    webhooks_queued: bool


async def undo_decision(
    pool: asyncpg.Pool, principal: Principal, comment_id: uuid.UUID, *, window_s: float, lease_s: float
) -> Reopened:
    """Put a comment the caller decided moments ago back in the queue, leased to the caller."""
    async with pool.acquire() as conn, conn.transaction():
        target = await store.lock_comment_for_undo(conn, comment_id)
        if target is None or not _visible(principal, target.site_id):
            raise NotFound("no such comment")
        refusal = undo_refusal(
            LastDecision(target.status, target.decided_at, target.action, target.details),
            key_id=principal.key_id,
            now=target.now,
            window_s=window_s,
        )
        if refusal is UndoRefusal.NOT_YOURS:
            raise Forbidden("only the moderator who decided may undo the decision")
        if refusal is UndoRefusal.WINDOW_PASSED:
            raise UndoWindowPassed(f"decisions can be undone for {window_s:g} seconds")
        if refusal is not None:
            raise UndoNotAllowed(
                "nothing to undo: the comment is pending"
                if refusal is UndoRefusal.NOT_DECIDED
                else "the latest change was not a moderator's decision"
            )
        reopened = await store.reopen_comment(conn, comment_id, principal.key_id, lease_s)
        await store.insert_comment_event(
            conn,
            comment_id,
            actor_kind=principal.role.value,
            actor_name=principal.name,
            action=UNDONE,
            from_status=target.status.value,
            to_status=Status.PENDING.value,
            reasons=[{"code": "decision_undone", "message": f"{target.status.value} decision undone"}],
            details={"key_id": principal.key_id, "undid_event_id": target.event_id},
        )
        await store.uncount_author_decision(conn, target.site_id, target.author_id, target.status)
        queued = await _announce(conn, [comment_id])
    return Reopened(reopened, queued)


@dataclass(frozen=True)
class AuthorHistory:
    author: store.StoredAuthor | None
    recent: list[store.AuthorComment]
    approval_rate: float | None
    actions: list[store.StoredAuthorEvent]  # moderator actions on the author (bans, suspensions...), newest first


@dataclass(frozen=True)
class CommentContext:
    comment: store.StoredComment
    article: store.StoredArticle | None
    parent: store.StoredComment | None
    author: AuthorHistory


async def comment_context(pool: asyncpg.Pool, principal: Principal, comment_id: uuid.UUID) -> CommentContext:
    """Everything a moderator weighs beside the text: the article, the parent, the author's record."""
    async with pool.acquire() as conn:
        comment = await store.get_comment(conn, comment_id)
        if comment is None or not _visible(principal, comment.site_id):
            raise NotFound("no such comment")
        article = await store.get_article(conn, comment.site_id, comment.article_id)
        parent = await store.get_comment(conn, comment.parent_id) if comment.parent_id else None
        author = await store.get_author(conn, comment.site_id, comment.author_id)
        recent = await store.list_author_comments(
            conn, comment.site_id, comment.author_id, comment.id, AUTHOR_RECENT_LIMIT
        )
        actions = await store.list_author_events(conn, comment.site_id, comment.author_id)
    approval = rate(author.approved_count, author.approved_count + author.rejected_count) if author else None
    history = AuthorHistory(author, recent, approval, actions[::-1][:AUTHOR_RECENT_LIMIT])
    return CommentContext(comment, article, parent, history)


@dataclass(frozen=True)
class Dashboard:
    hours: int
    days: int
    bucket_s: int
    queue: list[store.QueuePoint]
    decisions: list[store.ModeratorDay]
    overturns: list[store.OverturnCount]


async def dashboard(
    pool: asyncpg.Pool,
    principal: Principal,
    *,
    site_id: str | None,
    hours: int,
    days: int,
    sample_interval_s: int,
) -> Dashboard:
    """Queue depth and oldest age over ``hours``; decisions and overturns of the model over ``days``."""
    site = _site_scope(principal, site_id)
    bucket_s = series_bucket_s(hours, sample_interval_s)
    async with pool.acquire() as conn:
        queue = await store.dashboard_queue_series(conn, hours, bucket_s, site)
        decisions = await store.dashboard_decisions_per_moderator(conn, days, site)
        overturns = await store.dashboard_overturns(conn, days, site)
    return Dashboard(hours, days, bucket_s, queue, decisions, overturns)


async def record_queue_snapshot(pool: asyncpg.Pool, *, interval_s: int, keep_days: int) -> None:
    """Sample every site's queue into the current bucket and forget samples past ``keep_days``."""
    async with pool.acquire() as conn:
        await store.record_queue_snapshot(conn, interval_s)
        await store.prune_queue_snapshots(conn, keep_days)
