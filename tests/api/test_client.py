"""``service.client`` against the real app: every call, typed answers, errors, retries on 503."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from service.appkeys import POOL
from service.client import ModerationClient, ModerationError
from tests.helpers import ABUSIVE, CIVIL, Keys, auth


def base_url(client: TestClient) -> str:
    return str(client.make_url("")).rstrip("/")


@pytest.fixture
async def submitter(client: TestClient, keys: Keys) -> AsyncIterator[ModerationClient]:
    async with ModerationClient(base_url(client), keys.submitter) as api:
        yield api


async def test_submit_get_score_claim_decide(client: TestClient, keys: Keys, submitter: ModerationClient) -> None:
    approved = await submitter.submit(article_id="client-a", author_id="reader-1", text=CIVIL)
    assert approved.status.value in ("approved", "pending") and approved.model_version
    again = await submitter.get(approved.id)
    assert again.id == approved.id and again.text == CIVIL and again.history[0].action == "created"

    scored = await submitter.score(ABUSIVE)
    assert scored.status.value in ("rejected", "pending") and scored.spans

    await client.put("/v1/articles/client-premod", json={"mode": "premod"}, headers=auth(keys.admin))
    held = await submitter.submit(article_id="client-premod", author_id="reader-2", text=CIVIL)
    assert held.status.value == "pending"
    async with ModerationClient(base_url(client), keys.moderator) as moderator:
        items = await moderator.claim(10, article_id="client-premod")
        assert [i.id for i in items] == [held.id] and items[0].text == CIVIL
        decided = await moderator.decide(held.id, "reject", reason="off topic")
        assert decided.status.value == "rejected"
        with pytest.raises(ModerationError) as caught:
            await moderator.decide(held.id, "approve")
    assert caught.value.status == 409 and caught.value.code == "already_decided" and caught.value.request_id


async def test_same_external_id_is_one_comment(submitter: ModerationClient) -> None:
    s1, first = await submitter.submit_with_status(article_id="a", author_id="r", text=CIVIL, external_id="x-1")
    s2, second = await submitter.submit_with_status(article_id="a", author_id="r", text=CIVIL, external_id="x-1")
    assert (s1, s2) == (201, 200) and first.id == second.id


async def test_errors_are_typed(client: TestClient, keys: Keys) -> None:
    async with ModerationClient(base_url(client), "cm_not-a-key") as api:
        with pytest.raises(ModerationError) as caught:
            await api.score("hello")
    assert caught.value.status == 401 and caught.value.code == "unauthorized"
    async with ModerationClient(base_url(client), keys.submitter) as api:
        with pytest.raises(ModerationError) as caught:
            await api.submit(article_id="a", author_id="r", text="")
    assert caught.value.status == 422 and caught.value.body["errors"][0]["field"] == "text"


async def test_503_from_the_real_app_is_retried_then_raised(client: TestClient, keys: Keys) -> None:
    await client.app[POOL].close()  # PostgreSQL is unreachable as far as this app can tell
    async with ModerationClient(base_url(client), keys.submitter, max_retries=2, max_retry_after_s=0.01) as api:
        with pytest.raises(ModerationError) as caught:
            await api.get("00000000-0000-0000-0000-000000000000")
    assert caught.value.status == 503 and caught.value.code == "database_unavailable"


async def test_retry_after_503_reuses_the_idempotency_key(
    client: TestClient, keys: Keys, aiohttp_server: Callable[..., Awaitable[TestServer]]
) -> None:
    """A front that answers 503 twice (as the service does while PostgreSQL is down), then forwards."""
    seen: list[str | None] = []
    upstream = base_url(client)

    async def front(request: web.Request) -> web.StreamResponse:
        seen.append(request.headers.get("Idempotency-Key"))
        if len(seen) <= 2:
            return web.json_response(
                {"type": "/problems/database_unavailable", "title": "Service Unavailable", "status": 503,
                 "detail": "retry later", "code": "database_unavailable"},
                status=503, headers={"Retry-After": "0"}, content_type="application/problem+json",
            )
        async with aiohttp.ClientSession() as http, http.request(
            request.method, upstream + request.path, data=await request.read(),
            headers={k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")},
        ) as resp:
            return web.Response(status=resp.status, body=await resp.read(), content_type=resp.content_type)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", front)
    server = await aiohttp_server(app)
    async with ModerationClient(str(server.make_url("")).rstrip("/"), keys.submitter) as api:
        status, comment = await api.submit_with_status(article_id="retry", author_id="r", text=CIVIL)
    assert status == 201 and len(seen) == 3
    assert seen[0] is not None and seen.count(seen[0]) == 3, "every retry must carry the same key"
    assert comment.external_id == seen[0]


async def test_no_retries_when_told_so(client: TestClient, keys: Keys) -> None:
    await client.app[POOL].close()
    async with ModerationClient(base_url(client), keys.submitter, max_retries=0) as api:
        with pytest.raises(ModerationError):
            await api.claim(1)
