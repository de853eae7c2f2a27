"""The live-update hub: one listening connection fanning out, filtered by site, healing after a drop."""

from __future__ import annotations

import asyncio

import asyncpg

from service.live import QueueHub
from tests.helpers import insert_pending


async def next_event(sub, kind: str, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        event = await sub.next(deadline - loop.time())
        if event is not None and event.kind == kind:
            return event
    raise AssertionError(f"no {kind} event within {timeout}s")


async def test_fan_out_site_filter_and_resync_after_a_lost_connection(db_dsn: str, conn: asyncpg.Connection) -> None:
    hub = QueueHub(db_dsn, reconnect_max_s=0.5)
    hub.start()
    try:
        everyone = hub.subscribe(None)
        site_b_only = hub.subscribe("b")
        await asyncio.wait_for(hub.connected.wait(), 10)

        await insert_pending(conn, site_id="a")
        assert (await next_event(everyone, "queue")).data == {"sites": {"a": {"entered": 1}}}
        await insert_pending(conn, site_id="b")
        assert (await next_event(everyone, "queue")).data == {"sites": {"b": {"entered": 1}}}
        # The site-bound subscriber never heard of site a.
        assert (await next_event(site_b_only, "queue")).data == {"sites": {"b": {"entered": 1}}}

        # Kill the listening connection: the hub reconnects and tells everyone to re-read.
        killed = await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query LIKE 'LISTEN%'"
        )
        assert killed == 1
        assert (await next_event(everyone, "resync")).data == {"why": "reconnected"}
        await asyncio.wait_for(hub.connected.wait(), 10)
        await insert_pending(conn, site_id="a")
        assert (await next_event(everyone, "queue")).data == {"sites": {"a": {"entered": 1}}}

        everyone.close()
        site_b_only.close()
        assert hub.subscriber_count == 0
    finally:
        await hub.close()
