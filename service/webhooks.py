"""Webhooks: events written to an outbox in the transaction of the change they announce, and a
background deliverer that signs and posts them with retries.

Delivery is at-least-once: a receiver may see an event twice (a crash after its 2xx but before
the outcome was recorded), so receivers deduplicate by the event id, which never changes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web

from service.appkeys import METRICS, POOL, SETTINGS, WEBHOOK_WAKE
from service.db import store
from service.domain.reasons import public_message
from service.domain.rules import SitePolicy
from service.domain.types import Principal, Status
from service.domain.webhooks import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    retry_delay,
    sign,
    status_event,
)
from service.settings import Settings

log = logging.getLogger(__name__)


def comment_payload(comment: store.StoredComment) -> dict[str, Any]:
    """What receivers learn about a comment: ids, status and reasons; never its text."""
    return {
        "id": str(comment.id),
        "external_id": comment.external_id,
        "site_id": comment.site_id,
        "article_id": comment.article_id,
        "author_id": comment.author_id,
        "status": comment.status.value,
        "version": comment.version,
        "report_count": comment.report_count,
        "reasons": [{"code": r["code"], "public_message": public_message(r["code"])} for r in comment.reasons],
    }


async def enqueue(
    conn: store.Conn,
    site: SitePolicy,
    comment: store.StoredComment,
    event_type: str,
    extra: dict[str, Any] | None = None,
) -> uuid.UUID | None:
    """Queue an event for the comment's site when it has a webhook; call inside the change's transaction."""
    event = new_event(site, comment, event_type, extra)
    if event is None:
        return None
    await store.enqueue_webhook(conn, event.id, event.site_id, event.event_type, event.comment_id, event.payload)
    return event.id


def enabled(site: SitePolicy) -> bool:
    """Whether the site sends webhooks (an address and a signing secret are set)."""
    return bool(site.webhook_url and site.webhook_secret)


def new_event(
    site: SitePolicy, comment: store.StoredComment, event_type: str, extra: dict[str, Any] | None = None
) -> store.NewWebhook | None:
    """The event announcing a change to ``comment``, or None when its site has no webhook."""
    if not enabled(site):
        return None
    event_id = uuid.uuid4()
    payload = {
        "id": str(event_id),
        "type": event_type,
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "data": {"comment": comment_payload(comment), **(extra or {})},
    }
    return store.NewWebhook(event_id, comment.site_id, event_type, comment.id, payload)


async def enqueue_status(conn: store.Conn, site: SitePolicy, comment: store.StoredComment) -> uuid.UUID | None:
    return await enqueue(conn, site, comment, status_event(Status(comment.status)))


def status_webhook(site: SitePolicy, comment: store.StoredComment) -> store.NewWebhook | None:
    """The event announcing the comment's current status, or None when its site has no webhook."""
    return new_event(site, comment, status_event(Status(comment.status)))


@dataclass(frozen=True)
class DeliveryOutcome:
    delivered: bool
    status_code: int | None
    error: str | None


async def post_event(
    http: aiohttp.ClientSession, url: str, secret: str, event: store.ClaimedWebhook, timeout_s: float
) -> DeliveryOutcome:
    """One signed POST; any 2xx counts as delivered."""
    body = json.dumps(event.payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(secret, int(time.time()), body),
        EVENT_ID_HEADER: str(event.id),
        EVENT_TYPE_HEADER: event.event_type,
        "User-Agent": "comment-moderation-webhooks/1",
    }
    try:
        async with http.post(
            url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout_s), allow_redirects=False
        ) as resp:
            await resp.read()
            if 200 <= resp.status < 300:
                return DeliveryOutcome(True, resp.status, None)
            return DeliveryOutcome(False, resp.status, f"HTTP {resp.status}")
    except (aiohttp.ClientError, TimeoutError) as exc:
        return DeliveryOutcome(False, None, exc.__class__.__name__)


async def deliver_due(
    pool: asyncpg.Pool,
    http: aiohttp.ClientSession,
    settings: Settings,
    on_outcome: Callable[[str], None] | None = None,
) -> int:
    """Claim due events and attempt each once; returns how many were attempted.

    ``on_outcome`` hears each attempt's outcome (delivered, retry, dead) once it is recorded: the
    metrics counter ``moderation_webhook_deliveries_total``.
    """
    async with pool.acquire() as conn:
        claimed = await store.claim_webhooks(conn, settings.webhook_batch, settings.webhook_claim_lease_s)
    if not claimed:
        return 0
    outcomes = await asyncio.gather(*(_attempt(pool, http, settings, event) for event in claimed))
    if on_outcome is not None:
        for outcome in outcomes:
            on_outcome(outcome)
    return len(claimed)


async def _attempt(
    pool: asyncpg.Pool, http: aiohttp.ClientSession, settings: Settings, event: store.ClaimedWebhook
) -> str:
    started = time.perf_counter()
    if not event.url or not event.secret:
        outcome = DeliveryOutcome(False, None, "the site has no webhook url or secret")
    else:
        outcome = await post_event(http, event.url, event.secret, event, settings.webhook_timeout_s)
    duration_ms = int((time.perf_counter() - started) * 1000)
    async with pool.acquire() as conn, conn.transaction():
        await store.record_webhook_attempt(
            conn, event.id, event.attempts, event.url or "", outcome.status_code, outcome.error, duration_ms
        )
        if outcome.delivered:
            assert outcome.status_code is not None
            await store.mark_webhook_delivered(conn, event.id, outcome.status_code)
            return "delivered"
        if event.attempts >= settings.webhook_max_attempts:
            await store.mark_webhook_dead(conn, event.id, outcome.status_code, outcome.error)
            log.warning("webhook %s dead after %d attempts: %s", event.id, event.attempts, outcome.error)
            return "dead"
        delay = retry_delay(
            event.attempts, base_s=settings.webhook_backoff_base_s, cap_s=settings.webhook_backoff_max_s
        )
        await store.schedule_webhook_retry(conn, event.id, delay, outcome.status_code, outcome.error)
        return "retry"


async def delivery_loop(app: web.Application) -> None:
    """Deliver until cancelled: poll for due events, or wake early when this instance queued one."""
    settings, pool, wake = app[SETTINGS], app[POOL], app[WEBHOOK_WAKE]
    deliveries = app[METRICS].webhook_deliveries

    def count(outcome: str) -> None:
        deliveries.labels(outcome=outcome).inc()

    async with aiohttp.ClientSession() as http:
        while True:
            try:
                attempted = await deliver_due(pool, http, settings, count)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database may be down: keep the loop alive and try later
                log.warning("webhook delivery round failed: %s", exc.__class__.__name__)
                attempted = 0
            if attempted:
                continue
            wake.clear()
            try:
                await asyncio.wait_for(wake.wait(), timeout=settings.webhook_poll_s)
            except TimeoutError:
                pass


async def webhook_context(app: web.Application) -> AsyncIterator[None]:
    """The deliverer as a cleanup context: started with the app, cancelled when it stops."""
    app[WEBHOOK_WAKE] = asyncio.Event()
    task = asyncio.create_task(delivery_loop(app), name="webhook-delivery")
    yield
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass


def wake_deliverer(app: web.Application) -> None:
    """Tell this instance's deliverer that an event was just committed."""
    event = app.get(WEBHOOK_WAKE)
    if event is not None:
        event.set()


async def list_deliveries(
    pool: asyncpg.Pool, principal: Principal, *, site_id: str | None, state: str | None, limit: int
) -> list[dict[str, Any]]:
    """Recent events with their delivery log, newest first."""
    if principal.site_id is not None:
        site_id = principal.site_id
    async with pool.acquire() as conn:
        events = await store.list_webhook_deliveries(conn, site_id, state, limit)
        attempts = await store.list_webhook_attempts(conn, [e["id"] for e in events])
    by_event: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for a in attempts:
        by_event.setdefault(a["event_id"], []).append({k: a[k] for k in a.keys() if k != "event_id"})
    return [{**dict(e), "log": by_event.get(e["id"], [])} for e in events]
