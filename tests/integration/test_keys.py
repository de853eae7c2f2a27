"""API keys on real PostgreSQL: stored hashed, rotatable with a grace period, revocable, and a
revocation reaches a running service within its key cache TTL."""

from __future__ import annotations

import asyncpg
import pytest

from service.db import store
from service.db.pool import create_pool
from service.domain.types import Role
from service.keys import KeyResolver, UnknownKey, create_key, hash_key, rotate_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def pool(db_dsn: str):  # type: ignore[no-untyped-def]
    p = await create_pool(db_dsn, max_size=2, connect_timeout=10, command_timeout=30)
    yield p
    await p.close()


async def test_only_a_hash_of_the_key_is_stored(conn: asyncpg.Connection) -> None:
    new = await create_key(conn, name="website", role=Role.SUBMITTER)
    rows = await conn.fetch("SELECT row_to_json(k)::text AS j, key_hash FROM api_keys k")
    assert len(rows) == 1
    assert new.secret not in rows[0]["j"] and new.secret[10:] not in rows[0]["j"]
    assert bytes(rows[0]["key_hash"]) == hash_key(new.secret)


async def test_rotation_without_grace_revokes_the_old_key_at_once(
    conn: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    await store.ensure_site(conn, "paper")
    old = await create_key(conn, name="website", role=Role.SUBMITTER, site_id="paper")
    rotated = await rotate_key(conn, name="website")
    assert rotated.new.secret != old.secret and rotated.old_key_id == old.id
    resolver = KeyResolver(pool, ttl_s=0)
    assert await resolver.resolve(old.secret) is None
    principal = await resolver.resolve(rotated.new.secret)
    assert principal is not None
    assert (principal.name, principal.role, principal.site_id) == ("website", Role.SUBMITTER, "paper")
    listed = {r["id"]: r for r in await store.list_api_keys(conn)}
    assert listed[old.id]["revoked"] and not listed[rotated.new.id]["revoked"]


async def test_rotation_with_grace_keeps_both_until_revoked(conn: asyncpg.Connection, pool: asyncpg.Pool) -> None:
    old = await create_key(conn, name="website", role=Role.SUBMITTER)
    rotated = await rotate_key(conn, name="website", grace_s=3600)
    resolver = KeyResolver(pool, ttl_s=0)
    assert await resolver.resolve(old.secret) is not None
    assert await resolver.resolve(rotated.new.secret) is not None
    listed = {r["id"]: r for r in await store.list_api_keys(conn)}
    assert listed[old.id]["revoked_at"] is not None and not listed[old.id]["revoked"]
    # A second rotation during the grace period retires the current key only.
    again = await rotate_key(conn, name="website", grace_s=0)
    assert await resolver.resolve(rotated.new.secret) is None
    assert await resolver.resolve(old.secret) is not None
    # Revoking the name ends every live key under it, the one in its grace period included.
    assert await store.revoke_api_key(conn, "website")
    for secret in (old.secret, rotated.new.secret, again.new.secret):
        assert await resolver.resolve(secret) is None


async def test_rotating_an_unknown_or_revoked_name_fails(conn: asyncpg.Connection) -> None:
    with pytest.raises(UnknownKey):
        await rotate_key(conn, name="nobody")
    await create_key(conn, name="gone", role=Role.MODERATOR)
    await store.revoke_api_key(conn, "gone")
    with pytest.raises(UnknownKey):
        await rotate_key(conn, name="gone")
    with pytest.raises(ValueError):
        await rotate_key(conn, name="gone", grace_s=-1)
    assert await conn.fetchval("SELECT count(*) FROM api_keys") == 1  # nothing half-made


async def test_revocation_takes_effect_within_the_cache_ttl(conn: asyncpg.Connection, pool: asyncpg.Pool) -> None:
    clock = Clock()
    resolver = KeyResolver(pool, ttl_s=10.0, clock=clock)
    key = await create_key(conn, name="mod", role=Role.MODERATOR)
    assert await resolver.resolve(key.secret) is not None
    await store.revoke_api_key(conn, "mod")
    clock.now += 9.9
    assert await resolver.resolve(key.secret) is not None, "still inside the documented cache TTL"
    clock.now += 0.2
    assert await resolver.resolve(key.secret) is None, "past the TTL the revocation is seen"
    clock.now += 100
    assert await resolver.resolve(key.secret) is None


async def test_a_cached_key_survives_a_database_outage_and_an_unknown_one_does_not_hit_the_cache(
    conn: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    """The cache spares the database; it never turns an unknown key into a known one."""
    clock = Clock()
    resolver = KeyResolver(pool, ttl_s=10.0, clock=clock)
    key = await create_key(conn, name="web", role=Role.SUBMITTER)
    assert await resolver.resolve(key.secret) is not None
    await pool.close()  # the database is gone for this resolver
    assert await resolver.resolve(key.secret) is not None
    with pytest.raises(asyncpg.InterfaceError):
        await resolver.resolve("cm_" + "x" * 43)
