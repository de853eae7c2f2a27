"""Connection pool and the translation of driver failures into domain errors."""

from __future__ import annotations

import asyncio
import json
import logging

import asyncpg

log = logging.getLogger(__name__)


class DatabaseUnavailable(RuntimeError):
    """PostgreSQL cannot be reached or is refusing work: answer 503, never drop silently."""


# SQLSTATE classes that mean "the server is not there or not accepting work right now",
# as opposed to a bug or bad data: 08 connection exceptions, 53 insufficient resources,
# 57P0x operator intervention (shutdown, crash recovery, cannot connect now).
_UNAVAILABLE_PREFIXES = ("08", "53", "57P")


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database is unreachable rather than the request being wrong."""
    if isinstance(exc, (OSError, asyncio.TimeoutError, asyncpg.exceptions.InterfaceError)):
        return True
    if isinstance(exc, asyncpg.exceptions.ConnectionDoesNotExistError):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        state = getattr(exc, "sqlstate", "") or ""
        return state.startswith(_UNAVAILABLE_PREFIXES)
    return False


async def init_connection(conn: asyncpg.Connection) -> None:
    """Decode json/jsonb columns to Python objects on every pooled connection."""
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(typename, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(
    dsn: str, *, max_size: int, connect_timeout: float, command_timeout: float
) -> asyncpg.Pool:
    """A pool that opens connections lazily, so the service starts even while PostgreSQL is down."""
    return await asyncpg.create_pool(
        dsn,
        min_size=0,
        max_size=max_size,
        timeout=connect_timeout,
        command_timeout=command_timeout,
        init=init_connection,
        # Recycle idle connections so a restarted server is rediscovered quickly.
        max_inactive_connection_lifetime=60.0,
    )


async def wait_for_database(dsn: str, *, timeout: float) -> None:
    """Block until PostgreSQL accepts a connection, or raise DatabaseUnavailable after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.2
    while True:
        try:
            conn = await asyncpg.connect(dsn, timeout=min(5.0, timeout))
        except Exception as exc:
            if not is_unavailable(exc) or loop.time() + delay > deadline:
                raise DatabaseUnavailable(f"database unreachable: {exc.__class__.__name__}") from exc
            log.info("database not ready yet (%s); retrying", exc.__class__.__name__)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
        else:
            await conn.close()
            return
