"""The API's one route table: the app's router, the role checks and /openapi.json all read it,
so the document matches the service by construction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from pydantic import BaseModel

from service.api import handlers as h
from service.api import policy as p
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
        "PUT",
        "/v1/comments/{id}",
        h.put_comment,
        "put_comment",
        "Edit a comment: the new text is moderated again, the old one kept in its history",
        SUBMIT,
        body=s.CommentEditIn,
        responses={200: s.CommentOut},
        errors=(400, 404, 409, 413, 415, 422, 503),
    ),
    Endpoint(
        "POST",
        "/v1/comments/{id}/reports",
        h.post_report,
        "post_report",
        "A reader reports a comment: it joins the reported queue (even under pre-moderation)",
        SUBMIT,
        body=s.ReportIn,
        responses={201: s.ReportOut, 200: s.ReportOut},
        errors=(400, 404, 413, 415, 422, 503),
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
        errors=(400, 403, 413, 415, 422, 503),
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
        "/v1/sites/{site_id}/settings",
        p.get_site_settings,
        "get_site_settings",
        "A site's moderation settings (defaults filled in; the webhook secret is never shown)",
        ADMIN,
        responses={200: s.SiteSettingsOut},
        errors=(403, 404, 503),
        tag="sites",
    ),
    Endpoint(
        "PUT",
        "/v1/sites/{site_id}/settings",
        p.put_site_settings,
        "put_site_settings",
        "Replace a site's moderation settings (an omitted webhook_secret keeps the current one)",
        ADMIN,
        body=s.SiteSettingsIn,
        responses={200: s.SiteSettingsOut},
        errors=(400, 403, 404, 413, 415, 422, 503),
        tag="sites",
    ),
    Endpoint(
        "GET",
        "/v1/articles/{article_id}/settings",
        p.get_article_settings,
        "get_article_settings",
        "An article's overrides of its site's settings",
        ADMIN,
        query=s.SiteQuery,
        responses={200: s.ArticleSettingsOut},
        errors=(403, 404, 422, 503),
        tag="articles",
    ),
    Endpoint(
        "PUT",
        "/v1/articles/{article_id}/settings",
        p.put_article_settings,
        "put_article_settings",
        "Replace an article's overrides: thresholds, link limit and domains, new-author rule, language check",
        ADMIN,
        body=s.ArticleSettingsIn,
        responses={200: s.ArticleSettingsOut},
        errors=(400, 403, 404, 413, 415, 422, 503),
        tag="articles",
    ),
    Endpoint(
        "GET",
        "/v1/sites/{site_id}/word-lists/{kind}",
        p.get_word_list,
        "get_word_list",
        "A site's banned or suspect terms",
        ADMIN,
        responses={200: s.WordListOut},
        errors=(403, 404, 503),
        tag="sites",
    ),
    Endpoint(
        "PUT",
        "/v1/sites/{site_id}/word-lists/{kind}",
        p.put_word_list,
        "put_word_list",
        "Replace a site's banned (reject) or suspect (review) terms",
        ADMIN,
        body=s.WordListIn,
        responses={200: s.WordListOut},
        errors=(400, 403, 404, 413, 415, 422, 503),
        tag="sites",
    ),
    Endpoint(
        "PATCH",
        "/v1/sites/{site_id}/word-lists/{kind}",
        p.patch_word_list,
        "patch_word_list",
        "Add and remove terms of a site's banned or suspect list",
        ADMIN,
        body=s.WordListPatchIn,
        responses={200: s.WordListOut},
        errors=(400, 403, 404, 413, 415, 422, 503),
        tag="sites",
    ),
    Endpoint(
        "GET",
        "/v1/authors/{author_id}",
        p.get_author,
        "get_author",
        "An author's standing, tallies and the history of moderator actions",
        MODERATE,
        query=s.SiteQuery,
        responses={200: s.AuthorOut},
        errors=(403, 404, 422, 503),
        tag="authors",
    ),
    Endpoint(
        "POST",
        "/v1/authors/{author_id}/ban",
        p.post_ban,
        "post_ban",
        "Ban an author (their comments are rejected); optionally reject their pending comments",
        MODERATE,
        body=s.BanIn,
        responses={200: s.AuthorActionOut},
        errors=(400, 403, 404, 413, 415, 422, 503),
        tag="authors",
    ),
    Endpoint(
        "POST",
        "/v1/authors/{author_id}/suspend",
        p.post_suspend,
        "post_suspend",
        "Suspend an author until a time (their comments are rejected meanwhile)",
        MODERATE,
        body=s.SuspendIn,
        responses={200: s.AuthorActionOut},
        errors=(400, 403, 404, 413, 415, 422, 503),
        tag="authors",
    ),
    Endpoint(
        "POST",
        "/v1/authors/{author_id}/always-review",
        p.post_always_review,
        "post_always_review",
        "Hold every comment of this author for review",
        MODERATE,
        body=s.StandingIn,
        responses={200: s.AuthorActionOut},
        errors=(400, 403, 404, 413, 415, 422, 503),
        tag="authors",
    ),
    Endpoint(
        "POST",
        "/v1/authors/{author_id}/trust",
        p.post_trust,
        "post_trust",
        "Trust an author: the reputation rules (new author, rejection rate) no longer hold them",
        MODERATE,
        body=s.StandingIn,
        responses={200: s.AuthorActionOut},
        errors=(400, 403, 404, 413, 415, 422, 503),
        tag="authors",
    ),
    Endpoint(
        "POST",
        "/v1/authors/{author_id}/reinstate",
        p.post_reinstate,
        "post_reinstate",
        "Back to ordinary standing (lifts a ban, suspension, always-review or trust)",
        MODERATE,
        body=s.StandingIn,
        responses={200: s.AuthorActionOut},
        errors=(400, 403, 404, 413, 415, 422, 503),
        tag="authors",
    ),
    Endpoint(
        "DELETE",
        "/v1/authors/{author_id}",
        p.delete_author,
        "delete_author",
        "Erase an author: texts, earlier versions, IP and user agent removed; id anonymised; counts kept",
        ADMIN,
        query=s.SiteQuery,
        responses={200: s.ErasedOut},
        errors=(403, 404, 422, 503),
        tag="authors",
    ),
    Endpoint(
        "GET",
        "/v1/webhooks/deliveries",
        p.get_deliveries,
        "get_deliveries",
        "Webhook events, newest first, with their delivery log",
        ADMIN,
        query=s.DeliveriesQuery,
        responses={200: s.DeliveriesOut},
        errors=(403, 422, 503),
        tag="webhooks",
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
