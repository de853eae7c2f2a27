"""Taking comments in: score, decide and store new comments, many at a time.

``submit_comments`` handles a micro-batch of submissions (see ``service.batching``) on one pooled
connection with a fixed number of database round trips whatever its size: one statement reading
everything the policy needs (``intake_context``; a site's settings come from the instance's cache,
read again only when the site's settings version has moved), one model call, and one statement
writing everything (``store_comments``: one implicit transaction, one commit, one WAL flush; a site
with webhooks adds their outbox rows in the same transaction). It gives every submission the answer
it would have had alone:

* a repeated (site, external id), in an earlier batch or in this one, returns the first result;
* flood control and the repeat rule count the comments earlier in the same batch;
* a submission that fails (closed article, flooding author, unknown parent, a key bound to
  another site) fails alone; the others are stored.

``Intake`` is the per-instance batcher that concurrent requests go through.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import asyncpg

from service import webhooks
from service.batching import MicroBatcher
from service.db import store
from service.db.pool import is_disk_full, is_timeout, is_unavailable
from service.domain.rules import AuthorActivity, flood_retry_after
from service.domain.types import Principal
from service.errors import InvalidReference, RateLimited
from service.ml.scorer import Scorer
from service.moderation import (
    Assessment,
    Case,
    PolicyTools,
    activity_from_row,
    assess_many,
    author_facts,
    effective_mode,
    require_open,
    resolve_site,
    text_fingerprint,
)
from service.sites import SiteState

log = logging.getLogger(__name__)

# Deadlocks between concurrent batches are prevented by a fixed lock order; these are the
# transient conflicts a retry of the whole transaction resolves anyway.
_RETRY_STATES = ("40P01", "40001")  # deadlock_detected, serialization_failure
_WRITE_ATTEMPTS = 3


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
class Request:
    principal: Principal
    submission: Submission


Outcome = Submitted | Exception


@dataclass
class _Planned:
    """A submission that passed the checks before scoring, on its way to the database."""

    index: int
    site_id: str
    sub: Submission
    site: SiteState
    parent: store.Key | None  # where the parent comment lives (None: no parent, or not found)
    found: Assessment | None = None
    comment_id: uuid.UUID = dataclasses.field(default_factory=uuid.uuid4)


async def submit_comments(
    pool: asyncpg.Pool,
    scorer: Scorer,
    tools: PolicyTools,
    requests: list[Request],
    on_planned: Callable[[], None] | None = None,
) -> list[Outcome]:
    """One outcome per request, in order: the stored comment, or the error for that request alone."""
    outcomes: list[Outcome | None] = [None] * len(requests)
    sites: list[str | None] = [None] * len(requests)
    for i, req in enumerate(requests):
        try:
            sites[i] = resolve_site(req.principal, req.submission.site_id)
        except Exception as exc:  # noqa: BLE001 - a domain error for this request only
            outcomes[i] = exc

    # The second and later submissions of one (site, external id) wait for the first one's answer.
    first_of: dict[tuple[str, str], int] = {}
    later: list[int] = []
    for i, req in enumerate(requests):
        site_id, ext = sites[i], req.submission.external_id
        if outcomes[i] is None and site_id is not None and ext is not None:
            if (site_id, ext) in first_of:
                later.append(i)
            else:
                first_of[(site_id, ext)] = i
    waiting = set(later)
    live = [i for i in range(len(requests)) if outcomes[i] is None and i not in waiting]

    if live:
        async with pool.acquire() as conn:
            planned = await _plan(conn, scorer, tools, requests, sites, live, outcomes)
            if on_planned is not None:  # reading and scoring done: the next batch may start its own
                on_planned()
            if planned:
                stored = await _store_isolating(conn, tools, requests, planned)
                for p, outcome in zip(planned, stored, strict=True):
                    outcomes[p.index] = outcome
    if later:
        # By now the first submission is committed (or failed): these see it as an earlier one.
        repeated = await submit_comments(pool, scorer, tools, [requests[i] for i in later])
        for i, outcome in zip(later, repeated, strict=True):
            outcomes[i] = outcome
    assert all(o is not None for o in outcomes)
    return [o for o in outcomes if o is not None]


async def _plan(
    conn: store.Conn,
    scorer: Scorer,
    tools: PolicyTools,
    requests: list[Request],
    sites: list[str | None],
    live: list[int],
    outcomes: list[Outcome | None],
) -> list[_Planned]:
    """Read what the policy needs for every live request, apply the pre-scoring rules, score and decide."""
    subs = {i: requests[i].submission for i in live}
    # Score every text now, in the scoring thread, while the fingerprints and reads below run: a
    # text that turns out not to need a score (an earlier submission, a refused one, a language the
    # model does not know) costs a fraction of a millisecond; waiting for the reads would cost latency.
    scoring = asyncio.ensure_future(scorer.score_many([subs[i].text for i in live]))
    site_of = {i: cast(str, sites[i]) for i in live}
    prints = {i: text_fingerprint(subs[i].text) for i in live}
    try:
        # The sites' settings as this instance last read them; the context read below says whether
        # they are still current, and only a site whose settings changed is read again.
        base_sites: dict[str, SiteState] = {}
        for site_id in sorted(set(site_of.values())):
            base_sites[site_id] = tools.sites.get(site_id) or await tools.sites.load(conn, site_id)
        contexts = await _contexts(conn, subs, site_of, prints, base_sites)
        moved = sorted({site_of[i] for i in live if contexts[i].site_version != base_sites[site_of[i]].version})
        if moved:
            for site_id in moved:
                base_sites[site_id] = await tools.sites.load(conn, site_id)
            contexts = await _contexts(conn, subs, site_of, prints, base_sites)
        earlier_ids = [c.existing_id for c in contexts.values() if c.existing_id is not None]
        existing = {c.id: c for c in await store.get_comments_by_ids(conn, earlier_ids)} if earlier_ids else {}
    except BaseException:
        scoring.cancel()
        raise
    early = dict(zip(live, await scoring, strict=True))

    planned: list[_Planned] = []
    cases: list[Case] = []
    # What this batch has already let through, per author: flood control and repeats count it.
    accepted: dict[tuple[str, str], list[bytes]] = {}
    for i in live:
        context = contexts[i]
        if context.existing_id is not None:
            outcomes[i] = Submitted(existing[context.existing_id], created=False)
            continue
        site_id, sub = site_of[i], subs[i]
        article = context.article
        site = base_sites[site_id].for_article(article.settings if article else None)
        mode = effective_mode(article.mode if article else None, site.policy)
        earlier = accepted.get((site_id, sub.author_id), [])
        activity = _with_earlier(activity_from_row(context.activity), earlier, prints[i])
        try:
            require_open(mode)
            retry_after = flood_retry_after(site.policy, activity)
            if retry_after is not None:
                raise RateLimited(
                    f"at most {site.policy.flood_max_per_minute} comments per minute per author; retry later",
                    retry_after_s=retry_after,
                )
        except Exception as exc:  # noqa: BLE001 - this request's answer
            outcomes[i] = exc
            continue
        accepted.setdefault((site_id, sub.author_id), []).append(prints[i])
        planned.append(_Planned(i, site_id, sub, site, context.parent))
        cases.append(Case(sub.text, site_id, site, mode, author_facts(context.author), activity, prints[i]))

    # The batch's own connection serves a word-list build too: a batch never waits for a second
    # pooled connection while holding one (a small pool could otherwise run dry).
    found_all = await assess_many(conn, scorer, tools, cases, scored=[early[p.index] for p in planned])
    for p, found in zip(planned, found_all, strict=True):
        p.found = found
    return planned


async def _contexts(
    conn: store.Conn,
    subs: dict[int, Submission],
    site_of: dict[int, str],
    prints: dict[int, bytes],
    sites: dict[str, SiteState],
) -> dict[int, store.IntakeContext]:
    """The database's knowledge of each live submission (one statement), with each site's windows."""
    keys = [
        store.IntakeKey(
            site_of[i],
            sub.external_id,
            sub.article_id,
            sub.author_id,
            prints[i],
            sites[site_of[i]].policy.repeat_window_s,
            sites[site_of[i]].policy.rejection_rate_window_days,
            sub.parent_id,
        )
        for i, sub in subs.items()
    ]
    return dict(zip(subs, await store.intake_context(conn, keys), strict=True))


def _with_earlier(activity: AuthorActivity, earlier: list[bytes], print_: bytes) -> AuthorActivity:
    """The author's activity counting the comments earlier in this batch (posted just now)."""
    if not earlier:
        return activity
    return dataclasses.replace(
        activity,
        last_minute=activity.last_minute + len(earlier),
        oldest_in_last_minute_age_s=activity.oldest_in_last_minute_age_s if activity.last_minute else 0.0,
        repeats=activity.repeats + earlier.count(print_),
    )


async def _store_isolating(
    conn: store.Conn, tools: PolicyTools, requests: list[Request], planned: list[_Planned]
) -> list[Outcome]:
    """Store the batch in one transaction; when that fails for a reason that may be one comment's
    own (not an outage), store them one by one so the others are not refused with it."""
    try:
        return await _store_retrying(conn, tools, requests, planned)
    except asyncpg.PostgresError as exc:
        if len(planned) == 1 or is_unavailable(exc) or is_timeout(exc) or is_disk_full(exc):
            raise
        log.warning("a batch of %d comments failed (%s); storing them one by one", len(planned), exc.sqlstate)
    outcomes: list[Outcome] = []
    for p in planned:
        try:
            (outcome,) = await _store_retrying(conn, tools, requests, [p])
        except asyncpg.PostgresError as exc:
            if is_unavailable(exc) or is_timeout(exc) or is_disk_full(exc):
                raise
            outcome = exc
        outcomes.append(outcome)
    return outcomes


async def _store_retrying(
    conn: store.Conn, tools: PolicyTools, requests: list[Request], planned: list[_Planned]
) -> list[Outcome]:
    for attempt in range(1, _WRITE_ATTEMPTS + 1):
        try:
            outcomes, queued = await _store(conn, requests, planned)
        except asyncpg.PostgresError as exc:
            if exc.sqlstate in _RETRY_STATES and attempt < _WRITE_ATTEMPTS:
                log.info("retrying a batch of %d comments after %s", len(planned), exc.sqlstate)
                continue
            raise
        if queued:
            tools.on_event()
        return outcomes
    raise AssertionError("unreachable")


async def _store(conn: store.Conn, requests: list[Request], planned: list[_Planned]) -> tuple[list[Outcome], bool]:
    """Write the batch; returns the outcomes and whether webhook events were queued.

    One statement, so one implicit transaction, when no site in the batch has a webhook; with
    webhooks, their outbox rows are written in the same explicit transaction (they need the
    stored rows: the payload carries the comment as stored).
    """
    outcomes: dict[int, Outcome] = {}
    writing: list[_Planned] = []
    for p in planned:
        if p.sub.parent_id is not None and p.parent != (p.site_id, p.sub.article_id):
            outcomes[p.index] = InvalidReference("parent comment not found on this article", field="parent_id")
        else:
            writing.append(p)
    queued: list[store.NewWebhook] = []
    if writing:
        new = [_new_stored(p, requests[p.index].principal) for p in writing]
        if any(webhooks.enabled(p.site.policy) for p in writing):
            async with conn.transaction():
                inserted = await store.store_comments(conn, new)
                events = [
                    webhooks.status_webhook(p.site.policy, inserted[p.comment_id])
                    for p in writing
                    if p.comment_id in inserted
                ]
                queued = [e for e in events if e is not None]
                if queued:
                    await store.enqueue_webhooks(conn, queued)
        else:
            inserted = await store.store_comments(conn, new)
        taken = [p for p in writing if p.comment_id not in inserted]
        if taken:
            # A concurrent request with the same external id committed first: answer with its result.
            keys = [(p.site_id, cast(str, p.sub.external_id)) for p in taken]
            earlier = await store.get_comments_by_external_ids(conn, keys)
            for p, key in zip(taken, keys, strict=True):
                outcomes[p.index] = Submitted(earlier[key], created=False)
        for p in writing:
            if p.comment_id in inserted:
                outcomes[p.index] = Submitted(inserted[p.comment_id], created=True)
    return [outcomes[p.index] for p in planned], bool(queued)


def _new_comment(p: _Planned) -> store.NewComment:
    found = p.found
    assert found is not None
    return store.NewComment(
        site_id=p.site_id,
        external_id=p.sub.external_id,
        article_id=p.sub.article_id,
        author_id=p.sub.author_id,
        parent_id=p.sub.parent_id,
        text=p.sub.text,
        status=found.decision.status,
        scores=found.scored.scores,
        reasons=[r.as_dict() for r in found.decision.reasons],
        spans=found.spans,
        model_version=found.scored.model_version,
        author_ip=p.sub.author_ip,
        user_agent=p.sub.user_agent,
        fingerprint=found.fingerprint,
        language=found.language,
    )


def _new_stored(p: _Planned, principal: Principal) -> store.NewStoredComment:
    found = p.found
    assert found is not None
    return store.NewStoredComment(
        id=p.comment_id,
        comment=_new_comment(p),
        actor_name=f"model:{found.scored.model_version}",
        details={"submitted_by": principal.name, "mode": found.mode.value, "language": found.language},
    )


class Intake:
    """The instance's submission batcher: concurrent ``POST /v1/comments`` share reads, a model call
    and a transaction. ``max_batch`` bounds a batch, ``max_concurrent`` the batches in flight (each
    holds one pooled connection at a time), ``max_planning`` those of them reading and scoring (the
    next batch forms when one has scored and decided, while earlier ones wait for their commits),
    ``max_wait_s`` how long a batch may wait for company while others are running."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        scorer: Scorer,
        tools: PolicyTools,
        *,
        max_batch: int = 64,
        max_concurrent: int = 4,
        max_planning: int = 1,
        max_wait_s: float = 0.0,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        async def run(requests: list[Request], on_planned: Callable[[], None]) -> list[Any]:
            return await submit_comments(pool, scorer, tools, requests, on_planned)

        self._batcher: MicroBatcher[Request, Submitted] = MicroBatcher(
            run,
            max_batch=max_batch,
            max_concurrent=max_concurrent,
            max_wait_s=max_wait_s,
            on_batch=on_batch,
            first_phase_slots=max_planning,
        )

    async def submit(self, principal: Principal, sub: Submission) -> Submitted:
        return await self._batcher.submit(Request(principal, sub))

    async def close(self) -> None:
        """At shutdown, after the drain: a batch still running has no caller left (the server has
        answered or cut off every request), so it is cancelled and its transaction rolls back."""
        await self._batcher.close(cancel=True)
