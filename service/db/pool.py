"""Connection pool and the translation of driver failures into domain errors."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Generator
from types import TracebackType
from typing import Any

import asyncpg
from asyncpg.pool import PoolAcquireContext, PoolConnectionProxy

log = logging.getLogger(__name__)


class DatabaseUnavailable(RuntimeError):
    """PostgreSQL cannot be reached or is refusing work: answer 503, never drop silently."""


class DatabaseBusy(DatabaseUnavailable):
    """No pooled connection came free in time: every connection is busy (or the server is slow)."""


# SQLSTATE 53100 disk_full: the server is up but cannot write; 57014 query_canceled: our
# statement_timeout (or lock_timeout, 55P03) fired.
DISK_FULL = "53100"
_TIMEOUT_STATES = ("57014", "55P03")


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
    if isinstance(exc, asyncpg.exceptions.InternalClientError):
        # The connection's protocol state broke when the server went away mid-conversation
        # ("cannot switch to state …; another operation is in progress", seen when PostgreSQL
        # shuts down under load). The pool discards the connection; a retry gets a fresh one.
        return True
    if isinstance(exc, asyncpg.PostgresError):
        state = getattr(exc, "sqlstate", "") or ""
        return state.startswith(_UNAVAILABLE_PREFIXES)
    return False


def is_timeout(exc: BaseException) -> bool:
    """Whether ``exc`` means a statement ran too long (server-side timeout or the client backstop)."""
    if isinstance(exc, asyncpg.PostgresError):
        return (getattr(exc, "sqlstate", "") or "") in _TIMEOUT_STATES
    return isinstance(exc, TimeoutError)


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, asyncpg.PostgresError) and getattr(exc, "sqlstate", None) == DISK_FULL


class _TimedAcquire:
    """``pool.acquire()`` with a deadline; a missed deadline is DatabaseBusy (503), not a hang."""

    __slots__ = ("_inner",)

    def __init__(self, inner: PoolAcquireContext) -> None:
        self._inner = inner

    async def __aenter__(self) -> PoolConnectionProxy:
        try:
            return await self._inner.__aenter__()
        except TimeoutError as exc:
            raise DatabaseBusy("no database connection came free in time") from exc

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, tb)

    def __await__(self) -> Generator[Any, None, PoolConnectionProxy]:
        return self.__aenter__().__await__()


class Pool(asyncpg.Pool):
    """asyncpg's pool whose ``acquire()`` waits at most ``acquire_timeout`` seconds by default.

    Without it a request queues for a connection forever when the pool is exhausted (a slow
    database holds every connection), which is exactly the hang callers must never see.
    """

    __slots__ = ("_acquire_timeout",)

    def __init__(self, *args: Any, acquire_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None) -> _TimedAcquire:  # type: ignore[override]
        return _TimedAcquire(super().acquire(timeout=self._acquire_timeout if timeout is None else timeout))


async def init_connection(conn: asyncpg.Connection) -> None:
    """Decode json/jsonb columns to Python objects on every pooled connection."""
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(typename, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


@contextlib.asynccontextmanager
async def connection(db: asyncpg.Pool | asyncpg.Connection | PoolConnectionProxy) -> AsyncIterator[Any]:
    """A connection from ``db``: acquired from it when it is a pool, ``db`` itself otherwise (a
    caller that already holds a connection need not take a second one from the pool)."""
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            yield conn
    else:
        yield db


async def reset_connection(conn: asyncpg.Connection) -> None:
    """What a connection needs on its way back to the pool: nothing beyond what asyncpg always does
    first (roll back an open transaction, drop listener callbacks).

    asyncpg's default reset also sends ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET
    ALL`` on every release, a round trip per release (two per batch of new comments). Pooled
    connections never change session state: LISTEN (``service/live.py``) and the retraining
    advisory lock (``service/retraining.py``) use connections of their own, settings are fixed
    per connection at connect time (``server_settings``), cursors live inside transactions, and
    nothing runs ``SET`` outside ``SET LOCAL``. ``tests/integration/test_pool.py`` checks both.
    """


def server_settings(statement_timeout: float) -> dict[str, str]:
    """Per-connection PostgreSQL settings that bound how long the server works for one request."""
    ms = str(max(1, int(statement_timeout * 1000)))
    return {
        "statement_timeout": ms,
        # Waiting on a row or table lock counts too, and must fail the same way.
        "lock_timeout": ms,
        # A connection left inside a transaction (a bug, a stuck client) must not hold locks forever.
        "idle_in_transaction_session_timeout": str(int(ms) * 6),
        # plan_cache_mode stays 'auto': the intake's read, whose generic plan went bad on tables
        # that were empty when it was made, is planned at every call by its own function
        # (migrations/0005_intake_context_function.sql); forcing custom plans on the connection
        # also replanned every foreign-key check of every write.
    }


async def create_pool(
    dsn: str,
    *,
    max_size: int,
    connect_timeout: float,
    command_timeout: float,
    statement_timeout: float = 5.0,
    acquire_timeout: float = 5.0,
) -> Pool:
    """A pool that opens connections lazily, so the service starts even while PostgreSQL is down."""
    pool = Pool(
        dsn,
        min_size=0,
        max_size=max_size,
        max_queries=50_000,
        # Recycle idle connections so a restarted server is rediscovered quickly.
        max_inactive_connection_lifetime=60.0,
        setup=None,
        init=init_connection,
        reset=reset_connection,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        acquire_timeout=acquire_timeout,
        timeout=connect_timeout,
        command_timeout=command_timeout,
        server_settings=server_settings(statement_timeout),
    )
    await pool
    return pool


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
