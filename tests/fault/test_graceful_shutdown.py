"""SIGTERM under load: the service stops accepting connections, lets in-flight requests finish
within its drain timeout (``web.run_app(shutdown_timeout=settings.shutdown_timeout_s)``), then
closes the pool and exits 0. Nothing answered 2xx is lost; what is cut off was never answered 2xx.

To have requests reliably in flight, a test session locks the comments table: every POST waits
inside PostgreSQL until the lock is released, exactly like a slow database would make it wait.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from tests.fault.conftest import (
    HANG_S,
    Cluster,
    Outcome,
    assert_log_clean,
    comment,
    make_key,
    missing_ids,
    post_comment,
    serve,
)

IN_FLIGHT = 8
# Submissions are micro-batched: with batches of at most 2 and 4 batches at once, all four allowed
# to read at once (the default lets one read and score at a time), the 8 requests are 4 batches
# waiting on the lock inside PostgreSQL and the rest queued behind them.
BATCHING = {"intake_max_batch": "2", "intake_max_concurrent": "4", "intake_max_planning": "4"}
BATCHES_WAITING = 4


async def wait_for_lock_waiters(conn: asyncpg.Connection, n: int) -> None:
    deadline = time.monotonic() + HANG_S
    query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    # Inside a transaction the activity view is a snapshot: clear it before each look.
    while await conn.execute("SELECT pg_stat_clear_snapshot()") and await conn.fetchval(query) < n:
        assert time.monotonic() < deadline, "requests never reached the database"
        await asyncio.sleep(0.05)


async def refuses_connections(url: str) -> bool:
    """Whether the listening socket is closed (a new connection is refused)."""
    deadline = time.monotonic() + HANG_S
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(f"{url}/healthz", timeout=aiohttp.ClientTimeout(total=2)):
                    pass
            except aiohttp.ClientConnectorError:
                return True
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.05)
    return False


@pytest.mark.slow
async def test_sigterm_drains_in_flight_requests_and_loses_nothing(cluster: Cluster, tmp_path: Path) -> None:
    server = serve(cluster, tmp_path / "server.log", db_statement_timeout_s="30", shutdown_timeout_s="20", **BATCHING)
    key = await make_key(cluster)
    blocker = await cluster.connect()
    t0 = time.monotonic()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HANG_S)) as http:
            warm = await post_comment(http, server.url, key, comment(0, "drain"), t0)  # caches the key
            assert warm.status == 201
            tx = blocker.transaction()
            await tx.start()
            await blocker.execute("LOCK TABLE comments IN ACCESS EXCLUSIVE MODE")
            in_flight = [
                asyncio.create_task(post_comment(http, server.url, key, comment(i, "drain"), t0))
                for i in range(1, IN_FLIGHT + 1)
            ]
            await wait_for_lock_waiters(blocker, BATCHES_WAITING)

            server.process.send_signal(signal.SIGTERM)
            cluster.faults += 1
            assert await refuses_connections(server.url), "still accepting new connections after SIGTERM"
            late = await post_comment(http, server.url, key, comment(99, "drain"), t0)
            assert late.status is None and late.error, "a request after SIGTERM must not be accepted"
            assert server.process.poll() is None, "exited before its in-flight requests finished"

            await tx.rollback()  # the database answers again: the in-flight requests can finish
            outcomes: list[Outcome] = await asyncio.gather(*in_flight)
        assert [o.status for o in outcomes] == [201] * IN_FLIGHT, outcomes
        assert await asyncio.to_thread(server.process.wait, HANG_S) == 0, server.log()
        ids = [warm.body["id"], *(o.body["id"] for o in outcomes)]
        assert await missing_ids(cluster, ids) == []
        log = server.log()
        assert "Traceback" not in log, log
        assert_log_clean(server, key, "council vote was closer")
    finally:
        await blocker.close()
        server.stop()


@pytest.mark.slow
async def test_requests_past_the_drain_timeout_are_cut_off_and_nothing_half_stored(
    cluster: Cluster, tmp_path: Path
) -> None:
    """In-flight work longer than the drain timeout is cancelled: its transaction rolls back, the
    client sees the connection close (never a 2xx), and the process still exits cleanly."""
    server = serve(cluster, tmp_path / "server.log", db_statement_timeout_s="60", shutdown_timeout_s="1", **BATCHING)
    key = await make_key(cluster)
    blocker = await cluster.connect()
    t0 = time.monotonic()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HANG_S)) as http:
            warm = await post_comment(http, server.url, key, comment(0, "cut"), t0)
            assert warm.status == 201
            async with blocker.transaction():
                await blocker.execute("LOCK TABLE comments IN ACCESS EXCLUSIVE MODE")
                in_flight = [
                    asyncio.create_task(post_comment(http, server.url, key, comment(i, "cut"), t0))
                    for i in range(1, IN_FLIGHT + 1)
                ]
                await wait_for_lock_waiters(blocker, BATCHES_WAITING)
                server.process.send_signal(signal.SIGTERM)
                cluster.faults += 1
                # Hold the lock past the drain timeout: the service must give up and exit anyway.
                code = await asyncio.to_thread(server.process.wait, HANG_S)
                outcomes: list[Outcome] = await asyncio.gather(*in_flight)
        assert code == 0, server.log()
        assert all(o.status is None and o.error for o in outcomes), outcomes
        conn = await cluster.connect()
        try:
            stored = await conn.fetchval("SELECT count(*) FROM comments WHERE article_id = 'fault-cut'")
            assert stored == 1, "only the comment answered 201 before SIGTERM is stored"
            assert await conn.fetchval("SELECT count(*) FROM comment_events") == 1
        finally:
            await conn.close()
    finally:
        await blocker.close()
        server.stop()
