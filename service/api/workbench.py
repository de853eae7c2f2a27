"""HTTP handlers of the moderator's workbench: thin, one service call each."""

from __future__ import annotations

import json

from aiohttp import web

from service import workbench
from service.api.handlers import body, path_uuid, principal, query, queue_item, respond
from service.api.schemas import (
    BulkIn,
    BulkOut,
    ContextArticleOut,
    ContextAuthorActionOut,
    ContextAuthorCommentOut,
    ContextAuthorOut,
    ContextOut,
    ContextParentOut,
    DashboardOut,
    DashboardQuery,
    ExtendOut,
    LeaseIdsIn,
    LeaseOut,
    ModeratorDayOut,
    OverturnOut,
    OverturnsOut,
    QueuePointOut,
    ReleaseOut,
    StatsOut,
    WhoAmIOut,
)
from service.appkeys import HUB, POOL, SETTINGS
from service.domain.review import rate
from service.live import LiveEvent
from service.moderation import queue_stats
from service.webhooks import wake_deliverer

# Standings that restrict an author, shown as sanctions on the comment card.
SANCTIONS = ("banned", "suspended", "always_review")


async def get_whoami(request: web.Request) -> web.Response:
    who = principal(request)
    settings = request.app[SETTINGS]
    return respond(
        WhoAmIOut(
            name=who.name,
            role=who.role.value,
            site_id=who.site_id,
            lease_s=settings.review_lease_s,
            claim_max=settings.review_claim_max,
            undo_window_s=settings.review_undo_window_s,
            bulk_max=settings.review_bulk_max,
            reject_reasons=settings.review_reject_reasons,
        )
    )


async def post_extend_leases(request: web.Request) -> web.Response:
    data = await body(request, LeaseIdsIn)
    extended = await workbench.extend_leases(
        request.app[POOL], principal(request), data.ids, request.app[SETTINGS].review_lease_s
    )
    return respond(ExtendOut(extended=[LeaseOut(id=e.id, lease_expires_at=e.lease_expires_at) for e in extended]))


async def post_release_leases(request: web.Request) -> web.Response:
    data = await body(request, LeaseIdsIn)
    released = await workbench.release_leases(request.app[POOL], principal(request), data.ids)
    return respond(ReleaseOut(released=released))


async def post_bulk(request: web.Request) -> web.Response:
    data = await body(request, BulkIn)
    flt = data.filter
    outcome = await workbench.bulk_decide(
        request.app[POOL],
        principal(request),
        ids=data.ids,
        site_id=flt.site_id if flt else None,
        article_id=flt.article_id if flt else None,
        created_before=flt.created_before if flt else None,
        approve=data.decision == "approve",
        reason=data.reason,
        limit=request.app[SETTINGS].review_bulk_max,
        dry_run=data.dry_run,
    )
    if outcome.webhooks_queued:
        wake_deliverer(request.app)
    return respond(
        BulkOut(
            dry_run=outcome.dry_run,
            decision=data.decision,
            matched=outcome.matched,
            decided=len(outcome.decided),
            skipped=0 if outcome.dry_run else outcome.matched - len(outcome.decided),
            ids=outcome.decided if data.ids is not None else [],
            as_of=outcome.as_of,
        )
    )


async def post_undo(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    reopened = await workbench.undo_decision(
        request.app[POOL],
        principal(request),
        path_uuid(request),
        window_s=settings.review_undo_window_s,
        lease_s=settings.review_lease_s,
    )
    if reopened.webhooks_queued:
        wake_deliverer(request.app)
    return respond(queue_item(reopened.comment))


async def get_context(request: web.Request) -> web.Response:
    ctx = await workbench.comment_context(request.app[POOL], principal(request), path_uuid(request))
    c, author = ctx.comment, ctx.author.author
    out = ContextOut(
        comment=queue_item(c),
        article=ContextArticleOut(
            id=c.article_id,
            title=ctx.article.title if ctx.article else None,
            url=ctx.article.url if ctx.article else None,
            mode=ctx.article.mode if ctx.article else None,
        ),
        parent=ContextParentOut.model_validate(ctx.parent, from_attributes=True) if ctx.parent else None,
        author=ContextAuthorOut(
            id=c.author_id,
            standing=author.standing if author else "active",
            suspended_until=author.suspended_until if author else None,
            approved_count=author.approved_count if author else 0,
            rejected_count=author.rejected_count if author else 0,
            approval_rate=ctx.author.approval_rate,
            first_seen=author.created_at if author else None,
            sanctions=[author.standing] if author and author.standing in SANCTIONS else [],
            recent=[ContextAuthorCommentOut.model_validate(r, from_attributes=True) for r in ctx.author.recent],
            actions=[
                ContextAuthorActionOut(
                    at=e.at,
                    actor_name=e.actor_name,
                    action=e.action,
                    to_standing=e.to_standing,
                    reason=(e.details or {}).get("reason"),
                )
                for e in ctx.author.actions
            ],
        ),
    )
    return respond(out)


async def get_dashboard(request: web.Request) -> web.Response:
    q = query(request, DashboardQuery)
    who = principal(request)
    pool = request.app[POOL]
    board = await workbench.dashboard(
        pool,
        who,
        site_id=q.site_id,
        hours=q.hours,
        days=q.days,
        sample_interval_s=request.app[SETTINGS].queue_snapshot_interval_s,
    )
    now = await queue_stats(pool, who, site_id=q.site_id, article_id=None)

    def overturn(dimension: str) -> list[OverturnOut]:
        return [
            OverturnOut(key=o.key, decided=o.decided, overturned=o.overturned, rate=rate(o.overturned, o.decided))
            for o in board.overturns
            if o.dimension == dimension
        ]

    overall = overturn("all") or [OverturnOut(key="all", decided=0, overturned=0, rate=None)]
    return respond(
        DashboardOut(
            hours=board.hours,
            days=board.days,
            bucket_s=board.bucket_s,
            now=StatsOut(**now),
            queue=[QueuePointOut(at=p.at, depth=p.depth, oldest_age_s=p.oldest_age_s) for p in board.queue],
            decisions=[ModeratorDayOut.model_validate(d, from_attributes=True) for d in board.decisions],
            overturns=OverturnsOut(
                overall=overall[0],
                by_label=overturn("label"),
                by_model_reason=overturn("model_reason"),
                by_moderator_reason=overturn("moderator_reason"),
            ),
        )
    )


def _sse(event: LiveEvent) -> bytes:
    return f"event: {event.kind}\ndata: {json.dumps(event.data, separators=(',', ':'))}\n\n".encode()


async def get_events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: ``queue`` when the review queue changes, ``resync`` when the page should
    re-read everything, a comment line as heartbeat. Read it with fetch() and the bearer header."""
    hub = request.app[HUB]
    heartbeat = request.app[SETTINGS].live_heartbeat_s
    sub = hub.subscribe(principal(request).site_id)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    try:
        await response.prepare(request)
        # retry: how long a reconnecting client waits; hello: whether the database listener is up.
        await response.write(b"retry: 3000\n" + _sse(LiveEvent("hello", {"live": hub.connected.is_set()})))
        while True:
            event = await sub.next(heartbeat)
            if event is None:
                await response.write(b": heartbeat\n\n")
            elif event.kind == "closed":
                break
            else:
                await response.write(_sse(event))
    except (ConnectionResetError, ConnectionError):
        pass  # the page went away
    finally:
        sub.close()
    return response
