"""A moderator who claims comments and disappears (closed tab, crash) does not strand them: when
the lease runs out on PostgreSQL's clock the comments are back in the queue for everyone, and the
vanished moderator's late decision is refused (409). Here the lease really expires; no clock edit."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from service import moderation
from service.db.pool import create_pool
from service.domain.types import Status
from service.errors import LeaseNotHeld
from tests.integration.test_review_race import _moderators, _pending

LEASE_S = 0.5


async def test_an_abandoned_lease_expires_and_the_comments_return_to_the_queue(
    db_dsn: str, conn: asyncpg.Connection
) -> None:
    await _pending(conn, 3)
    gone, other = await _moderators(conn, 2)
    pool = await create_pool(db_dsn, max_size=4, connect_timeout=10, command_timeout=30)
    try:
        claimed = await moderation.claim_reviews(pool, gone, limit=10, site_id=None, article_id=None, lease_s=LEASE_S)
        assert len(claimed) == 3
        assert await moderation.claim_reviews(pool, other, limit=10, site_id=None, article_id=None, lease_s=60) == []
        stats = await moderation.queue_stats(pool, other, site_id=None, article_id=None)
        assert (stats["depth"], stats["leased"]) == (3, 3)

        # The claimer vanishes. Wait for PostgreSQL's clock to pass the lease's end.
        while await conn.fetchval("SELECT count(*) FROM comments WHERE lease_expires_at >= now()"):
            await asyncio.sleep(0.1)

        stats = await moderation.queue_stats(pool, other, site_id=None, article_id=None)
        assert (stats["depth"], stats["leased"]) == (3, 0)
        again = await moderation.claim_reviews(pool, other, limit=10, site_id=None, article_id=None, lease_s=60)
        assert sorted(c.id for c in again) == sorted(c.id for c in claimed)
        with pytest.raises(LeaseNotHeld):
            await moderation.decide_review(pool, gone, claimed[0].id, approve=True, reason=None)
        decided = await moderation.decide_review(pool, other, claimed[0].id, approve=False, reason="late")
        assert decided.status is Status.REJECTED
    finally:
        await pool.close()
