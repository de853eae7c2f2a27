"""The review queue's NOTIFY trigger: one message per statement, per site, with what changed."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest

from tests.helpers import insert_pending


class Rollback(Exception):
    pass


async def listen(dsn: str) -> tuple[asyncpg.Connection, asyncio.Queue[dict]]:
    conn = await asyncpg.connect(dsn)
    received: asyncio.Queue[dict] = asyncio.Queue()
    await conn.add_listener("moderation_queue", lambda *args: received.put_nowait(json.loads(args[-1])))
    return conn, received


async def drain(received: asyncio.Queue[dict]) -> list[dict]:
    await asyncio.sleep(0.3)
    out = []
    while not received.empty():
        out.append(received.get_nowait())
    return out


async def test_one_notification_per_statement(db_dsn: str, conn: asyncpg.Connection) -> None:
    listener, received = await listen(db_dsn)
    try:
        for i in range(30):
            await insert_pending(conn, site_id="s1" if i % 3 else "s2", author_id=f"a{i}")
        assert len(await drain(received)) == 30
        await conn.execute("UPDATE comments SET status = 'approved' WHERE status = 'pending'")
        assert await drain(received) == [{"s1": {"left": 20}, "s2": {"left": 10}}]
        # Changes that do not touch the queue say nothing.
        await conn.execute("UPDATE comments SET updated_at = now()")
        assert await drain(received) == []
        await conn.execute("UPDATE comments SET status = 'pending' WHERE site_id = 's2'")
        assert await drain(received) == [{"s2": {"entered": 10}}]
        # The reported queue: a report marks the comment, a decision settles it.
        await conn.execute("UPDATE comments SET reported_at = now() WHERE site_id = 's2' AND author_id = 'a0'")
        assert await drain(received) == [{"s2": {"reported": 1}}]
        await conn.execute("UPDATE comments SET reported_at = NULL WHERE site_id = 's2' AND author_id = 'a0'")
        assert await drain(received) == [{"s2": {"settled": 1}}]
        # A rolled-back change notifies nobody.
        with pytest.raises(Rollback):
            async with conn.transaction():
                await conn.execute("UPDATE comments SET status = 'approved' WHERE site_id = 's2'")
                raise Rollback
        assert await drain(received) == []
    finally:
        await listener.close()
