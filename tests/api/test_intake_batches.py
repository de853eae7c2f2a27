"""Micro-batched intake on the real app and database: a batch gives every submission the answer it
would have had alone, and concurrent HTTP submissions are each stored exactly once."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from aiohttp.test_utils import TestClient

from service.appkeys import POLICY_TOOLS, POOL, SCORER
from service.db import store
from service.db.pool import create_pool
from service.domain.types import Principal, Role
from service.errors import ArticleClosed, Forbidden, InvalidReference, RateLimited
from service.intake import Request, Submission, Submitted, submit_comments
from service.moderation import PolicyTools
from tests.api.policy_helpers import LENIENT, configure, submit, words
from tests.helpers import ABUSIVE, CIVIL, Keys, auth

SUBMITTER = Principal(key_id=0, name="submitter", role=Role.SUBMITTER, site_id=None)


def req(text: str = CIVIL, *, author: str = "reader-1", article: str = "a1", **extra: object) -> Request:
    return Request(SUBMITTER, Submission(article_id=article, author_id=author, text=text, **extra))  # type: ignore[arg-type]


async def run_batch(client: TestClient, requests: list[Request]) -> list[Submitted | Exception]:
    app = client.app
    assert app is not None
    return await submit_comments(app[POOL], app[SCORER], app[POLICY_TOOLS], requests)


async def test_one_batch_answers_each_submission_as_if_alone(
    client: TestClient, keys: Keys, conn: asyncpg.Connection
) -> None:
    await configure(client, keys, flood_max_per_minute=2, repeat_action="reject")
    resp = await client.put("/v1/articles/closed-one", json={"mode": "closed"}, headers=auth(keys.admin))
    assert resp.status == 200, await resp.text()
    status, parent = await submit(client, keys, article_id="a1", author_id="parent-author")
    assert status == 201
    status, elsewhere = await submit(client, keys, article_id="a2", author_id="parent-author")
    assert status == 201
    status, earlier = await submit(client, keys, external_id="ext-earlier", author_id="early")
    assert status == 201

    outcomes = await run_batch(
        client,
        [
            req(external_id="ext-1", author="ann"),  # 0 stored
            req(external_id="ext-1", author="ann"),  # 1 same external id as 0: its answer, not stored twice
            req(external_id="ext-earlier", author="early"),  # 2 stored in an earlier batch
            req(article="closed-one", author="bob"),  # 3 closed article
            req("First comment from carol here.", author="carol"),  # 4 stored
            req("Second, different comment from carol.", author="carol"),  # 5 stored
            req("Third comment from carol, too many.", author="carol"),  # 6 flooding: 2 per minute
            req("Same words twice from dave.", author="dave"),  # 7 stored
            req("Same words twice from dave!", author="dave"),  # 8 a repeat of 7 in the same batch
            req(parent_id=uuid.UUID(parent["id"]), author="erin"),  # 9 a reply on the parent's article
            req(parent_id=uuid.UUID(elsewhere["id"]), author="erin"),  # 10 parent on another article
            req(parent_id=uuid.uuid4(), author="frank"),  # 11 no such parent
            req(ABUSIVE, author="gina"),  # 12 scored like any other
            Request(
                Principal(key_id=0, name="bound", role=Role.SUBMITTER, site_id="other"),
                Submission(article_id="a1", author_id="hal", text=CIVIL, site_id="default"),
            ),  # 13 a key bound to another site
        ],
    )
    first, dup, again = outcomes[0], outcomes[1], outcomes[2]
    assert isinstance(first, Submitted) and first.created
    assert isinstance(dup, Submitted) and not dup.created and dup.comment.id == first.comment.id
    assert isinstance(again, Submitted) and not again.created and str(again.comment.id) == earlier["id"]
    assert isinstance(outcomes[3], ArticleClosed)
    assert [i for i in (4, 5, 7, 9, 12) if not isinstance(outcomes[i], Submitted)] == [], outcomes
    assert isinstance(outcomes[6], RateLimited) and outcomes[6].retry_after_s >= 1
    repeat = outcomes[8]
    assert isinstance(repeat, Submitted) and repeat.comment.status.value == "rejected"
    assert [r["code"] for r in repeat.comment.reasons] == ["repeated_comment"]
    assert isinstance(outcomes[10], InvalidReference) and isinstance(outcomes[11], InvalidReference)
    assert isinstance(outcomes[13], Forbidden)
    abusive = outcomes[12]
    assert isinstance(abusive, Submitted) and abusive.comment.status.value != "approved"
    assert abusive.comment.spans, "the reasons for holding it come with the spans that drove the score"

    # Exactly what was answered as created is stored, once, with one history entry each.
    created = [o.comment.id for o in outcomes if isinstance(o, Submitted) and o.created]
    assert len(created) == 7
    stored = await conn.fetch("SELECT id FROM comments WHERE id = ANY($1::uuid[])", created)
    assert len(stored) == 7
    events = await conn.fetchval(
        "SELECT count(*) FROM comment_events WHERE comment_id = ANY($1::uuid[]) AND action = 'created'", created
    )
    assert events == 7
    assert await conn.fetchval("SELECT count(*) FROM comments WHERE external_id = 'ext-1'") == 1
    assert await conn.fetchval("SELECT count(*) FROM comments WHERE author_id IN ('bob', 'frank', 'hal')") == 0
    # The authors' tallies count the automatic decisions of the batch.
    tallies = await conn.fetchrow(
        "SELECT approved_count, rejected_count FROM authors WHERE site_id = 'default' AND id = 'dave'"
    )
    assert tallies["rejected_count"] == 1 and tallies["approved_count"] + tallies["rejected_count"] <= 2


async def test_a_comment_the_database_refuses_fails_alone(client: TestClient, conn: asyncpg.Connection) -> None:
    # An external id longer than the column allows (the HTTP layer trims them; a direct caller may not).
    outcomes = await run_batch(
        client,
        [req(external_id="ok-1", author="a"), req(external_id="x" * 201, author="b"), req(author="c")],
    )
    assert isinstance(outcomes[0], Submitted) and isinstance(outcomes[2], Submitted)
    assert isinstance(outcomes[1], asyncpg.CheckViolationError)
    assert await conn.fetchval("SELECT count(*) FROM comments WHERE author_id IN ('a', 'b', 'c')") == 2


async def test_concurrent_http_submissions_are_each_stored_once(
    client: TestClient, keys: Keys, conn: asyncpg.Connection
) -> None:
    # 120 concurrent requests, 40 of them retries of another one's idempotency key.
    async def post(n: int) -> tuple[int, dict[str, object]]:
        key = f"storm-{n % 80}"
        body = {"article_id": f"a{n % 3}", "author_id": f"reader-{n % 80}", "text": f"{CIVIL} ({n % 80})"}
        resp = await client.post("/v1/comments", json=body, headers={**auth(keys.submitter), "Idempotency-Key": key})
        return resp.status, await resp.json()

    results = await asyncio.gather(*(post(n) for n in range(120)))
    assert all(status in (200, 201) for status, _ in results), results
    assert sum(1 for status, _ in results if status == 201) == 80
    by_key: dict[str, set[object]] = {}
    for _, body in results:
        by_key.setdefault(str(body["external_id"]), set()).add(body["id"])
    assert len(by_key) == 80 and all(len(ids) == 1 for ids in by_key.values())
    assert await conn.fetchval("SELECT count(*) FROM comments WHERE external_id LIKE 'storm-%'") == 80
    assert await conn.fetchval("SELECT count(*) FROM comment_events WHERE action = 'created'") == 80
    # The batches were real: the metric saw a batch of more than one.
    metrics = await (await client.get("/metrics")).text()
    sizes = [line for line in metrics.splitlines() if line.startswith("moderation_intake_batch_size_count")]
    counts = [line for line in metrics.splitlines() if line.startswith("moderation_intake_batch_size_sum")]
    assert sizes and counts
    batches, comments = float(sizes[0].split()[-1]), float(counts[0].split()[-1])
    assert comments == 120 and batches < 120


async def test_a_batch_creates_new_sites_articles_and_authors_in_one_go(
    client: TestClient, conn: asyncpg.Connection
) -> None:
    outcomes = await run_batch(
        client,
        [req(site_id="brand-new", article="n1", author="ivy"), req(site_id="brand-new", article="n2", author="ivy")],
    )
    assert all(isinstance(o, Submitted) and o.created for o in outcomes), outcomes
    assert await conn.fetchval("SELECT count(*) FROM sites WHERE id = 'brand-new'") == 1
    assert await conn.fetchval("SELECT count(*) FROM articles WHERE site_id = 'brand-new'") == 2
    assert await conn.fetchval("SELECT count(*) FROM authors WHERE site_id = 'brand-new'") == 1


async def test_a_batch_builds_a_word_list_on_its_own_connection(client: TestClient, keys: Keys, db_dsn: str) -> None:
    """A batch holds one pooled connection; a word list built during it (first use, or after an
    edit) is read on that connection, so even a pool of one connection never runs dry."""
    await words(client, keys, "banned", ["frobnicate"])
    app = client.app
    assert app is not None
    pool = await create_pool(db_dsn, max_size=1, connect_timeout=10, command_timeout=30, acquire_timeout=2)
    try:
        fresh = PolicyTools()  # an empty word-list cache: the batch must build the site's list
        outcomes = await submit_comments(
            pool, app[SCORER], fresh, [req("You should frobnicate the council.", author="w1"), req(author="w2")]
        )
    finally:
        await pool.close()
    banned, civil = outcomes
    assert isinstance(banned, Submitted) and banned.comment.status.value == "rejected"
    assert any(s["label"] == "banned_word" for s in banned.comment.spans)
    assert isinstance(civil, Submitted) and civil.created


async def test_settings_changed_by_another_instance_apply_to_the_next_batch(
    client: TestClient, keys: Keys, conn: asyncpg.Connection
) -> None:
    """An instance keeps each site's parsed settings between batches; a change made elsewhere
    (another worker process, written straight to the database here) bumps the site's version,
    and the next batch sees the moved version in its context read and uses the new settings."""
    await configure(client, keys, link_min_approved=0)
    link = "Details at https://spam.example/offer for everyone."
    first, second = await run_batch(client, [req(link, author="s1"), req(author="s2")])
    assert isinstance(first, Submitted) and first.comment.status.value == "approved"
    app = client.app
    assert app is not None
    cached = app[POLICY_TOOLS].sites.get("default")
    assert cached is not None and cached.policy.blocked_domains == ()

    other = {"thresholds": LENIENT, "blocked_domains": ["spam.example"], "link_min_approved": 0}
    stored = await store.put_site_settings(conn, "default", other)
    assert stored.version > cached.version

    (again,) = await run_batch(client, [req(link, author="s3")])
    assert isinstance(again, Submitted) and again.comment.status.value == "rejected", again
    now = app[POLICY_TOOLS].sites.get("default")
    assert now is not None and now.version == stored.version
    assert now.policy.blocked_domains == ("spam.example",)


async def test_a_site_created_by_a_batch_is_read_again_once_it_exists(client: TestClient) -> None:
    """A site with no row yet is cached with its defaults (version 0); the row the batch creates
    has a real version, which the next batch notices and reads."""
    (first,) = await run_batch(client, [req(site_id="cache-new", author="c1")])
    assert isinstance(first, Submitted) and first.created
    app = client.app
    assert app is not None
    cached = app[POLICY_TOOLS].sites.get("cache-new")
    assert cached is not None and cached.version == 0
    (second,) = await run_batch(client, [req(site_id="cache-new", author="c2")])
    assert isinstance(second, Submitted) and second.created
    reread = app[POLICY_TOOLS].sites.get("cache-new")
    assert reread is not None and reread.version >= 1
