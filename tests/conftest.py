"""Shared fixtures: one real PostgreSQL per test session, a fresh database per test.

The server is ``MODERATION_TEST_DATABASE_URL`` when set (any PostgreSQL 13+ where the
user may create databases); otherwise an embedded PostgreSQL started in a temporary
directory, the same mechanism ``moderation serve`` uses on a fresh machine. Each test
gets its own database cloned from a migrated template, so tests never see each other.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from service.db.migrations import apply_migrations
from service.domain.types import Role
from service.keys import create_key
from service.settings import REPO_ROOT
from tests.helpers import Keys, server_dir

MIGRATIONS = REPO_ROOT / "migrations"
SHARED_DATA = Path(os.environ.get("MODERATION_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """DSN of a PostgreSQL server for this test session."""
    url = os.environ.get("MODERATION_TEST_DATABASE_URL")
    if url:
        yield url
        return
    from service.db.embedded import EmbeddedPostgres

    with server_dir("tests") as data_dir:
        embedded = EmbeddedPostgres(data_dir)
        try:
            yield embedded.start()
        finally:
            embedded.stop()


async def _admin(server: str, statement: str) -> None:
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


async def create_database(server: str, prefix: str, template: str | None = None) -> str:
    """Create a uniquely named database (cloned from ``template`` when given); return its name."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    clone = f' TEMPLATE "{template}"' if template else ""
    await _admin(server, f'CREATE DATABASE "{name}"{clone}')
    return name


async def drop_database(server: str, name: str) -> None:
    await _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def template_db(pg_server: str) -> Iterator[str]:
    """Name of a database with every migration applied, cloned by each test."""
    import asyncio

    async def create() -> str:
        name = await create_database(pg_server, "moderation_tmpl")
        conn = await asyncpg.connect(with_database(pg_server, name))
        try:
            await apply_migrations(conn, MIGRATIONS)
        finally:
            await conn.close()
        return name

    name = asyncio.run(create())
    yield name
    asyncio.run(drop_database(pg_server, name))


@pytest.fixture
async def db_dsn(pg_server: str, template_db: str) -> AsyncIterator[str]:
    """DSN of a fresh, migrated database for one test."""
    name = await create_database(pg_server, "moderation_test", template=template_db)
    yield with_database(pg_server, name)
    await drop_database(pg_server, name)


@pytest.fixture
async def empty_db_dsn(pg_server: str) -> AsyncIterator[str]:
    """DSN of an empty database (no migrations), for migration tests."""
    name = await create_database(pg_server, "moderation_empty")
    yield with_database(pg_server, name)
    await drop_database(pg_server, name)


@pytest.fixture
async def keys(conn: asyncpg.Connection) -> Keys:
    """One live key per role (two moderators), made in the test's database."""
    made = {}
    for name, role in [
        ("submitter", Role.SUBMITTER),
        ("moderator", Role.MODERATOR),
        ("moderator_b", Role.MODERATOR),
        ("admin", Role.ADMIN),
        ("trainer", Role.TRAINER),
    ]:
        made[name] = (await create_key(conn, name=name, role=role)).secret
    return Keys(**made)


@pytest.fixture
async def conn(db_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    from service.db.pool import init_connection

    connection = await asyncpg.connect(db_dsn)
    await init_connection(connection)
    yield connection
    await connection.close()


def requires_shared_data(*names: str) -> pytest.MarkDecorator:
    """Skip a test cleanly when ../shared/data (or one of its datasets) is absent."""
    missing = [n for n in names or ("",) if not (SHARED_DATA / n).exists()]
    return pytest.mark.skipif(bool(missing), reason=f"shared data not available: {SHARED_DATA}")


@pytest.fixture(autouse=True)
def _release_finished_apps() -> Iterator[None]:
    """Let each test's app (and the ~110 MB model it holds) be freed when the test ends.

    aiohttp caches built middleware chains in a module-level LRU cache (1024 entries) keyed by
    the app, so without this every app a test made stayed alive until the session ended: the
    whole suite reached ~10 GB and was OOM-killed on a shared machine. Production has one app.
    """
    yield
    import aiohttp.web_app

    cache = getattr(aiohttp.web_app, "_cached_build_middleware", None)
    if cache is not None and hasattr(cache, "cache_clear"):
        cache.cache_clear()
