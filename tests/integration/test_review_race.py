"""Claims under contention: every pending comment is claimed and decided exactly once."""

from __future__ import annotations

import asyncio
import collections

import asyncpg
import pytest

from service import moderation
from service.db import store
from service.db.pool import create_pool
from service.domain.types import Principal, Role, Status
from service.errors import AlreadyDecided, LeaseNotHeld
from service.keys import create_key

CLAIMERS = 20
COMMENTS = 200


async def _pending(conn: asyncpg.Connection, n: int) -> list[store.StoredComment]:
    out = []
    for i in range(n):
        c = await store.insert_comment(
            conn,
            store.NewComment(
                site_id="default",
                external_id=f"ext-{i}",
                article_id="article",
                author_id="author",
                parent_id=None,
                text=f"comment {i}",
                status=Status.PENDING,
                scores={"toxicity": 0.6},
                reasons=[],
                spans=[],
                model_version="test",
                author_ip=None,
                user_agent=None,
            ),
            created_by="model:test",
        )
        assert c is not None
        out.append(c)
    return out


async def _moderators(conn: asyncpg.Connection, n: int) -> list[Principal]:
    out = []
    for i in range(n):
        key = await create_key(conn, name=f"mod-{i}", role=Role.MODERATOR)
        out.append(Principal(key.id, key.name, Role.MODERATOR))
    return out


async def test_twenty_claimers_over_two_hundred_comments(db_dsn: str, conn: asyncpg.Connection) -> None:
    comments = await _pending(conn, COMMENTS)
    mods = await _moderators(conn, CLAIMERS)
    pool = await create_pool(db_dsn, max_size=CLAIMERS, connect_timeout=10, command_timeout=30)
    claimed: collections.Counter[str] = collections.Counter()
    decided_by: dict[str, str] = {}

    async def work(mod: Principal, n: int) -> None:
        while True:
            items = await moderation.claim_reviews(
                pool, mod, limit=3, site_id=None, article_id=None, lease_s=60
            )
            if not items:
                return
            for item in items:
                claimed[str(item.id)] += 1
                approve = (n + len(decided_by)) % 2 == 0
                await moderation.decide_review(pool, mod, item.id, approve=approve, reason=None)
                decided_by[str(item.id)] = mod.name

    try:
        await asyncio.gather(*(work(m, i) for i, m in enumerate(mods)))
    finally:
        await pool.close()

    ids = {str(c.id) for c in comments}
    assert set(claimed) == ids and set(claimed.values()) == {1}
    assert set(decided_by) == ids
    assert len(set(decided_by.values())) > 1, "work should be spread over several moderators"
    rows = await conn.fetch(
        "SELECT comment_id, count(*) AS n FROM comment_events WHERE action = 'decided' GROUP BY comment_id"
    )
    assert len(rows) == COMMENTS and {r["n"] for r in rows} == {1}
    assert await conn.fetchval("SELECT count(*) FROM comments WHERE status = 'pending'") == 0
    counts = await conn.fetchrow(
        "SELECT approved_count + rejected_count AS n FROM authors WHERE id = 'author'"
    )
    assert counts["n"] == COMMENTS


async def test_only_the_lease_holder_decides_and_only_once(db_dsn: str, conn: asyncpg.Connection) -> None:
    (comment,) = await _pending(conn, 1)
    a, b = await _moderators(conn, 2)
    pool = await create_pool(db_dsn, max_size=4, connect_timeout=10, command_timeout=30)
    try:
        (item,) = await moderation.claim_reviews(pool, a, limit=10, site_id=None, article_id=None, lease_s=60)
        assert (
            await moderation.claim_reviews(pool, b, limit=10, site_id=None, article_id=None, lease_s=60) == []
        )
        with pytest.raises(LeaseNotHeld):
            await moderation.decide_review(pool, b, item.id, approve=True, reason=None)
        decided = await moderation.decide_review(pool, a, item.id, approve=False, reason="insult")
        assert decided.status is Status.REJECTED
        with pytest.raises(AlreadyDecided):
            await moderation.decide_review(pool, a, item.id, approve=True, reason=None)
        history = await store.list_comment_events(conn, comment.id)
        # Its creation, then exactly one decision: the lease holder's.
        assert [(e.actor_name, e.to_status) for e in history] == [("model:test", "pending"), ("mod-0", "rejected")]
    finally:
        await pool.close()


async def test_an_expired_lease_returns_the_comment_to_the_queue(
    db_dsn: str, conn: asyncpg.Connection
) -> None:
    await _pending(conn, 1)
    a, b = await _moderators(conn, 2)
    pool = await create_pool(db_dsn, max_size=4, connect_timeout=10, command_timeout=30)
    try:
        (item,) = await moderation.claim_reviews(pool, a, limit=1, site_id=None, article_id=None, lease_s=60)
        await conn.execute("UPDATE comments SET lease_expires_at = now() - interval '1 second'")
        (again,) = await moderation.claim_reviews(pool, b, limit=1, site_id=None, article_id=None, lease_s=60)
        assert again.id == item.id
        with pytest.raises(LeaseNotHeld):
            await moderation.decide_review(pool, a, item.id, approve=True, reason=None)
        assert (
            await moderation.decide_review(pool, b, item.id, approve=True, reason=None)
        ).status is Status.APPROVED
    finally:
        await pool.close()
