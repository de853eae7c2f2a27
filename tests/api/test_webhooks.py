"""Webhooks end to end: a real HTTP receiver on 127.0.0.1, signed events from the outbox, retries
with backoff, the delivery log, and delivery that survives a service restart."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from service.app import create_app
from service.appkeys import METRICS
from service.domain.webhooks import EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, verify
from service.settings import Settings
from tests.api.policy_helpers import claim, configure, decide, submit
from tests.helpers import Keys, auth

SECRET = "whsec-test-0123456789abcdef"


class Receiver:
    """The website's webhook endpoint: answers 500 to the first ``fail_first`` deliveries, or 503
    while ``up`` is False; checks every signature."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.up = True
        self.calls: list[dict[str, Any]] = []
        self.server: TestServer | None = None

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        call = {
            "event_id": request.headers.get(EVENT_ID_HEADER),
            "event_type": request.headers.get(EVENT_TYPE_HEADER),
            "signed": verify(SECRET, request.headers.get(SIGNATURE_HEADER, ""), raw, now=int(time.time())),
            "body": json.loads(raw),
        }
        self.calls.append(call)
        if not self.up:
            return web.Response(status=503)
        if len(self.calls) <= self.fail_first:
            return web.Response(status=500)
        return web.Response(status=204)

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/hooks/moderation"))


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hooks/moderation", found.handle)
    found.server = TestServer(app, host="127.0.0.1")
    await found.server.start_server()
    yield found
    await found.server.close()


@pytest.fixture
def settings(db_dsn: str) -> Settings:
    # Fast retries so the test does not wait minutes; the policy itself is the production one.
    return Settings(
        database_url=SecretStr(db_dsn),
        review_lease_s=60,
        webhook_poll_s=0.05,
        webhook_backoff_base_s=0.2,
        webhook_backoff_max_s=0.5,
        webhook_claim_lease_s=5.0,
        webhook_max_attempts=50,
    )


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 30.0) -> None:
    """Wait for a background outcome (not a timing assertion: the deadline only stops a hang)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.05)


async def hook_up(client: TestClient, keys: Keys, receiver: Receiver, **settings: Any) -> None:
    await configure(client, keys, webhook_url=receiver.url, webhook_secret=SECRET, **settings)


async def test_delivery_survives_a_receiver_that_fails_twice(
    client: TestClient, keys: Keys, receiver: Receiver, conn: asyncpg.Connection
) -> None:
    receiver.fail_first = 2
    await hook_up(client, keys, receiver)
    _, comment = await submit(client, keys)

    async def delivered() -> bool:
        return await conn.fetchval("SELECT state FROM webhook_outbox") == "delivered"

    await eventually(delivered, "the third attempt to succeed")
    assert len(receiver.calls) == 3
    assert all(call["signed"] for call in receiver.calls)
    event_ids = {call["event_id"] for call in receiver.calls}
    assert len(event_ids) == 1 and {call["body"]["id"] for call in receiver.calls} == event_ids
    body = receiver.calls[-1]["body"]
    assert body["type"] == receiver.calls[-1]["event_type"] == "comment.approved"
    assert body["data"]["comment"]["id"] == comment["id"] and body["data"]["comment"]["status"] == "approved"
    assert "text" not in body["data"]["comment"]

    resp = await client.get("/v1/webhooks/deliveries", headers=auth(keys.admin))
    (delivery,) = (await resp.json())["items"]
    assert delivery["id"] in event_ids and delivery["state"] == "delivered" and delivery["attempts"] == 3
    assert [a["status_code"] for a in delivery["log"]] == [500, 500, 204]
    assert [a["attempt"] for a in delivery["log"]] == [1, 2, 3]
    deliveries = client.app[METRICS].webhook_deliveries
    assert deliveries.labels(outcome="retry")._value.get() == 2
    assert deliveries.labels(outcome="delivered")._value.get() == 1
    resp = await client.get("/v1/webhooks/deliveries", headers=auth(keys.moderator))
    assert resp.status == 403


async def test_pending_delivery_survives_a_service_restart(
    settings: Settings, keys: Keys, receiver: Receiver, conn: asyncpg.Connection
) -> None:
    receiver.up = False
    first = TestClient(TestServer(create_app(settings)))
    await first.start_server()
    try:
        await hook_up(first, keys, receiver)
        _, comment = await submit(first, keys)

        async def failed_once() -> bool:
            return bool(await conn.fetchval("SELECT count(*) FROM webhook_attempts"))

        await eventually(failed_once, "a failed attempt before the restart")
    finally:
        await first.close()  # the service stops with the event still pending
    row = await conn.fetchrow("SELECT id, state FROM webhook_outbox")
    assert row["state"] == "pending"
    attempts_before = len(receiver.calls)

    receiver.up = True
    second = TestClient(TestServer(create_app(settings)))
    await second.start_server()
    try:

        async def delivered() -> bool:
            return await conn.fetchval("SELECT state FROM webhook_outbox") == "delivered"

        await eventually(delivered, "delivery by the restarted service")
    finally:
        await second.close()
    assert len(receiver.calls) > attempts_before
    assert {call["event_id"] for call in receiver.calls} == {str(row["id"])}
    assert receiver.calls[-1]["body"]["data"]["comment"]["id"] == comment["id"]
    assert receiver.calls[-1]["signed"]


async def test_an_event_is_dead_after_its_last_attempt(
    db_dsn: str, keys: Keys, receiver: Receiver, conn: asyncpg.Connection
) -> None:
    settings = Settings(
        database_url=SecretStr(db_dsn), webhook_poll_s=0.05, webhook_backoff_base_s=0.1, webhook_max_attempts=2
    )
    receiver.fail_first = 10
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    try:
        await hook_up(client, keys, receiver)
        await submit(client, keys)

        async def dead() -> bool:
            return await conn.fetchval("SELECT state FROM webhook_outbox") == "dead"

        await eventually(dead, "the event to be given up")
        resp = await client.get("/v1/webhooks/deliveries?state=dead", headers=auth(keys.admin))
        (delivery,) = (await resp.json())["items"]
        assert delivery["attempts"] == 2 and delivery["last_status"] == 500 and len(delivery["log"]) == 2
        metrics = await (await client.get("/metrics")).text()
        assert 'moderation_webhook_deliveries_total{outcome="dead"} 1.0' in metrics
        assert 'moderation_webhook_deliveries_total{outcome="retry"} 1.0' in metrics
    finally:
        await client.close()
    assert len(receiver.calls) == 2


async def test_every_status_change_and_report_is_an_event(
    client: TestClient, keys: Keys, receiver: Receiver, conn: asyncpg.Connection
) -> None:
    await hook_up(client, keys, receiver, default_mode="premod")
    _, comment = await submit(client, keys)
    resp = await client.post(
        f"/v1/comments/{comment['id']}/reports", json={"reason": "spam"}, headers=auth(keys.submitter)
    )
    assert resp.status == 201
    await claim(client, keys.moderator)
    await decide(client, keys.moderator, comment["id"], "approve")

    async def three() -> bool:
        return await conn.fetchval("SELECT count(*) FROM webhook_outbox WHERE state = 'delivered'") == 3

    await eventually(three, "three events delivered")
    types = [c["event_type"] for c in sorted(receiver.calls, key=lambda c: c["body"]["created_at"])]
    assert types == ["comment.pending", "comment.reported", "comment.approved"]
    reported = next(c["body"] for c in receiver.calls if c["event_type"] == "comment.reported")
    assert reported["data"]["reports"]["open"] == {"spam": 1}
    assert all(c["body"]["data"]["comment"]["id"] == comment["id"] for c in receiver.calls)


async def test_no_event_without_a_webhook_or_without_a_commit(
    client: TestClient, keys: Keys, conn: asyncpg.Connection
) -> None:
    await configure(client, keys)
    await submit(client, keys)
    assert await conn.fetchval("SELECT count(*) FROM webhook_outbox") == 0
    await configure(client, keys, webhook_url="http://127.0.0.1:9/hook", webhook_secret=SECRET)
    # A submission that fails inside its transaction (unknown parent) leaves no event behind.
    status, _ = await submit(client, keys, "A reply", parent_id="00000000-0000-0000-0000-000000000000")
    assert status == 422
    assert await conn.fetchval("SELECT count(*) FROM webhook_outbox") == 0


async def test_two_instances_share_the_outbox_and_deliver_each_event_once(
    settings: Settings, keys: Keys, receiver: Receiver, conn: asyncpg.Connection
) -> None:
    instances = [TestClient(TestServer(create_app(settings))) for _ in range(2)]
    for instance in instances:
        await instance.start_server()
    try:
        await hook_up(instances[0], keys, receiver)
        for i in range(30):
            status, _ = await submit(instances[i % 2], keys, f"Comment number {i}", author_id=f"r{i}")
            assert status == 201

        async def all_delivered() -> bool:
            return await conn.fetchval("SELECT count(*) FROM webhook_outbox WHERE state = 'delivered'") == 30

        await eventually(all_delivered, "thirty deliveries")
    finally:
        for instance in instances:
            await instance.close()
    ids = [call["event_id"] for call in receiver.calls]
    assert len(ids) == len(set(ids)) == 30
