"""HTTP handlers for the newsroom policy: site settings, word lists, authors, webhook deliveries."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from service import authors, sites, webhooks
from service.api.handlers import body, principal, query, respond, tools
from service.api.problems import ApiError
from service.api.schemas import (
    ArticleSettingsIn,
    ArticleSettingsOut,
    AuthorActionOut,
    AuthorEventOut,
    AuthorOut,
    BanIn,
    DeliveriesOut,
    DeliveriesQuery,
    DeliveryOut,
    ErasedOut,
    SiteQuery,
    SiteSettingsIn,
    SiteSettingsOut,
    StandingIn,
    SuspendIn,
    WordListIn,
    WordListOut,
    WordListPatchIn,
)
from service.appkeys import POOL
from service.db import store
from service.domain.rules import SitePolicy, Standing
from service.moderation import resolve_site


def _path_id(request: web.Request, name: str, what: str) -> str:
    value = request.match_info[name]
    if not 1 <= len(value) <= 200 or not value.isprintable():
        raise ApiError(404, "not_found", "Not found", f"no such {what}")
    return value


def _kind(request: web.Request) -> str:
    kind = request.match_info["kind"]
    if kind not in sites.WORD_LIST_KINDS:
        raise ApiError(404, "not_found", "Not found", "word lists are 'banned' and 'suspect'")
    return kind


def _settings_out(stored: store.StoredSiteSettings) -> SiteSettingsOut:
    # Defaults filled from the domain's SitePolicy so the answer shows what is in force.
    policy = SitePolicy.from_mapping(stored.settings)
    shown = {
        **{k: getattr(policy, k) for k in SitePolicy.__dataclass_fields__ if k != "webhook_secret"},
        **{k: v for k, v in stored.settings.items() if k != "webhook_secret"},
    }
    shown["allowed_domains"] = list(shown["allowed_domains"])
    shown["blocked_domains"] = list(shown["blocked_domains"])
    return SiteSettingsOut(
        **shown,
        site_id=stored.site_id,
        version=stored.version,
        webhook_secret_set=bool(stored.settings.get("webhook_secret")),
    )


async def get_site_settings(request: web.Request) -> web.Response:
    site_id = _path_id(request, "site_id", "site")
    stored = await sites.get_settings(request.app[POOL], principal(request), site_id)
    return respond(_settings_out(stored))


async def put_site_settings(request: web.Request) -> web.Response:
    site_id = _path_id(request, "site_id", "site")
    data = await body(request, SiteSettingsIn)
    stored = await sites.put_settings(request.app[POOL], principal(request), site_id, data.model_dump(mode="json"))
    return respond(_settings_out(stored))


async def get_article_settings(request: web.Request) -> web.Response:
    article_id = _path_id(request, "article_id", "article")
    q = query(request, SiteQuery)
    who = principal(request)
    site_id = resolve_site(who, q.site_id)
    overrides = await sites.get_article_overrides(request.app[POOL], who, site_id, article_id)
    return respond(ArticleSettingsOut(site_id=site_id, article_id=article_id, overrides=overrides))


async def put_article_settings(request: web.Request) -> web.Response:
    article_id = _path_id(request, "article_id", "article")
    data = await body(request, ArticleSettingsIn)
    who = principal(request)
    site_id = resolve_site(who, data.site_id)
    overrides = await sites.put_article_overrides(request.app[POOL], who, site_id, article_id, data.overrides())
    return respond(ArticleSettingsOut(site_id=site_id, article_id=article_id, overrides=overrides))


async def get_word_list(request: web.Request) -> web.Response:
    site_id, kind = _path_id(request, "site_id", "site"), _kind(request)
    terms = await sites.get_word_list(request.app[POOL], principal(request), site_id, kind)
    return respond(WordListOut(site_id=site_id, kind=kind, count=len(terms), terms=terms))  # type: ignore[arg-type]


async def put_word_list(request: web.Request) -> web.Response:
    site_id, kind = _path_id(request, "site_id", "site"), _kind(request)
    data = await body(request, WordListIn)
    terms = await sites.change_word_list(request.app[POOL], principal(request), site_id, kind, replace=data.terms)
    return respond(WordListOut(site_id=site_id, kind=kind, count=len(terms), terms=terms))  # type: ignore[arg-type]


async def patch_word_list(request: web.Request) -> web.Response:
    site_id, kind = _path_id(request, "site_id", "site"), _kind(request)
    data = await body(request, WordListPatchIn)
    terms = await sites.change_word_list(
        request.app[POOL], principal(request), site_id, kind, add=data.add, remove=data.remove
    )
    return respond(WordListOut(site_id=site_id, kind=kind, count=len(terms), terms=terms))  # type: ignore[arg-type]


def _author_out(view: authors.AuthorView) -> AuthorOut:
    a = view.author
    return AuthorOut(
        site_id=a.site_id,
        id=a.id,
        standing=Standing(a.standing),
        suspended_until=a.suspended_until,
        approved_count=a.approved_count,
        rejected_count=a.rejected_count,
        created_at=a.created_at,
        updated_at=a.updated_at,
        history=[AuthorEventOut.model_validate(e, from_attributes=True) for e in view.history],
    )


async def get_author(request: web.Request) -> web.Response:
    author_id = _path_id(request, "author_id", "author")
    q = query(request, SiteQuery)
    view = await authors.get_author(request.app[POOL], principal(request), author_id, q.site_id)
    return respond(_author_out(view))


async def _change(request: web.Request, data: StandingIn, change: authors.StandingChange) -> web.Response:
    author_id = _path_id(request, "author_id", "author")
    view, rejected = await authors.change_standing(
        request.app[POOL], principal(request), author_id, data.site_id, change, tools(request)
    )
    return respond(AuthorActionOut(author=_author_out(view), rejected_pending=rejected))


async def post_ban(request: web.Request) -> web.Response:
    data = await body(request, BanIn)
    change = authors.StandingChange(Standing.BANNED, data.reason, reject_pending=data.reject_pending)
    return await _change(request, data, change)


async def post_suspend(request: web.Request) -> web.Response:
    data = await body(request, SuspendIn)
    until = data.until
    if until is None:
        assert data.duration_s is not None
        until = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=data.duration_s)
    return await _change(request, data, authors.StandingChange(Standing.SUSPENDED, data.reason, until))


async def post_always_review(request: web.Request) -> web.Response:
    data = await body(request, StandingIn)
    return await _change(request, data, authors.StandingChange(Standing.ALWAYS_REVIEW, data.reason))


async def post_trust(request: web.Request) -> web.Response:
    data = await body(request, StandingIn)
    return await _change(request, data, authors.StandingChange(Standing.TRUSTED, data.reason))


async def post_reinstate(request: web.Request) -> web.Response:
    data = await body(request, StandingIn)
    return await _change(request, data, authors.StandingChange(Standing.ACTIVE, data.reason))


async def delete_author(request: web.Request) -> web.Response:
    author_id = _path_id(request, "author_id", "author")
    q = query(request, SiteQuery)
    erased = await authors.erase_author(request.app[POOL], principal(request), author_id, q.site_id)
    return respond(ErasedOut(erased_comments=erased))


async def get_deliveries(request: web.Request) -> web.Response:
    q = query(request, DeliveriesQuery)
    items = await webhooks.list_deliveries(
        request.app[POOL], principal(request), site_id=q.site_id, state=q.state, limit=q.limit
    )
    return respond(DeliveriesOut(items=[DeliveryOut.model_validate(i) for i in items]))
