"""The per-instance word-list cache: one automaton per site and version, and a bounded number of sites."""

from __future__ import annotations

from service.db import store
from service.db.pool import create_pool
from service.domain.wordlist import BANNED
from service.sites import WordListCache


async def test_keeps_at_most_max_sites_least_recently_used_first(db_dsn: str) -> None:
    pool = await create_pool(db_dsn, max_size=2, connect_timeout=10, command_timeout=30)
    try:
        cache = WordListCache(max_sites=2)
        a = await cache.matcher(pool, "site-a", 0)
        b = await cache.matcher(pool, "site-b", 0)
        assert await cache.matcher(pool, "site-a", 0) is a  # a hit: a is now the most recently used
        await cache.matcher(pool, "site-c", 0)  # b goes
        assert len(cache) == 2
        assert await cache.matcher(pool, "site-a", 0) is a
        assert await cache.matcher(pool, "site-b", 0) is not b  # rebuilt
        # Any number of site ids (a global key may name any) leaves the cache at its bound.
        for i in range(50):
            await cache.matcher(pool, f"site-{i}", 0)
        assert len(cache) == 2
    finally:
        await pool.close()


async def test_a_new_version_is_rebuilt_with_its_terms(db_dsn: str) -> None:
    pool = await create_pool(db_dsn, max_size=2, connect_timeout=10, command_timeout=30)
    try:
        cache = WordListCache(max_sites=2)
        before = await cache.matcher(pool, "site-w", 0)
        assert before.find("you are a nitwit") == []
        async with pool.acquire() as conn:
            await store.ensure_site(conn, "site-w")
            await store.insert_word_terms(conn, "site-w", BANNED, ["nitwit"])
            version = await store.bump_site_settings_version(conn, "site-w")
        after = await cache.matcher(pool, "site-w", version)
        assert [h.term for h in after.find("you are a nitwit")] == ["nitwit"]
        assert await cache.matcher(pool, "site-w", version) is after
    finally:
        await pool.close()
