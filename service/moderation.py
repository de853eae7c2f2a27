"""The service layer: one function per use case. Handlers call these; these call the store.

Transaction boundaries live here. Nothing in this module knows about HTTP.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import functools
import hashlib
import json
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, cast

import asyncpg

from service import webhooks
from service.db import store
from service.domain.policy import PolicyInput, decide, merge_thresholds
from service.domain.rules import (
    AuthorActivity,
    AuthorFacts,
    SitePolicy,
    Standing,
    extract_link_hosts,
)
from service.domain.types import ArticleMode, Decision, Principal, Status
from service.domain.webhooks import REPORTED
from service.domain.wordlist import WordHit, WordListMatcher, fingerprint
from service.errors import (
    AlreadyDecided,
    ArticleClosed,
    CommentRejected,
    Forbidden,
    LeaseNotHeld,
    NotFound,
    VersionConflict,
)
from service.language import LanguageDetector, supported_languages
from service.ml.scorer import ModelLike, Scored, Scorer, model_manifest
from service.sites import SiteCache, SiteState, WordListCache, load_site

DEFAULT_SITE = "default"
# The review queues: comments waiting for a first decision, and comments readers reported.
PENDING_QUEUE = "pending"
REPORTED_QUEUE = "reported"


@dataclass(frozen=True)
class PolicyTools:
    """What the policy's inputs are gathered with, besides the database and the model."""

    word_lists: WordListCache = field(default_factory=WordListCache)
    sites: SiteCache = field(default_factory=SiteCache)
    languages: LanguageDetector | None = None
    # Called after a transaction that queued webhook events has committed.
    on_event: Callable[[], None] = lambda: None


@dataclass(frozen=True)
class Assessment:
    """Everything decided about one text, ready to store."""

    scored: Scored
    decision: Decision
    spans: list[dict[str, Any]]
    fingerprint: bytes
    language: str | None
    mode: ArticleMode


@dataclass(frozen=True)
class ScoreResult:
    scored: Scored
    decision: Decision


@dataclass(frozen=True)
class CommentWithHistory:
    comment: store.StoredComment
    history: list[store.StoredEvent]
    revisions: list[dict[str, Any]] = field(default_factory=list)
    open_reports: dict[str, int] = field(default_factory=dict)


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


def effective_mode(article_mode: str | None, site: SitePolicy) -> ArticleMode:
    """An article's own mode (None: not set, or no such article yet), else its site's default."""
    return ArticleMode(article_mode) if article_mode else site.default_mode


def require_open(mode: ArticleMode) -> None:
    """New comments and edits are refused on a closed article."""
    if mode is ArticleMode.CLOSED:
        raise ArticleClosed("this article is closed for comments", field="article_id")


def author_facts(author: store.StoredAuthor | None) -> AuthorFacts:
    if author is None:
        return AuthorFacts()
    return AuthorFacts(Standing(author.standing), author.suspended_until, author.approved_count, author.rejected_count)


def activity_from_row(row: asyncpg.Record) -> AuthorActivity:
    return AuthorActivity(
        last_minute=row["last_minute"],
        oldest_in_last_minute_age_s=row["oldest_in_last_minute_age_s"],
        repeats=row["repeats"],
        window_approved=row["window_approved"],
        window_rejected=row["window_rejected"],
    )


def _word_spans(hits: list[WordHit]) -> list[dict[str, Any]]:
    return [{"start": h.start, "end": h.end, "label": f"{h.kind}_word", "weight": 1.0} for h in hits]


@dataclass(frozen=True)
class Case:
    """One text to assess, with what the policy needs to know about where and by whom it was written."""

    text: str
    site_id: str
    site: SiteState
    mode: ArticleMode
    author: AuthorFacts | None
    activity: AuthorActivity
    print_: bytes


async def assess_many(
    db: asyncpg.Pool | store.Conn,
    scorer: Scorer,
    tools: PolicyTools,
    cases: list[Case],
    *,
    scored: list[Scored] | None = None,
) -> list[Assessment]:
    """Gather the policy's inputs for each text (word lists, links, language, scores) and decide.

    The texts are scored in one model call (unless ``scored`` brings their scores already) and
    explained in one trip to the scoring thread.
    """
    model = scorer.model
    languages = _model_languages(model)
    now = dt.datetime.now(dt.UTC)
    inputs: list[PolicyInput] = []
    hits_of: list[list[WordHit]] = []
    # The languages of the texts whose site checks them, identified in one pass for the batch.
    language_of: dict[int, str | None] = {}
    if tools.languages is not None:
        checked = [i for i, case in enumerate(cases) if case.site.policy.language_check]
        language_of = dict(zip(checked, tools.languages.detect_many([cases[i].text for i in checked]), strict=True))
    for i, case in enumerate(cases):
        policy = case.site.policy
        matcher: WordListMatcher = await tools.word_lists.matcher(db, case.site_id, case.site.version)
        hits = matcher.find(case.text)
        language = language_of.get(i)
        hits_of.append(hits)
        inputs.append(
            PolicyInput(
                scores={},
                thresholds=merge_thresholds(scorer.thresholds, policy.thresholds),
                mode=case.mode,
                site=policy,
                author=case.author,
                activity=case.activity,
                word_hits=tuple(hits),
                link_hosts=extract_link_hosts(case.text),
                language=language,
                supported_languages=languages,
                now=now,
            )
        )
    # A language the model was not trained on is not scored at all: its scores would be noise.
    to_score = [i for i, inp in enumerate(inputs) if not inp.language_unsupported]
    given = scored
    scored = [Scored({}, [], model.version) for _ in cases]
    if given is not None:
        for i in to_score:
            scored[i] = given[i]
    elif len(to_score) == 1:  # a lone text joins whatever other requests are being scored right now
        scored[to_score[0]] = await scorer.score(cases[to_score[0]].text)
    elif to_score:
        for i, result in zip(to_score, await scorer.score_many([cases[i].text for i in to_score]), strict=True):
            scored[i] = result
    decisions = [
        decide(dataclasses.replace(inp, scores=s.scores, names_group=s.names_group))
        for inp, s in zip(inputs, scored, strict=True)
    ]
    # Held and rejected comments carry the spans that drove their scores; those the model flagged
    # itself came explained with their scores.
    held = [i for i, d in enumerate(decisions) if d.status is not Status.APPROVED and scored[i].scores]
    model_spans: list[list[dict[str, Any]]] = [[] for _ in cases]
    to_explain = []
    for i in held:
        if scored[i].explained:
            model_spans[i] = scored[i].spans
        else:
            to_explain.append(i)
    explained = await scorer.explain_many([(cases[i].text, scored[i]) for i in to_explain])
    for i, spans in zip(to_explain, explained, strict=True):
        model_spans[i] = spans
    return [
        Assessment(
            scored[i],
            decisions[i],
            _word_spans(hits_of[i]) + model_spans[i],
            case.print_,
            inputs[i].language,
            case.mode,
        )
        for i, case in enumerate(cases)
    ]


async def assess(pool: asyncpg.Pool, scorer: Scorer, tools: PolicyTools, case: Case) -> Assessment:
    (found,) = await assess_many(pool, scorer, tools, [case])
    return found


def _model_languages(model: ModelLike) -> frozenset[str]:
    """The languages a model was trained on, read from its manifest once per model (models are immutable)."""
    return _languages_of(cast(Hashable, model))


@functools.lru_cache(maxsize=4)
def _languages_of(model: Hashable) -> frozenset[str]:
    return supported_languages(model_manifest(cast(ModelLike, model)))


def text_fingerprint(text: str) -> bytes:
    """Equal for texts that normalize alike ("Buy now!!" and "BUY N0W"): the repeat rule's key."""
    return hashlib.sha256(fingerprint(text).encode()).digest()


async def edit_comment(
    pool: asyncpg.Pool,
    scorer: Scorer,
    principal: Principal,
    comment_id: uuid.UUID,
    *,
    text: str,
    expected_version: int | None,
    tools: PolicyTools | None = None,
) -> store.StoredComment:
    """Re-moderate a comment's new text; the old text is kept as a revision."""
    tools = tools or PolicyTools()
    async with pool.acquire() as conn:
        current = _visible(principal, await store.get_comment(conn, comment_id))
        site = await load_site(conn, current.site_id, current.article_id)
        article = await store.get_article(conn, current.site_id, current.article_id)
        author_row = await store.get_author(conn, current.site_id, current.author_id)
        print_ = text_fingerprint(text)
        activity = activity_from_row(
            await store.author_activity(
                conn,
                current.site_id,
                current.author_id,
                print_,
                site.policy.repeat_window_s,
                site.policy.rejection_rate_window_days,
            )
        )
    if current.text_erased_at is not None:
        raise NotFound("no such comment")
    if current.status is Status.REJECTED:
        raise CommentRejected("a rejected comment cannot be edited; post a new one")
    if expected_version is not None and expected_version != current.version:
        raise VersionConflict(f"the comment is at version {current.version}, not {expected_version}")
    mode = effective_mode(article.mode if article else None, site.policy)
    require_open(mode)
    # The comment itself is not a repeat of itself; flooding is about new comments, not edits.
    window_start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=site.policy.repeat_window_s)
    same_text = print_ == current.fingerprint and current.created_at > window_start
    activity = AuthorActivity(
        last_minute=0,
        repeats=max(0, activity.repeats - (1 if same_text else 0)),
        window_approved=activity.window_approved,
        window_rejected=activity.window_rejected,
    )
    found = await assess(
        pool,
        scorer,
        tools,
        Case(text, current.site_id, site, mode, author_facts(author_row), activity, print_),
    )
    reasons = [r.as_dict() for r in found.decision.reasons]
    async with pool.acquire() as conn, conn.transaction():
        edited = await store.update_comment_text(
            conn,
            store.EditedComment(
                id=comment_id,
                text=text,
                status=found.decision.status,
                scores=found.scored.scores,
                reasons=reasons,
                spans=found.spans,
                model_version=found.scored.model_version,
                fingerprint=print_,
                language=found.language,
                expected_version=current.version,
            ),
        )
        if edited is None:
            raise VersionConflict("the comment changed while it was being re-moderated; send the edit again")
        await store.insert_comment_revision(conn, comment_id, current.version, current.text)
        await store.insert_comment_event(
            conn,
            comment_id,
            actor_kind=principal.role.value,
            actor_name=principal.name,
            action="edited",
            from_status=current.status.value,
            to_status=edited.status.value,
            reasons=reasons,
            details={"revision": current.version, "language": found.language},
        )
        if current.status is not edited.status:
            await store.adjust_author_counts(conn, edited.site_id, edited.author_id, current.status, edited.status)
        queued = await webhooks.enqueue_status(conn, site.policy, edited)
    if queued:
        tools.on_event()
    return edited


@dataclass(frozen=True)
class Reported:
    comment: store.StoredComment
    counted: bool  # False: this reader had already reported it
    open_reasons: dict[str, int]


async def report_comment(
    pool: asyncpg.Pool,
    principal: Principal,
    comment_id: uuid.UUID,
    *,
    reason: str,
    detail: str | None,
    reporter_id: str | None,
    tools: PolicyTools | None = None,
) -> Reported:
    """A reader's report: counted once per reader, and the comment joins the reported queue."""
    tools = tools or PolicyTools()
    async with pool.acquire() as conn, conn.transaction():
        comment = _visible(principal, await store.get_comment(conn, comment_id))
        counted = await store.insert_report(conn, comment_id, reason, detail, reporter_id)
        queued = None
        if counted:
            comment = await store.mark_reported(conn, comment_id)
            await store.insert_comment_event(
                conn,
                comment_id,
                actor_kind=principal.role.value,
                actor_name=principal.name,
                action="reported",
                from_status=comment.status.value,
                to_status=comment.status.value,
                details={"reason": reason},
            )
        open_reasons = await store.open_report_reasons(conn, comment_id)
        if counted:
            site = await load_site(conn, comment.site_id)
            queued = await webhooks.enqueue(
                conn, site.policy, comment, REPORTED, {"reports": {"open": open_reasons, "reason": reason}}
            )
    if queued:
        tools.on_event()
    return Reported(comment, counted, open_reasons)


async def get_comment(pool: asyncpg.Pool, principal: Principal, comment_id: uuid.UUID) -> CommentWithHistory:
    async with pool.acquire() as conn:
        comment = _visible(principal, await store.get_comment(conn, comment_id))
        history = await store.list_comment_events(conn, comment_id)
        revisions = await store.list_comment_revisions(conn, comment_id)
        reports = await store.open_report_reasons(conn, comment_id)
    return CommentWithHistory(comment, history, [dict(r) for r in revisions], reports)


async def score_text(
    pool: asyncpg.Pool,
    scorer: Scorer,
    principal: Principal,
    text: str,
    *,
    site_id: str | None = None,
    tools: PolicyTools | None = None,
) -> ScoreResult:
    """Score without storing: what the policy would decide on a postmod article of the site, and why.

    The site's word lists, link rules, thresholds and language check apply (a pre-submit nudge);
    rules about the author (standing, history, repeats, flooding) do not, as no author is known.
    """
    tools = tools or PolicyTools()
    site_key = resolve_site(principal, site_id)
    async with pool.acquire() as conn:
        site = await load_site(conn, site_key)
    found = await assess(
        pool, scorer, tools, Case(text, site_key, site, ArticleMode.POSTMOD, None, AuthorActivity(), b"")
    )
    spans = found.spans
    if found.scored.scores and found.decision.status is Status.APPROVED:
        # The nudge explains even a pass.
        spans = spans + (found.scored.spans if found.scored.explained else await scorer.explain(text, found.scored))
    return ScoreResult(dataclasses.replace(found.scored, spans=spans), found.decision)


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
    queue: str = PENDING_QUEUE,
    sort: str = "oldest",
) -> list[store.StoredComment]:
    """Lease up to ``limit`` pending comments in ``sort`` order, or reported ones oldest first."""
    site = principal.site_id if principal.site_id is not None else site_id
    if principal.site_id is not None and site_id not in (None, principal.site_id):
        raise Forbidden("this key may only act on its own site", field="site_id")
    async with pool.acquire() as conn:
        if queue == REPORTED_QUEUE:
            return await store.claim_reported(conn, limit, site, article_id, principal.key_id, lease_s)
        return await store.claim_reviews(conn, limit, site, article_id, principal.key_id, lease_s, sort)


async def decide_review(
    pool: asyncpg.Pool,
    principal: Principal,
    comment_id: uuid.UUID,
    *,
    approve: bool,
    reason: str | None,
    tools: PolicyTools | None = None,
) -> store.StoredComment:
    """Settle a leased pending or reported comment; only the lease holder may, and only once.

    Deciding a reported comment settles its open reports: approving keeps it published and
    dismisses them, rejecting takes it down.
    """
    status = Status.APPROVED if approve else Status.REJECTED
    async with pool.acquire() as conn, conn.transaction():
        found = await store.decide_review(conn, comment_id, principal.key_id, status)
        if found is None:
            current = _visible(principal, await store.get_comment(conn, comment_id))
            if current.status is not Status.PENDING and current.reported_at is None:
                raise AlreadyDecided(f"comment is already {current.status.value}")
            raise LeaseNotHeld("claim the comment first; another moderator or no one holds it")
        decided, from_status = found
        _visible(principal, decided)
        reasons = [{"code": "moderator_decision", "message": reason or f"{status.value} by a moderator"}]
        await store.insert_comment_event(
            conn,
            comment_id,
            actor_kind=principal.role.value,
            actor_name=principal.name,
            action="decided",
            from_status=from_status.value,
            to_status=status.value,
            reasons=reasons,
            # key_id: undo lets only the key that decided take the decision back.
            details={
                "key_id": principal.key_id,
                "reason": reason,
                "model_version": decided.model_version,
                "scores": decided.scores,
            },
        )
        await store.settle_reports(conn, comment_id, status)
        if from_status is Status.PENDING:
            await store.count_author_decision(conn, decided.site_id, decided.author_id, status)
        elif from_status is not status:
            await store.adjust_author_counts(conn, decided.site_id, decided.author_id, from_status, status)
        site = await load_site(conn, decided.site_id)
        queued = await webhooks.enqueue_status(conn, site.policy, decided)
    if queued and tools is not None:
        tools.on_event()
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
    queue: str = PENDING_QUEUE,
) -> QueuePage:
    if principal.site_id is not None:
        site_id = resolve_site(principal, site_id)
    after = decode_cursor(sort, cursor) if cursor else None
    listing = store.list_reported_queue if queue == REPORTED_QUEUE else store.list_review_queue
    async with pool.acquire() as conn:
        items = await listing(conn, sort=sort, site_id=site_id, article_id=article_id, limit=limit + 1, after=after)
    has_more = len(items) > limit
    items = items[:limit]
    return QueuePage(items, encode_cursor(sort, items[-1]) if has_more and items else None)


async def queue_stats(
    pool: asyncpg.Pool,
    principal: Principal,
    *,
    site_id: str | None,
    article_id: str | None,
    queue: str = PENDING_QUEUE,
) -> dict[str, Any]:
    if principal.site_id is not None:
        site_id = resolve_site(principal, site_id)
    stats = store.reported_stats if queue == REPORTED_QUEUE else store.review_stats
    async with pool.acquire() as conn:
        row = await stats(conn, site_id, article_id)
    return {"depth": row["depth"], "leased": row["leased"], "oldest_age_s": round(row["oldest_age_s"], 3)}
