"""HTTP handlers: parse the request into a schema, call one service function, answer with a schema."""

from __future__ import annotations

import re
import uuid
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from service import moderation
from service.api.problems import ApiError, invalid_fields, read_json, validation_errors
from service.api.schemas import (
    ID_PATTERN,
    ArticleIn,
    ArticleOut,
    ClaimIn,
    ClaimOut,
    CommentDetailOut,
    CommentEditIn,
    CommentIn,
    CommentOut,
    DecisionIn,
    EventOut,
    FieldError,
    HealthOut,
    QueueItemOut,
    QueuePageOut,
    QueueQuery,
    ReadyOut,
    ReasonOut,
    ReportIn,
    ReportOut,
    RevisionOut,
    ScoreIn,
    ScoreOut,
    SpanOut,
    StatsOut,
    StatsQuery,
)
from service.appkeys import INTAKE, METRICS, POLICY_TOOLS, POOL, PRINCIPAL, SCORER, SETTINGS
from service.db import store
from service.domain.types import Principal
from service.intake import Submission

M = TypeVar("M", bound=BaseModel)


def _validate(model: type[M], data: object, request: web.Request) -> M:
    context = {"max_text_chars": request.app[SETTINGS].max_text_chars}
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise invalid_fields(validation_errors(exc)) from None


async def body(request: web.Request, model: type[M]) -> M:
    return _validate(model, await read_json(request), request)


def query(request: web.Request, model: type[M]) -> M:
    return _validate(model, dict(request.query), request)


def principal(request: web.Request) -> Principal:
    found: Principal = request[PRINCIPAL]
    return found


def path_uuid(request: web.Request, name: str = "id") -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info[name])
    except ValueError:
        raise ApiError(404, "not_found", "Not found", "no such comment") from None


def tools(request: web.Request) -> moderation.PolicyTools:
    """The app's word-list cache and language detector, and a nudge for its webhook deliverer."""
    return request.app[POLICY_TOOLS]


def respond(model: BaseModel, status: int = 200) -> web.Response:
    return web.Response(status=status, body=model.model_dump_json().encode(), content_type="application/json")


def comment_out(c: store.StoredComment) -> CommentOut:
    return CommentOut.model_validate(c, from_attributes=True)


def queue_item(c: store.StoredComment) -> QueueItemOut:
    return QueueItemOut.model_validate(c, from_attributes=True)


async def post_comment(request: web.Request) -> web.Response:
    data = await body(request, CommentIn)
    external_id = data.external_id or request.headers.get("Idempotency-Key") or None
    submitted = await request.app[INTAKE].submit(
        principal(request),
        Submission(
            article_id=data.article_id,
            author_id=data.author_id,
            text=data.text,
            site_id=data.site_id,
            external_id=external_id[:200] if external_id else None,
            parent_id=data.parent_id,
            author_ip=str(data.author_ip) if data.author_ip else None,
            user_agent=data.user_agent,
        ),
    )
    if submitted.created:
        request.app[METRICS].record_decision(submitted.comment.status.value, submitted.comment.reasons, source="model")
    return respond(comment_out(submitted.comment), 201 if submitted.created else 200)


async def put_comment(request: web.Request) -> web.Response:
    data = await body(request, CommentEditIn)
    edited = await moderation.edit_comment(
        request.app[POOL],
        request.app[SCORER],
        principal(request),
        path_uuid(request),
        text=data.text,
        expected_version=data.version,
        tools=tools(request),
    )
    return respond(comment_out(edited))


async def post_report(request: web.Request) -> web.Response:
    data = await body(request, ReportIn)
    reported = await moderation.report_comment(
        request.app[POOL],
        principal(request),
        path_uuid(request),
        reason=data.reason,
        detail=data.detail,
        reporter_id=data.reporter_id,
        tools=tools(request),
    )
    out = ReportOut(
        comment_id=reported.comment.id,
        counted=reported.counted,
        report_count=reported.comment.report_count,
        open_reports=reported.open_reasons,
    )
    return respond(out, 201 if reported.counted else 200)


async def get_comment(request: web.Request) -> web.Response:
    found = await moderation.get_comment(request.app[POOL], principal(request), path_uuid(request))
    detail = CommentDetailOut(
        **comment_out(found.comment).model_dump(),
        text=found.comment.text,
        history=[EventOut.model_validate(e, from_attributes=True) for e in found.history],
        revisions=[RevisionOut(**r) for r in found.revisions],
        open_reports=found.open_reports,
    )
    return respond(detail)


async def post_score(request: web.Request) -> web.Response:
    data = await body(request, ScoreIn)
    result = await moderation.score_text(
        request.app[POOL],
        request.app[SCORER],
        principal(request),
        data.text,
        site_id=data.site_id,
        tools=tools(request),
    )
    return respond(
        ScoreOut(
            status=result.decision.status,
            scores=result.scored.scores,
            reasons=[ReasonOut(**r.as_dict()) for r in result.decision.reasons],  # type: ignore[arg-type]
            spans=[SpanOut(**s) for s in result.scored.spans],
            model_version=result.scored.model_version,
        )
    )


async def put_article(request: web.Request) -> web.Response:
    data = await body(request, ArticleIn)
    article_id = request.match_info["article_id"]
    # The same rule as every other article id (CommentIn.article_id): a path no article can have is 404.
    if not 1 <= len(article_id) <= 200 or not re.fullmatch(ID_PATTERN, article_id):
        raise ApiError(404, "not_found", "Not found", "no such article")
    article = await moderation.set_article_mode(
        request.app[POOL],
        principal(request),
        site_id=data.site_id,
        article_id=article_id,
        mode=data.mode,
        title=data.title,
        url=data.url,
    )
    return respond(ArticleOut.model_validate(article, from_attributes=True))


async def post_claim(request: web.Request) -> web.Response:
    data = await body(request, ClaimIn)
    settings = request.app[SETTINGS]
    if data.limit > settings.review_claim_max:
        raise invalid_fields([FieldError(field="limit", message=f"at most {settings.review_claim_max}")])
    items = await moderation.claim_reviews(
        request.app[POOL],
        principal(request),
        limit=data.limit,
        site_id=data.site_id,
        article_id=data.article_id,
        lease_s=settings.review_lease_s,
        sort=data.sort,
        queue=data.queue,
    )
    return respond(ClaimOut(items=[queue_item(c) for c in items]))


async def post_decision(request: web.Request) -> web.Response:
    data = await body(request, DecisionIn)
    decided = await moderation.decide_review(
        request.app[POOL],
        principal(request),
        path_uuid(request),
        approve=data.decision == "approve",
        reason=data.reason,
        tools=tools(request),
    )
    request.app[METRICS].record_decision(decided.status.value, [{"code": "moderator_decision"}], source="moderator")
    return respond(comment_out(decided))


async def get_queue(request: web.Request) -> web.Response:
    q = query(request, QueueQuery)
    try:
        page = await moderation.list_queue(
            request.app[POOL],
            principal(request),
            sort=q.sort,
            site_id=q.site_id,
            article_id=q.article_id,
            limit=q.limit,
            cursor=q.cursor,
            queue=q.queue,
        )
    except ValueError:
        raise invalid_fields([FieldError(field="cursor", message="invalid cursor")]) from None
    return respond(QueuePageOut(items=[queue_item(c) for c in page.items], next_cursor=page.next_cursor))


async def get_stats(request: web.Request) -> web.Response:
    q = query(request, StatsQuery)
    stats = await moderation.queue_stats(
        request.app[POOL], principal(request), site_id=q.site_id, article_id=q.article_id, queue=q.queue
    )
    return respond(StatsOut(**stats))


async def healthz(request: web.Request) -> web.Response:
    return respond(HealthOut(status="ok"))


async def readyz(request: web.Request) -> web.Response:
    scorer = request.app.get(SCORER)
    database = True
    try:
        async with request.app[POOL].acquire(timeout=2.0) as conn:
            await store.ping(conn)
    except Exception:
        database = False
    ready = database and scorer is not None
    out = ReadyOut(
        status="ready" if ready else "not_ready",
        database=database,
        model_version=scorer.model.version if scorer else None,
    )
    return respond(out, 200 if ready else 503)
