"""Site settings and word lists: the use cases, and the per-instance cache of word-list automatons."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import asyncpg

from service.db import store
from service.db.pool import connection
from service.domain.rules import SitePolicy, article_settings
from service.domain.types import Principal
from service.domain.wordlist import BANNED, SUSPECT, WordListMatcher
from service.errors import Forbidden, InvalidReference

WORD_LIST_KINDS = (BANNED, SUSPECT)


def own_site(principal: Principal, site_id: str) -> str:
    """A key bound to a site may only manage that site."""
    if principal.site_id is not None and principal.site_id != site_id:
        raise Forbidden("this key may only act on its own site", field="site_id")
    return site_id


@dataclass(frozen=True)
class SiteState:
    policy: SitePolicy
    version: int  # changes with settings and word lists: the automaton cache key
    raw: dict[str, Any] = field(default_factory=dict)  # the stored settings document

    def for_article(self, overrides: dict[str, Any] | None) -> SiteState:
        """The policy in force on an article with these overrides."""
        if not overrides:
            return self
        merged = article_settings(self.raw, overrides)
        return SiteState(SitePolicy.from_mapping(merged), self.version, merged)


async def load_site(conn: store.Conn, site_id: str, article_id: str | None = None) -> SiteState:
    """A site's policy (with an article's overrides when given); defaults for a site without settings."""
    stored = await store.get_site_settings(conn, site_id)
    state = (
        SiteState(SitePolicy(), 0)
        if stored is None
        else SiteState(SitePolicy.from_mapping(stored.settings), stored.version, stored.settings)
    )
    if article_id is None:
        return state
    return state.for_article(await store.get_article_settings(conn, site_id, article_id))


V = TypeVar("V")


class _RecentSites(Generic[V]):
    """What an instance keeps per site, at most ``max_sites`` of them, the least recently used
    dropped first (a global key may name any site_id)."""

    def __init__(self, max_sites: int) -> None:
        if max_sites < 1:
            raise ValueError("max_sites must be >= 1")
        self._items: OrderedDict[str, V] = OrderedDict()
        self._max_sites = max_sites

    def __len__(self) -> int:
        return len(self._items)

    def get(self, site_id: str) -> V | None:
        found = self._items.get(site_id)
        if found is not None:
            self._items.move_to_end(site_id)
        return found

    def put(self, site_id: str, value: V) -> None:
        self._items[site_id] = value
        self._items.move_to_end(site_id)
        while len(self._items) > self._max_sites:
            self._items.popitem(last=False)


# Sites whose settings one instance keeps parsed (least recently used dropped past this many).
SITE_CACHE_SITES = 1024


class SiteCache:
    """The parsed settings of the sites this instance has seen, each with its settings version.

    The intake reads the current version of each site in a batch with the rest of the batch's
    context (one statement) and reloads only a site whose version moved, so a batch needs no
    settings read of its own. Every change to a site's settings or word lists bumps its version,
    whichever instance makes it.
    """

    def __init__(self, max_sites: int = SITE_CACHE_SITES) -> None:
        self._states: _RecentSites[SiteState] = _RecentSites(max_sites)

    def __len__(self) -> int:
        return len(self._states)

    def get(self, site_id: str) -> SiteState | None:
        """The site's settings as last loaded here (maybe outdated: compare versions), or None."""
        return self._states.get(site_id)

    async def load(self, conn: store.Conn, site_id: str) -> SiteState:
        """Read the site's current settings and keep them."""
        state = await load_site(conn, site_id)
        self._states.put(site_id, state)
        return state


# Sites whose automatons one instance keeps. A global key may name any site_id, and each new one
# used to stay cached (with a lock) for the life of the process; past this many the least recently
# used site is dropped and rebuilt on its next comment (an empty list builds in microseconds).
WORD_LIST_CACHE_SITES = 1024
# Builds are serialized per lock; sites share a fixed set of locks (by hash), so the locks need no
# eviction. Two sites on one lock only wait for each other's build.
WORD_LIST_BUILD_LOCKS = 64


class WordListCache:
    """One automaton per site, built once per settings version and shared by all requests.

    Building normalizes every term (10,000 terms take a few hundred milliseconds), so it runs in a
    worker thread, and a lock makes concurrent requests for a site wait for one build instead of
    each starting their own. At most ``max_sites`` sites are kept (least recently used dropped).
    """

    def __init__(self, max_sites: int = WORD_LIST_CACHE_SITES) -> None:
        self._built: _RecentSites[tuple[int, WordListMatcher]] = _RecentSites(max_sites)
        self._locks = tuple(asyncio.Lock() for _ in range(WORD_LIST_BUILD_LOCKS))

    def __len__(self) -> int:
        return len(self._built)

    def _cached(self, site_id: str, version: int) -> WordListMatcher | None:
        cached = self._built.get(site_id)
        return cached[1] if cached is not None and cached[0] == version else None

    async def matcher(self, db: asyncpg.Pool | store.Conn, site_id: str, version: int) -> WordListMatcher:
        """The site's automaton for settings ``version``, built on first use (reading the terms
        from ``db``: the pool, or a connection the caller holds)."""
        cached = self._cached(site_id, version)
        if cached is not None:
            return cached
        async with self._locks[hash(site_id) % len(self._locks)]:
            cached = self._cached(site_id, version)
            if cached is not None:
                return cached
            async with connection(db) as conn:
                # Read the version with the terms: a change committed in between is picked up next time.
                async with conn.transaction(isolation="repeatable_read", readonly=True):
                    stored = await store.get_site_settings(conn, site_id)
                    terms = await store.list_all_word_terms(conn, site_id)
            current = stored.version if stored else 0
            banned = [t for kind, t in terms if kind == BANNED]
            suspect = [t for kind, t in terms if kind == SUSPECT]
            built = await asyncio.to_thread(WordListMatcher, banned, suspect)
            self._built.put(site_id, (current, built))
            return built


async def get_settings(pool: asyncpg.Pool, principal: Principal, site_id: str) -> store.StoredSiteSettings:
    own_site(principal, site_id)
    async with pool.acquire() as conn:
        stored = await store.get_site_settings(conn, site_id)
    return stored or store.StoredSiteSettings(site_id, {}, 0)


async def put_settings(
    pool: asyncpg.Pool, principal: Principal, site_id: str, settings: dict[str, Any]
) -> store.StoredSiteSettings:
    """Replace a site's settings. An absent webhook secret keeps the current one (it is never shown back)."""
    own_site(principal, site_id)
    async with pool.acquire() as conn, conn.transaction():
        current = await store.get_site_settings(conn, site_id)
        if settings.get("webhook_secret") is None and current is not None:
            kept = current.settings.get("webhook_secret")
            if kept is not None:
                settings = {**settings, "webhook_secret": kept}
        if settings.get("webhook_url") and not settings.get("webhook_secret"):
            raise InvalidReference("a webhook_url needs a webhook_secret to sign with", field="webhook_secret")
        # None is meaningful for some settings (max_links: no limit), so only the secret is dropped.
        settings = {k: v for k, v in settings.items() if k != "webhook_secret" or v is not None}
        return await store.put_site_settings(conn, site_id, settings)


async def get_article_overrides(
    pool: asyncpg.Pool, principal: Principal, site_id: str, article_id: str
) -> dict[str, Any]:
    own_site(principal, site_id)
    async with pool.acquire() as conn:
        return await store.get_article_settings(conn, site_id, article_id) or {}


async def put_article_overrides(
    pool: asyncpg.Pool, principal: Principal, site_id: str, article_id: str, overrides: dict[str, Any]
) -> dict[str, Any]:
    """Replace an article's overrides of its site's settings (keys of ``ARTICLE_OVERRIDES``)."""
    own_site(principal, site_id)
    async with pool.acquire() as conn, conn.transaction():
        await store.ensure_site(conn, site_id)
        return await store.put_article_settings(conn, site_id, article_id, overrides)


async def get_word_list(pool: asyncpg.Pool, principal: Principal, site_id: str, kind: str) -> list[str]:
    own_site(principal, site_id)
    async with pool.acquire() as conn:
        return await store.list_word_terms(conn, site_id, kind)


async def change_word_list(
    pool: asyncpg.Pool,
    principal: Principal,
    site_id: str,
    kind: str,
    *,
    replace: list[str] | None = None,
    add: list[str] = (),  # type: ignore[assignment]
    remove: list[str] = (),  # type: ignore[assignment]
) -> list[str]:
    """Replace a list (``replace``) or add and remove terms; every instance rebuilds on its next comment."""
    own_site(principal, site_id)
    async with pool.acquire() as conn, conn.transaction():
        await store.ensure_site(conn, site_id)
        if replace is not None:
            await store.delete_word_terms(conn, site_id, kind, None)
            await store.insert_word_terms(conn, site_id, kind, _clean(replace))
        if remove:
            await store.delete_word_terms(conn, site_id, kind, _clean(remove))
        if add:
            await store.insert_word_terms(conn, site_id, kind, _clean(add))
        await store.bump_site_settings_version(conn, site_id)
        return await store.list_word_terms(conn, site_id, kind)


def _clean(terms: list[str]) -> list[str]:
    return sorted({t.strip() for t in terms if t.strip()})
