"""The connection pool on real PostgreSQL: a released connection comes back clean, without a
reset round trip."""

from __future__ import annotations

import asyncpg

from service.db import store
from service.db.pool import create_pool
from service.db.queries import QUERIES
from service.db.store import IntakeKey


async def test_a_transaction_left_open_is_rolled_back_on_release(db_dsn: str) -> None:
    pool = await create_pool(db_dsn, max_size=1, connect_timeout=10, command_timeout=30)
    try:
        async with pool.acquire() as conn:
            await conn.execute("CREATE TABLE pool_probe (n int)")
        async with pool.acquire() as conn:
            await conn.execute("BEGIN")
            await conn.execute("INSERT INTO pool_probe VALUES (1)")
            assert conn.is_in_transaction()
        async with pool.acquire() as conn:  # the same connection (max_size=1)
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT count(*) FROM pool_probe") == 0
    finally:
        await pool.close()


async def test_release_sends_no_reset_statement(db_dsn: str) -> None:
    pool = await create_pool(db_dsn, max_size=1, connect_timeout=10, command_timeout=30)
    watcher = await asyncpg.connect(db_dsn)
    try:
        async with pool.acquire() as conn:
            pid = conn.get_server_pid()
            await conn.fetchval("SELECT 1 /* last statement before release */")
        # pg_stat_activity shows an idle backend's last statement: asyncpg's default reset would
        # have sent "SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;" here.
        last = await watcher.fetchval("SELECT query FROM pg_stat_activity WHERE pid = $1", pid)
        assert last == "SELECT 1 /* last statement before release */"
    finally:
        await watcher.close()
        await pool.close()


async def test_the_intake_read_follows_the_tables_as_they_grow(db_dsn: str) -> None:
    # PostgreSQL may keep one generic plan for a prepared statement after five executions, costed
    # on the tables of that moment (and on a guess of 10 submissions per batch, so it looks cheaper
    # than a custom plan for a batch of 20). Made while the tables were empty, such a plan scans
    # the whole comments table for every submission once a comment storm has filled it.
    pool = await create_pool(db_dsn, max_size=1, connect_timeout=10, command_timeout=30)
    keys = [IntakeKey("probe-site", f"x-{i}", "a-1", f"author-{i}", b"f" * 16, 300, 30) for i in range(1, 21)]
    try:
        async with pool.acquire() as conn:
            for _ in range(10):  # batches of 20, on empty tables
                await store.intake_context(conn, keys)
            await conn.execute(
                """
                INSERT INTO sites (id, name) VALUES ('probe-site', 'probe');
                INSERT INTO articles (site_id, id, mode) VALUES ('probe-site', 'a-1', 'postmod');
                INSERT INTO authors (site_id, id) SELECT 'probe-site', 'author-' || n FROM generate_series(1, 2000) n;
                INSERT INTO comments (site_id, external_id, article_id, author_id, text, status)
                SELECT 'probe-site', 'c-' || n, 'a-1', 'author-' || (n % 2000 + 1), repeat('words ', 40), 'approved'
                FROM generate_series(1, 20000) n;
                """
            )
            for _ in range(3):  # the same connection and statement, on the grown tables
                await store.intake_context(conn, keys)
            # Run the service's very statement (its prepared form on this connection) once more,
            # counting the pages it touched.
            name = await conn.fetchval(
                "SELECT name FROM pg_prepared_statements WHERE statement = $1", QUERIES["intake_context"]
            )
            assert name is not None
            n = len(keys)
            args = ", ".join(
                [
                    f"array_fill('probe-site'::text, ARRAY[{n}])",
                    "ARRAY[" + ", ".join(f"'{k.external_id}'" for k in keys) + "]",
                    f"array_fill('a-1'::text, ARRAY[{n}])",
                    "ARRAY[" + ", ".join(f"'{k.author_id}'" for k in keys) + "]",
                    f"array_fill('\\x66'::bytea, ARRAY[{n}])",
                    f"array_fill(300::float8, ARRAY[{n}])",
                    f"array_fill(30, ARRAY[{n}])",
                    f"array_fill(NULL::uuid, ARRAY[{n}])",
                ]
            )
            plan = await conn.fetchval(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE {name}({args})")
            top = plan[0]["Plan"]  # the pool's connections decode json
            pages = top["Shared Hit Blocks"] + top["Shared Read Blocks"]
            total = await conn.fetchval("SELECT pg_relation_size('comments') / current_setting('block_size')::int")
            assert total > 500
            # Index lookups read a few pages per submission; a scan of comments reads them all each time.
            assert pages < 20 * n, f"{pages} pages read for {n} submissions (comments has {total})"
    finally:
        await pool.close()
