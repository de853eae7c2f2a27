"""Live queue updates: one PostgreSQL LISTEN connection per instance, fanned out to subscribers.

The database sends one notification per statement that changes the review queue (see the
trigger in migration 0002): per site, how many comments entered or left the queue and how
many were claimed or released. Each moderator page holds one subscription (a server-sent
event stream). A subscriber that falls behind, or a listener that lost its connection and
may have missed notifications, gets a ``resync`` event: the page then re-reads what it shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from service.db import store

log = logging.getLogger(__name__)

CHANNEL = "moderation_queue"
# Events a slow subscriber may have waiting before it is told to resync instead.
SUBSCRIBER_BACKLOG = 256
# How often an idle listening connection is checked: a dead TCP peer is only noticed on I/O.
LISTENER_PING_S = 30.0


@dataclass(frozen=True)
class LiveEvent:
    kind: str  # "queue" | "resync" | "closed"
    data: dict[str, Any] = field(default_factory=dict)


class Subscription:
    """One subscriber's queue of events; ``site_id`` limits it to one site (site-bound keys)."""

    def __init__(self, hub: QueueHub, site_id: str | None) -> None:
        self._hub = hub
        self.site_id = site_id
        self._events: asyncio.Queue[LiveEvent] = asyncio.Queue(SUBSCRIBER_BACKLOG)

    def offer(self, event: LiveEvent) -> None:
        try:
            self._events.put_nowait(event)
        except asyncio.QueueFull:
            # Too far behind to be told each change: drop the backlog and ask for a full re-read.
            while not self._events.empty():
                self._events.get_nowait()
            self._events.put_nowait(LiveEvent("resync", {"why": "backlog"}))

    async def next(self, timeout: float) -> LiveEvent | None:
        """The next event, or None when ``timeout`` seconds pass without one (time for a heartbeat)."""
        try:
            return await asyncio.wait_for(self._events.get(), timeout)
        except TimeoutError:
            return None

    def close(self) -> None:
        self._hub.unsubscribe(self)


class QueueHub:
    """Listens on the queue channel with a dedicated connection and fans out to subscriptions."""

    def __init__(self, dsn: str, *, reconnect_max_s: float = 5.0) -> None:
        self._dsn = dsn
        self._reconnect_max_s = reconnect_max_s
        self._subscribers: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self.connected = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="queue-listener")

    def subscribe(self, site_id: str | None) -> Subscription:
        sub = Subscription(self, site_id)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscribers.discard(sub)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def dispatch(self, payload: str) -> None:
        """Hand one notification to every subscriber that may see it."""
        try:
            per_site = json.loads(payload)
        except ValueError:
            log.warning("ignoring a malformed queue notification")
            return
        if not isinstance(per_site, dict):
            return
        for sub in list(self._subscribers):
            sites = per_site if sub.site_id is None else {k: v for k, v in per_site.items() if k == sub.site_id}
            if sites:
                sub.offer(LiveEvent("queue", {"sites": sites}))

    def _broadcast(self, event: LiveEvent) -> None:
        for sub in list(self._subscribers):
            sub.offer(event)

    async def close(self) -> None:
        """Stop listening and end every subscriber's stream."""
        self._closing.set()
        self._broadcast(LiveEvent("closed"))
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        delay = 0.2
        first = True
        while not self._closing.is_set():
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self._dsn, timeout=10)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, lambda _c, _pid, _ch, payload: self.dispatch(payload))
                self.connected.set()
                if not first:
                    # Notifications sent while we were away are gone: everyone re-reads.
                    self._broadcast(LiveEvent("resync", {"why": "reconnected"}))
                first, delay = False, 0.2
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), LISTENER_PING_S)
                    if not lost.is_set():
                        await asyncio.wait_for(store.ping(conn), 10)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is down or restarting: keep trying
                log.warning("queue listener lost its connection (%s); reconnecting", exc.__class__.__name__)
            finally:
                self.connected.clear()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), 5)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._reconnect_max_s)
