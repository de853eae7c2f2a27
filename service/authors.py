"""Authors: moderator actions on an author's standing, their history, erasure and text retention."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
from aiohttp import web

from service import webhooks
from service.appkeys import POOL, SETTINGS
from service.db import store
from service.domain.rules import Standing
from service.domain.types import Principal
from service.errors import InvalidReference, NotFound
from service.moderation import PolicyTools, resolve_site
from service.sites import load_site

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuthorView:
    author: store.StoredAuthor
    history: list[store.StoredAuthorEvent]


@dataclass(frozen=True)
class StandingChange:
    standing: Standing
    reason: str | None = None
    suspended_until: dt.datetime | None = None  # SUSPENDED only
    reject_pending: bool = False  # BANNED only


# The history action recorded for each new standing.
ACTIONS = {
    Standing.BANNED: "banned",
    Standing.SUSPENDED: "suspended",
    Standing.ALWAYS_REVIEW: "always_review",
    Standing.TRUSTED: "trusted",
    Standing.ACTIVE: "reinstated",
}


async def get_author(pool: asyncpg.Pool, principal: Principal, author_id: str, site_id: str | None) -> AuthorView:
    site = resolve_site(principal, site_id)
    async with pool.acquire() as conn:
        author = await store.get_author(conn, site, author_id)
        if author is None:
            raise NotFound("no such author")
        history = await store.list_author_events(conn, site, author_id)
    return AuthorView(author, history)


async def change_standing(
    pool: asyncpg.Pool,
    principal: Principal,
    author_id: str,
    site_id: str | None,
    change: StandingChange,
    tools: PolicyTools | None = None,
) -> tuple[AuthorView, int]:
    """Set an author's standing, log it, and for a ban optionally reject their pending comments.

    Returns the author and how many pending comments were rejected.
    """
    site = resolve_site(principal, site_id)
    now = dt.datetime.now(dt.UTC)
    if change.standing is Standing.SUSPENDED and (change.suspended_until is None or change.suspended_until <= now):
        raise InvalidReference("a suspension needs an end in the future", field="until")
    until = change.suspended_until if change.standing is Standing.SUSPENDED else None
    rejected: list[store.StoredComment] = []
    async with pool.acquire() as conn, conn.transaction():
        await store.ensure_site(conn, site)
        author, before = await store.set_author_standing(conn, site, author_id, change.standing.value, until)
        details: dict[str, object] = {"reason": change.reason}
        if until is not None:
            details["until"] = until.isoformat()
        if change.standing is Standing.BANNED and change.reject_pending:
            reasons = [
                {
                    "code": "author_banned_pending_rejected",
                    "message": change.reason or "rejected with the author's ban",
                }
            ]
            rejected = await store.reject_pending_by_author(conn, site, author_id, reasons)
            policy = (await load_site(conn, site)).policy
            for comment in rejected:
                await store.insert_comment_event(
                    conn,
                    comment.id,
                    actor_kind=principal.role.value,
                    actor_name=principal.name,
                    action="decided",
                    from_status="pending",
                    to_status="rejected",
                    reasons=reasons,
                    details={"reason": change.reason, "via": "author_ban"},
                )
                await store.settle_reports(conn, comment.id, comment.status)
                await store.count_author_decision(conn, site, author_id, comment.status)
                await webhooks.enqueue_status(conn, policy, comment)
            details["rejected_pending"] = len(rejected)
        await store.insert_author_event(
            conn,
            site,
            author_id,
            actor_kind=principal.role.value,
            actor_name=principal.name,
            action=ACTIONS[change.standing],
            from_standing=before,
            to_standing=change.standing.value,
            details=details,
        )
        author = await store.get_author(conn, site, author_id) or author
        history = await store.list_author_events(conn, site, author_id)
    if rejected and tools is not None:
        tools.on_event()
    return AuthorView(author, history), len(rejected)


async def erase_author(pool: asyncpg.Pool, principal: Principal, author_id: str, site_id: str | None) -> int:
    """Erase an author: their comments' text, earlier versions, IPs and user agents are removed and
    their id is replaced by an anonymous one everywhere; counts and decisions stay. Returns how
    many comments were erased."""
    site = resolve_site(principal, site_id)
    anonymous = f"erased-{uuid.uuid4().hex}"
    async with pool.acquire() as conn, conn.transaction():
        if not await store.rename_author(conn, site, author_id, anonymous):
            raise NotFound("no such author")
        erased = await store.erase_author_comment_texts(conn, site, anonymous)
        await store.delete_author_revisions(conn, site, anonymous)
        await store.forget_reporter(conn, site, author_id)
        await store.scrub_webhook_author(conn, site, author_id, anonymous)
        await store.insert_author_event(
            conn,
            site,
            anonymous,
            actor_kind=principal.role.value,
            actor_name=principal.name,
            action="erased",
            from_standing=None,
            to_standing=Standing.ACTIVE.value,
            details={"comments_erased": erased},
        )
    return erased


async def purge_expired_texts(pool: asyncpg.Pool) -> int:
    """Erase the text of rejected comments older than their site's ``retention_days``; returns how many."""
    async with pool.acquire() as conn, conn.transaction():
        purged = await store.purge_expired_rejected_texts(conn)
        if purged:
            await store.delete_revisions_of(conn, purged)
    return len(purged)


async def retention_context(app: web.Application) -> AsyncIterator[None]:
    """Purge expired texts now and then, in the background, for as long as the app runs."""

    async def loop() -> None:
        while True:
            try:
                purged = await purge_expired_texts(app[POOL])
                if purged:
                    log.info("retention: erased the text of %d rejected comments", purged)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep purging later even if the database is down now
                log.warning("retention purge failed: %s", exc.__class__.__name__)
            await asyncio.sleep(app[SETTINGS].retention_interval_s)

    task = asyncio.create_task(loop(), name="retention")
    yield
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
