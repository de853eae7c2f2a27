"""Which driver errors mean "the database is unavailable" (503), "too slow" (504) or "disk full"."""

from __future__ import annotations

import asyncpg
import pytest

from service.db.pool import is_disk_full, is_timeout, is_unavailable


def pg_error(cls: type[asyncpg.PostgresError]) -> asyncpg.PostgresError:
    return cls.new({"C": cls.sqlstate, "M": "test", "S": "ERROR"})  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(),
        asyncpg.exceptions.ConnectionDoesNotExistError("gone"),
        asyncpg.exceptions.InterfaceError("pool is closing"),
        # Seen under load when PostgreSQL shut down mid-conversation (tests/fault): a 500 before.
        asyncpg.exceptions.InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
        pg_error(asyncpg.exceptions.AdminShutdownError),
        pg_error(asyncpg.exceptions.CannotConnectNowError),
        pg_error(asyncpg.exceptions.TooManyConnectionsError),
    ],
)
def test_outages_are_unavailable(exc: BaseException) -> None:
    assert is_unavailable(exc)


def test_timeouts_and_disk_full_are_told_apart() -> None:
    assert is_timeout(pg_error(asyncpg.exceptions.QueryCanceledError))
    assert is_timeout(pg_error(asyncpg.exceptions.LockNotAvailableError))
    assert is_timeout(TimeoutError())
    full = pg_error(asyncpg.exceptions.DiskFullError)
    assert is_disk_full(full) and not is_timeout(full)


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("bug"),
        pg_error(asyncpg.exceptions.UniqueViolationError),
        pg_error(asyncpg.exceptions.CharacterNotInRepertoireError),
        pg_error(asyncpg.exceptions.UndefinedTableError),
    ],
)
def test_bugs_and_bad_data_are_not_outages(exc: BaseException) -> None:
    assert not is_unavailable(exc) and not is_timeout(exc) and not is_disk_full(exc)
