"""Migrations apply to an empty database, are idempotent, take turns, and refuse edits."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import asyncpg
import pytest

from service.db.migrations import MigrationError, apply_migrations, load_migrations
from service.settings import REPO_ROOT

MIGRATIONS = REPO_ROOT / "migrations"


async def test_all_migrations_apply_to_an_empty_database_and_record_checksums(empty_db_dsn: str) -> None:
    conn = await asyncpg.connect(empty_db_dsn)
    try:
        done = await apply_migrations(conn, MIGRATIONS)
        assert [m.version for m in done] == [m.version for m in load_migrations(MIGRATIONS)]
        rows = await conn.fetch("SELECT version, checksum FROM schema_migrations ORDER BY version")
        assert [(r["version"], r["checksum"]) for r in rows] == [(m.version, m.checksum) for m in done]
        tables = {
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        }
        assert {"comments", "comment_events", "articles", "authors", "api_keys", "model_versions"} <= tables
        assert await apply_migrations(conn, MIGRATIONS) == []  # idempotent
    finally:
        await conn.close()


async def test_concurrent_migrations_take_turns(empty_db_dsn: str) -> None:
    async def run() -> int:
        conn = await asyncpg.connect(empty_db_dsn)
        try:
            return len(await apply_migrations(conn, MIGRATIONS))
        finally:
            await conn.close()

    counts = await asyncio.gather(*(run() for _ in range(4)))
    assert sorted(counts) == [0, 0, 0, len(load_migrations(MIGRATIONS))]


async def test_an_edited_applied_migration_is_refused(empty_db_dsn: str, tmp_path: Path) -> None:
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, copy)
    conn = await asyncpg.connect(empty_db_dsn)
    try:
        await apply_migrations(conn, copy)
        first = sorted(copy.glob("*.sql"))[0]
        first.write_text(first.read_text() + "\n-- edited\n")
        with pytest.raises(MigrationError, match="edited"):
            await apply_migrations(conn, copy)
    finally:
        await conn.close()


def test_gaps_in_numbering_are_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0003_c.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="0002"):
        load_migrations(tmp_path)


async def test_history_is_append_only(conn: asyncpg.Connection) -> None:
    await conn.execute("INSERT INTO articles (site_id, id) VALUES ('default', 'a')")
    await conn.execute("INSERT INTO authors (site_id, id) VALUES ('default', 'u')")
    cid = await conn.fetchval(
        "INSERT INTO comments (site_id, article_id, author_id, text, status) "
        "VALUES ('default', 'a', 'u', 'hi', 'pending') RETURNING id"
    )
    await conn.execute(
        "INSERT INTO comment_events (comment_id, actor_kind, actor_name, action) VALUES ($1, 'system', 'x', 'created')",
        cid,
    )
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await conn.execute("UPDATE comment_events SET actor_name = 'y'")
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await conn.execute("DELETE FROM comment_events")
