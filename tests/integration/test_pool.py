"""The connection pool on real PostgreSQL: a released connection comes back clean, without a
reset round trip."""

from __future__ import annotations

import asyncpg

from service.db.pool import create_pool


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


async def test_prepared_statements_are_planned_for_their_parameters_every_time(db_dsn: str) -> None:
    # A generic plan made while a table is empty would otherwise be kept as it grows.
    pool = await create_pool(db_dsn, max_size=1, connect_timeout=10, command_timeout=30)
    try:
        async with pool.acquire() as conn:
            await conn.execute("CREATE TABLE plan_probe (n int PRIMARY KEY)")
            probe = "SELECT count(*) FROM plan_probe WHERE n = $1"
            stmt = await conn.prepare(probe)
            for i in range(8):  # PostgreSQL would go generic after five custom plans
                await stmt.fetchval(i)
            plans = await conn.fetchrow(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1", probe
            )
            assert (plans["generic_plans"], plans["custom_plans"]) == (0, 8)
    finally:
        await pool.close()
