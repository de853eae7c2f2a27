"""PostgreSQL stopped, crashed and frozen under load: no comment answered 2xx is lost, every
other answer is a 503 (or 504) problem with Retry-After, and the service recovers by itself."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest

from tests.fault.conftest import (
    HANG_S,
    Cluster,
    assert_log_clean,
    assert_unavailable_problem,
    comment,
    make_key,
    missing_ids,
    paced_load,
    post_comment,
    serve,
)
from tests.helpers import auth

WORKERS = 6
PER_WORKER = 60
MAX_PER_WORKER = 300
INTERVAL_S = 0.1  # ~60 requests a second in all, for 6 s or until the database settled
OUTAGE_AT_S = 2.0
OUTAGE_FOR_S = 2.5
SETTLE_S = 2.5


async def wait_until_201(url: str, key: str, tag: str) -> float:
    """Seconds until a POST succeeds again after the database came back (fails the test past HANG_S)."""
    t0 = time.monotonic()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HANG_S)) as http:
        i = 0
        while time.monotonic() - t0 < HANG_S:
            out = await post_comment(http, url, key, comment(10_000 + i, tag), t0)
            if out.status == 201:
                return time.monotonic() - t0
            assert out.status == 503, out
            i += 1
            await asyncio.sleep(0.2)
    raise AssertionError("the service did not recover by itself")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_database_stopped_under_load_loses_nothing_and_recovers(
    cluster: Cluster, tmp_path: Path, mode: str
) -> None:
    server = serve(cluster, tmp_path / "server.log", db_connect_timeout_s="2")
    try:
        key = await make_key(cluster)

        t0 = time.monotonic()
        settled = asyncio.Event()

        async def outage() -> float:
            await asyncio.sleep(OUTAGE_AT_S)
            await asyncio.to_thread(cluster.stop, mode)
            await asyncio.sleep(OUTAGE_FOR_S)
            await asyncio.to_thread(cluster.restart)
            restarted_at = time.monotonic() - t0
            # Keep the load going a while after the restart (crash recovery may take seconds).
            await asyncio.sleep(SETTLE_S)
            settled.set()
            return restarted_at

        outcomes, restarted_at = await asyncio.gather(
            paced_load(
                server.url,
                key,
                workers=WORKERS,
                per_worker=PER_WORKER,
                interval_s=INTERVAL_S,
                tag=mode,
                until=settled,
                max_per_worker=MAX_PER_WORKER,
            ),
            outage(),
        )
        recovered_after = await wait_until_201(server.url, key, mode)
        assert server.process.poll() is None, "the service kept running through the outage"

        ok = [o for o in outcomes if o.ok]
        failed = [o for o in outcomes if not o.ok]
        assert WORKERS * PER_WORKER <= len(outcomes) <= WORKERS * MAX_PER_WORKER
        assert all(o.error is None for o in outcomes), [o for o in outcomes if o.error][:3]
        for o in failed:
            assert_unavailable_problem(o)
        assert failed, "the outage was never observed: the test proved nothing"
        assert any(o.sent_at < OUTAGE_AT_S for o in ok) and any(o.sent_at > OUTAGE_AT_S + OUTAGE_FOR_S for o in ok)
        assert await missing_ids(cluster, [o.body["id"] for o in ok]) == []
        # Requests sent a second after the restart and later all succeeded: recovery needed no help.
        late = [o for o in outcomes if o.sent_at > restarted_at + 1.0]
        assert late and all(o.ok for o in late), (restarted_at, recovered_after, [o for o in late if not o.ok][:3])
        assert_log_clean(server, key, "council vote was closer")
        print(
            f"\n{mode} stop: {len(ok)} x 2xx (all stored), {len(failed)} x 503 with Retry-After, restart at "
            f"{restarted_at:.1f}s"
        )
    finally:
        assert server.stop() == 0, server.log()


@pytest.mark.slow
async def test_a_frozen_database_gives_503_or_504_not_a_hang(cluster: Cluster, tmp_path: Path) -> None:
    """SIGSTOP on every PostgreSQL process: connections are accepted by the kernel but nothing answers."""
    server = serve(
        cluster,
        tmp_path / "server.log",
        db_connect_timeout_s="1",
        db_command_timeout_s="2",
        db_acquire_timeout_s="2",
        db_statement_timeout_s="1.5",
        db_pool_max="4",
    )
    try:
        key = await make_key(cluster)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HANG_S)) as http:
            t0 = time.monotonic()
            warm = await post_comment(http, server.url, key, comment(0, "frozen"), t0)
            assert warm.status == 201, warm
            pids = cluster.freeze()
            try:
                outcomes = await asyncio.gather(
                    *(post_comment(http, server.url, key, comment(i, "frozen"), t0) for i in range(1, 9))
                )
                async with http.get(f"{server.url}/healthz") as resp:
                    assert resp.status == 200, "liveness does not depend on the database"
                async with http.get(f"{server.url}/readyz") as resp:
                    assert resp.status == 503 and (await resp.json())["database"] is False
            finally:
                cluster.thaw(pids)
            for o in outcomes:
                assert o.error is None, o
                assert o.status in (503, 504), o
                assert o.body["code"] in ("database_unavailable", "database_timeout"), o
                assert int(o.headers["Retry-After"]) >= 1
            recovered = await wait_until_201(server.url, key, "frozen-after")
            async with http.get(f"{server.url}/v1/comments/{warm.body['id']}", headers=auth(key)) as resp:
                assert resp.status == 200
        assert recovered < HANG_S
    finally:
        assert server.stop() == 0, server.log()
