"""``moderation backup`` / ``restore`` as processes on a real database: what was dumped comes back."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import asyncpg

from service.backup import split_password
from tests.e2e.conftest import MODERATION


def cli(dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODERATION_")}
    env["MODERATION_DATABASE_URL"] = dsn
    return subprocess.run([MODERATION, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


async def sites(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return [r["id"] for r in await conn.fetch("SELECT id FROM sites ORDER BY id")]
    finally:
        await conn.close()


async def execute(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def test_backup_then_restore_brings_back_the_dumped_state(db_dsn: str, empty_db_dsn: str, tmp_path: Path) -> None:
    assert cli(db_dsn, "keys", "create", "--role", "submitter", "--name", "website").returncode == 0
    await execute(db_dsn, "INSERT INTO sites (id, name) VALUES ('news', 'News')")
    dump = tmp_path / "moderation.dump"
    made = cli(db_dsn, "backup", "--out", str(dump))
    assert made.returncode == 0, made.stderr
    assert dump.stat().st_size > 0

    await execute(db_dsn, "INSERT INTO sites (id, name) VALUES ('later', 'x'); DELETE FROM sites WHERE id = 'news'")
    restored = cli(db_dsn, "restore", str(dump))
    assert restored.returncode == 0, restored.stderr
    assert await sites(db_dsn) == ["default", "news"]

    # Into an empty database (a new server): schema, migration records and keys all come back.
    restored = cli(empty_db_dsn, "restore", str(dump))
    assert restored.returncode == 0, restored.stderr
    assert await sites(empty_db_dsn) == ["default", "news"]
    listed = cli(empty_db_dsn, "keys", "list")
    assert listed.returncode == 0 and "website" in listed.stdout
    assert cli(empty_db_dsn, "migrate").stdout.startswith("applied 0 migration")


def test_password_never_reaches_the_command_line() -> None:
    url, env = split_password("postgresql://moderation:s%40cret@127.0.0.1:5433/moderation")
    assert url == "postgresql://moderation@127.0.0.1:5433/moderation" and env == {"PGPASSWORD": "s@cret"}
    assert split_password("postgresql://postgres@127.0.0.1/test") == ("postgresql://postgres@127.0.0.1/test", {})
    url, _ = split_password("postgresql://u:p@[::1]:5432/db")
    assert url == "postgresql://u@[::1]:5432/db"
