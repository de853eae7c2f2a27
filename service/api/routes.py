"""The API's one route table: the app's router, the role checks and /openapi.json all read it,
so the document matches the service by construction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from pydantic import BaseModel

from service.api import handlers as h
from service.api import schemas as s
from service.domain.types import Role

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SUBMIT = frozenset({Role.SUBMITTER, Role.ADMIN})
READ = frozenset({Role.SUBMITTER, Role.MODERATOR, Role.ADMIN})
MODERATE = frozenset({Role.MODERATOR, Role.ADMIN})
ADMIN = frozenset({Role.ADMIN})


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    name: str
    summary: str
    roles: frozenset[Role] | None  # None: public
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    responses: dict[int, type[BaseModel]] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    tag: str = "comments"


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "POST",
        "/v1/comments",
        h.post_comment,
        "post_comment",
        "Submit a comment: score, decide, store, answer approved/rejected/pending",
        SUBMIT,
        body=s.CommentIn,
        responses={201: s.CommentOut, 200: s.CommentOut},
        errors=(400, 403, 409, 413, 415, 422, 503),
    ),
    Endpoint(
        "GET",
        "/v1/comments/{id}",
        h.get_comment,
        "get_comment",
        "A comment with its status, scores, reasons and history",
        READ,
        responses={200: s.CommentDetailOut},
        errors=(404, 503),
    ),
    Endpoint(
        "POST",
        "/v1/score",
        h.post_score,
        "post_score",
        "Score a text without storing anything (pre-submit nudge)",
        READ | {Role.TRAINER},
        body=s.ScoreIn,
        responses={200: s.ScoreOut},
        errors=(400, 413, 415, 422),
    ),
    Endpoint(
        "PUT",
        "/v1/articles/{article_id}",
        h.put_article,
        "put_article",
        "Set an article's moderation mode",
        ADMIN,
        body=s.ArticleIn,
        responses={200: s.ArticleOut},
        errors=(400, 403, 404, 413, 415, 422, 503),
        tag="articles",
    ),
    Endpoint(
        "POST",
        "/v1/review/claim",
        h.post_claim,
        "post_claim",
        "Lease pending comments to the caller, oldest first",
        MODERATE,
        body=s.ClaimIn,
        responses={200: s.ClaimOut},
        errors=(400, 403, 413, 415, 422, 503),
        tag="review",
    ),
    Endpoint(
        "POST",
        "/v1/review/{id}/decision",
        h.post_decision,
        "post_decision",
        "Approve or reject a comment you hold",
        MODERATE,
        body=s.DecisionIn,
        responses={200: s.CommentOut},
        errors=(400, 404, 409, 413, 415, 422, 503),
        tag="review",
    ),
    Endpoint(
        "GET",
        "/v1/review/queue",
        h.get_queue,
        "get_queue",
        "Pending comments, filtered and sorted, with keyset pagination",
        MODERATE,
        query=s.QueueQuery,
        responses={200: s.QueuePageOut},
        errors=(403, 422, 503),
        tag="review",
    ),
    Endpoint(
        "GET",
        "/v1/review/stats",
        h.get_stats,
        "get_stats",
        "Queue depth and the oldest pending comment's age",
        MODERATE,
        query=s.StatsQuery,
        responses={200: s.StatsOut},
        errors=(403, 422, 503),
        tag="review",
    ),
    Endpoint(
        "GET",
        "/healthz",
        h.healthz,
        "healthz",
        "Liveness: the process serves HTTP",
        None,
        responses={200: s.HealthOut},
        tag="operations",
    ),
    Endpoint(
        "GET",
        "/readyz",
        h.readyz,
        "readyz",
        "Readiness: database reachable and a model loaded",
        None,
        responses={200: s.ReadyOut, 503: s.ReadyOut},
        tag="operations",
    ),
)

BY_NAME: dict[str, Endpoint] = {e.name: e for e in ENDPOINTS}


def add_routes(app: web.Application) -> None:
    for endpoint in ENDPOINTS:
        app.router.add_route(endpoint.method, endpoint.path, endpoint.handler, name=endpoint.name)
