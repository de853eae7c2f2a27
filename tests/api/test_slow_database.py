"""A slow or full database gives a clear, fast problem answer, never a hang (real PostgreSQL).

Slowness is real: another session holds a lock the request needs, so PostgreSQL's own
lock_timeout/statement_timeout fires (504), or every pooled connection is stuck and the
pool's acquire deadline fires (503). A full disk is PostgreSQL's own SQLSTATE 53100 raised by a
real INSERT (here from a trigger; tests/fault/test_disk_full.py fills a real filesystem).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
from aiohttp.test_utils import TestClient

from service.app import create_app
from service.settings import Settings
from tests.helpers import CIVIL, Keys, assert_problem, auth

ClientFactory = Callable[..., Awaitable[TestClient]]
COMMENT = {"article_id": "a", "author_id": "u", "text": CIVIL}
# The test's own bound for "did not hang": far above every timeout configured below.
HANG = 30


async def app_client(settings: Settings, aiohttp_client: ClientFactory, **updates: object) -> TestClient:
    return await aiohttp_client(create_app(settings.model_copy(update=updates)))


async def test_a_statement_blocked_on_a_lock_times_out_as_504_and_stores_nothing(
    settings: Settings, aiohttp_client: ClientFactory, keys: Keys, db_dsn: str, conn: asyncpg.Connection
) -> None:
    client = await app_client(settings, aiohttp_client, db_statement_timeout_s=0.5)
    blocker = await asyncpg.connect(db_dsn)
    try:
        tx = blocker.transaction()
        await tx.start()
        await blocker.execute("LOCK TABLE comments IN ACCESS EXCLUSIVE MODE")
        resp = await asyncio.wait_for(client.post("/v1/comments", json=COMMENT, headers=auth(keys.submitter)), HANG)
        problem = await resp.json()
        assert_problem(resp.status, resp.content_type, problem, 504, "database_timeout")
        assert int(resp.headers["Retry-After"]) >= 1
        await tx.rollback()
    finally:
        await blocker.close()
    assert await conn.fetchval("SELECT count(*) FROM comments") == 0
    resp = await client.post("/v1/comments", json=COMMENT, headers=auth(keys.submitter))
    assert resp.status == 201, "the service recovers as soon as the lock is gone"


async def test_an_exhausted_pool_answers_503_instead_of_queueing_forever(
    settings: Settings, aiohttp_client: ClientFactory, keys: Keys, db_dsn: str, conn: asyncpg.Connection
) -> None:
    client = await app_client(
        settings, aiohttp_client, db_pool_max=1, db_acquire_timeout_s=0.3, db_statement_timeout_s=20
    )
    # Warm the key cache, so only the blocked statement needs the single connection.
    assert (await client.get("/v1/review/stats", headers=auth(keys.admin))).status == 200
    assert (await client.post("/v1/score", json={"text": "hi"}, headers=auth(keys.submitter))).status == 200
    blocker = await asyncpg.connect(db_dsn)
    try:
        tx = blocker.transaction()
        await tx.start()
        await blocker.execute("LOCK TABLE comments IN ACCESS EXCLUSIVE MODE")
        stuck = asyncio.create_task(client.post("/v1/comments", json=COMMENT, headers=auth(keys.submitter)))
        # The stuck request holds the only connection once the lock makes it wait. (The activity
        # view is a snapshot inside a transaction: clear it before each look.)
        while await blocker.execute("SELECT pg_stat_clear_snapshot()") and not await blocker.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        ):
            await asyncio.sleep(0.05)
        resp = await asyncio.wait_for(client.get("/v1/review/stats", headers=auth(keys.admin)), HANG)
        problem = await resp.json()
        assert_problem(resp.status, resp.content_type, problem, 503, "database_unavailable")
        assert resp.headers["Retry-After"]
        await tx.rollback()
        first = await asyncio.wait_for(stuck, HANG)
        assert first.status == 201, "the request that waited for the lock completes once it is released"
    finally:
        await blocker.close()
    assert await conn.fetchval("SELECT count(*) FROM comments") == 1


async def test_disk_full_is_a_503_storage_problem_and_nothing_half_stored(
    client: TestClient, keys: Keys, conn: asyncpg.Connection
) -> None:
    await conn.execute(
        """
        CREATE FUNCTION test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full';
        END $$;
        CREATE TRIGGER test_disk_full BEFORE INSERT ON comment_events
            FOR EACH ROW EXECUTE FUNCTION test_disk_full();
        """
    )
    resp = await client.post("/v1/comments", json=COMMENT, headers=auth(keys.submitter))
    problem = await resp.json()
    assert_problem(resp.status, resp.content_type, problem, 503, "storage_full")
    assert resp.headers["Retry-After"]
    assert "No space" not in problem["detail"], "internals are not echoed"
    # The comment row was inserted before the failing event row: the transaction undid both.
    assert await conn.fetchval("SELECT count(*) FROM comments") == 0
    await conn.execute("DROP TRIGGER test_disk_full ON comment_events")
    resp = await client.post("/v1/comments", json=COMMENT, headers=auth(keys.submitter))
    assert resp.status == 201
