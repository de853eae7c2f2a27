"""API keys: generation, hashing, lookup with a short cache, and management for the CLI."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from service.db import store
from service.domain.types import Principal, Role

KEY_PREFIX = "cm_"
# How long a looked-up key is trusted without asking the database again (the default of
# Settings.key_cache_ttl_s). Revocation therefore takes effect within this many seconds on every instance.
CACHE_TTL_S = 10.0
CACHE_MAX = 10_000


@dataclass(frozen=True)
class NewKey:
    id: int
    name: str
    role: Role
    secret: str  # shown once, never stored


def generate_key() -> str:
    """A new random key: 256 bits of entropy, URL-safe, recognisable by its prefix."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


async def create_key(conn: store.Conn, *, name: str, role: Role, site_id: str | None = None) -> NewKey:
    secret = generate_key()
    if site_id is not None:
        await store.ensure_site(conn, site_id)
    row = await store.insert_api_key(conn, name, role, hash_key(secret), secret[:10], site_id)
    return NewKey(row["id"], row["name"], role, secret)


@dataclass(frozen=True)
class RotatedKey:
    new: NewKey
    old_key_id: int
    old_valid_until: dt.datetime


class UnknownKey(LookupError):
    """No active key has that name."""


async def rotate_key(conn: store.Conn, *, name: str, grace_s: float = 0.0) -> RotatedKey:
    """Replace the active key ``name`` with a new secret of the same role and site, in one transaction.

    The old key stops working ``grace_s`` seconds from now (at once with 0), so a website can
    deploy the new secret before the old one dies. Instances that cached the old key keep
    accepting it for at most their key cache TTL after that.
    """
    if grace_s < 0:
        raise ValueError("grace_s must be >= 0")
    async with conn.transaction():
        old = await store.retire_api_key(conn, name, grace_s)
        if old is None:
            raise UnknownKey(f"no active key named {name!r}")
        secret = generate_key()
        role = Role(old["role"])
        row = await store.insert_api_key(conn, name, role, hash_key(secret), secret[:10], old["site_id"])
    return RotatedKey(NewKey(row["id"], row["name"], role, secret), old["id"], old["revoked_at"])


async def ensure_key(conn: store.Conn, *, name: str, role: Role, secret: str) -> None:
    """Make sure a key with this exact secret exists (used to bootstrap the first admin)."""
    if await store.get_api_key_by_hash(conn, hash_key(secret)) is None:
        await store.insert_api_key(conn, name, role, hash_key(secret), secret[:10], None)


class KeyResolver:
    """Turns a bearer key into a Principal; caches hits briefly to spare the database."""

    def __init__(
        self, pool: asyncpg.Pool, ttl_s: float = CACHE_TTL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._pool = pool
        self._ttl = ttl_s
        self._clock = clock
        self._cache: dict[bytes, tuple[float, Principal]] = {}

    async def resolve(self, key: str) -> Principal | None:
        digest = hash_key(key)
        now = self._clock()
        hit = self._cache.get(digest)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        async with self._pool.acquire() as conn:
            found = await store.get_api_key_by_hash(conn, digest)
            if found is None or not hmac.compare_digest(found.key_hash, digest):
                self._cache.pop(digest, None)
                return None
            await store.touch_api_key(conn, found.id)
        principal = Principal(found.id, found.name, found.role, found.site_id)
        if len(self._cache) >= CACHE_MAX:
            self._cache.clear()
        self._cache[digest] = (now, principal)
        return principal
