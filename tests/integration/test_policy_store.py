"""The policy's named queries on real PostgreSQL: author activity windows, the webhook claim under
contention, and erasure cascading through every table that names the author."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from service.db import store
from service.db.pool import create_pool
from service.domain.types import Status


async def _comment(conn: asyncpg.Connection, author: str, text: str, status: Status, fingerprint: bytes) -> uuid.UUID:
    made = await store.insert_comment(
        conn,
        store.NewComment(
            site_id="default",
            external_id=None,
            article_id="a",
            author_id=author,
            parent_id=None,
            text=text,
            status=status,
            scores={},
            reasons=[],
            spans=[],
            model_version="test",
            author_ip="198.51.100.1",
            user_agent="ua",
            fingerprint=fingerprint,
        ),
    )
    assert made is not None
    return made.id


async def test_author_activity_counts_each_window(conn: asyncpg.Connection) -> None:
    fp = b"same"
    recent = [await _comment(conn, "u", f"t{i}", Status.APPROVED, fp) for i in range(2)]
    old = await _comment(conn, "u", "old", Status.REJECTED, fp)
    ancient = await _comment(conn, "u", "ancient", Status.REJECTED, b"other")
    await _comment(conn, "someone-else", "x", Status.REJECTED, fp)
    await conn.execute("UPDATE comments SET created_at = now() - interval '2 hours' WHERE id = $1", old)
    await conn.execute("UPDATE comments SET created_at = now() - interval '40 days' WHERE id = $1", ancient)

    row = await store.author_activity(conn, "default", "u", fp, repeat_window_s=600, window_days=30)
    assert row["last_minute"] == len(recent) and 0 <= row["oldest_in_last_minute_age_s"] < 60
    assert row["repeats"] == 2  # the two-hour-old copy is outside the 10-minute window
    assert (row["window_approved"], row["window_rejected"]) == (2, 1)  # the 40-day-old one is outside

    row = await store.author_activity(conn, "default", "u", fp, repeat_window_s=3 * 3600, window_days=60)
    assert row["repeats"] == 3 and row["window_rejected"] == 2


async def test_concurrent_deliverers_never_claim_the_same_event(db_dsn: str, conn: asyncpg.Connection) -> None:
    cid = await _comment(conn, "u", "t", Status.APPROVED, b"f")
    await conn.execute(
        """UPDATE sites SET settings = '{"webhook_url": "http://127.0.0.1:9/", "webhook_secret": "s"}'"""
    )
    for _ in range(200):
        await store.enqueue_webhook(conn, uuid.uuid4(), "default", "comment.approved", cid, {"x": 1})
    pool = await create_pool(db_dsn, max_size=10, connect_timeout=5, command_timeout=10)
    try:

        async def deliverer() -> list[uuid.UUID]:
            taken: list[uuid.UUID] = []
            while True:
                async with pool.acquire() as c:
                    batch = await store.claim_webhooks(c, 7, 60.0)
                if not batch:
                    return taken
                taken += [e.id for e in batch]
                assert all(e.url == "http://127.0.0.1:9/" and e.secret == "s" for e in batch)

        results = await asyncio.gather(*(deliverer() for _ in range(10)))
    finally:
        await pool.close()
    claimed = [i for r in results for i in r]
    assert len(claimed) == len(set(claimed)) == 200
    assert await conn.fetchval("SELECT min(attempts) FROM webhook_outbox") == 1


async def test_erasure_renames_the_author_everywhere(conn: asyncpg.Connection) -> None:
    cid = await _comment(conn, "u", "personal words", Status.APPROVED, b"f")
    await store.insert_author_event(
        conn, "default", "u", actor_kind="moderator", actor_name="m", action="trusted",
        from_standing="active", to_standing="trusted", details={},
    )  # fmt: skip
    await store.insert_comment_revision(conn, cid, 1, "earlier personal words")
    assert await store.rename_author(conn, "default", "u", "erased-x")
    assert await store.erase_author_comment_texts(conn, "default", "erased-x") == 1
    await store.delete_author_revisions(conn, "default", "erased-x")
    row = await conn.fetchrow("SELECT author_id, text, author_ip, user_agent FROM comments WHERE id = $1", cid)
    assert tuple(row) == ("erased-x", "", None, None)
    assert await conn.fetchval("SELECT author_id FROM author_events") == "erased-x"
    assert await conn.fetchval("SELECT count(*) FROM comment_revisions") == 0
    assert not await store.rename_author(conn, "default", "u", "erased-y")


async def test_stored_comments_come_back_as_a_later_read_sees_them(conn: asyncpg.Connection) -> None:
    """store_comments builds each stored comment from what it sent plus the columns the server
    filled in; that must be exactly the comment a later read returns (the API answers with it and
    webhooks carry it), including a real max_score's float4 rounding and non-ASCII text."""
    scores = {"toxicity": 0.1234, "insult": 0.7071, "spam": 0.0}
    reasons = [{"code": "model_insult", "label": "insult", "score": 0.7071, "threshold": 0.5}]
    spans = [{"start": 0, "end": 5, "label": "insult", "weight": 0.31}]
    new = [
        store.NewStoredComment(
            uuid.uuid4(),
            store.NewComment(
                site_id="fresh-site",
                external_id=f"x-{n}",
                article_id="fresh-article",
                author_id=f"writer-{n % 2}",
                parent_id=None,
                text=text,
                status=status,
                scores=scores,
                reasons=reasons,
                spans=spans,
                model_version="m1",
                author_ip="198.51.100.7" if n else None,
                user_agent="ua",
                fingerprint=bytes([n]) * 32,
                language="tr" if n else None,
            ),
            "model:m1",
            {"mode": "postmod"},
        )
        for n, (text, status) in enumerate(
            [("İyi bir yazı, teşekkürler 🙏", Status.APPROVED), ("Idiot.", Status.PENDING), ("spam", Status.REJECTED)]
        )
    ]
    stored = await store.store_comments(conn, new)
    assert set(stored) == {n.id for n in new}
    for n in new:
        assert stored[n.id] == await store.get_comment(conn, n.id)
    # A (site, external id) stored already is left out, and nothing else is written for it.
    again = store.NewStoredComment(uuid.uuid4(), new[0].comment, "model:m1", {})
    assert await store.store_comments(conn, [again]) == {}
    assert await conn.fetchval("SELECT count(*) FROM comment_events WHERE comment_id = $1", again.id) == 0
