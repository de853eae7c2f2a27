"""Per-key rate limits: a token bucket per API key, sized by role; 429 with Retry-After and RateLimit-*."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient

from service.app import create_app
from service.domain.types import Role
from service.settings import RateLimit, Settings
from tests.helpers import Keys, assert_problem, auth

ClientFactory = Callable[..., Awaitable[TestClient]]


async def limited_client(settings: Settings, aiohttp_client: ClientFactory, **limits: RateLimit) -> TestClient:
    tight = {Role(role): limit for role, limit in limits.items()}
    return await aiohttp_client(create_app(settings.model_copy(update={"rate_limits": tight})))


async def test_a_key_over_its_burst_gets_429_with_retry_after(
    settings: Settings, aiohttp_client: ClientFactory, keys: Keys
) -> None:
    client = await limited_client(
        settings,
        aiohttp_client,
        submitter=RateLimit(per_second=0.01, burst=3),
        moderator=RateLimit(per_second=1, burst=50),
    )
    statuses, remaining = [], []
    for _ in range(5):
        resp = await client.post("/v1/score", json={"text": "hello there"}, headers=auth(keys.submitter))
        statuses.append(resp.status)
        remaining.append(resp.headers["RateLimit-Remaining"])
        assert resp.headers["RateLimit-Limit"] == "3"
        assert int(resp.headers["RateLimit-Reset"]) >= 0 and resp.headers["RateLimit-Policy"].startswith("3;w=")
        if resp.status == 429:
            assert_problem(resp.status, resp.content_type, await resp.json(), 429, "rate_limited")
            assert int(resp.headers["Retry-After"]) == 100  # one token at 0.01/s
    assert statuses == [200, 200, 200, 429, 429]
    assert remaining == ["2", "1", "0", "0", "0"]

    # Another key, even of the same site, has its own bucket; a refused request costs nothing else.
    resp = await client.get("/v1/review/stats", headers=auth(keys.moderator))
    assert resp.status == 200 and resp.headers["RateLimit-Limit"] == "50"


async def test_the_limit_is_per_key_not_per_role(settings: Settings, aiohttp_client: ClientFactory, keys: Keys) -> None:
    client = await limited_client(settings, aiohttp_client, moderator=RateLimit(per_second=0.01, burst=1))
    assert (await client.get("/v1/review/stats", headers=auth(keys.moderator))).status == 200
    assert (await client.get("/v1/review/stats", headers=auth(keys.moderator))).status == 429
    assert (await client.get("/v1/review/stats", headers=auth(keys.moderator_b))).status == 200


async def test_a_role_without_a_limit_and_anonymous_calls_are_not_counted(
    settings: Settings, aiohttp_client: ClientFactory, keys: Keys
) -> None:
    client = await limited_client(settings, aiohttp_client, submitter=RateLimit(per_second=0.01, burst=1))
    for _ in range(3):
        resp = await client.get("/v1/review/stats", headers=auth(keys.admin))
        assert resp.status == 200 and "RateLimit-Limit" not in resp.headers
        resp = await client.get("/healthz")
        assert resp.status == 200 and "RateLimit-Limit" not in resp.headers
        # Bad keys are refused before the limiter: they cannot drain a real key's bucket.
        assert (await client.post("/v1/score", json={"text": "x"}, headers=auth("cm_nope"))).status == 401
    assert (await client.post("/v1/score", json={"text": "hi"}, headers=auth(keys.submitter))).status == 200


async def test_default_limits_cover_every_role(settings: Settings) -> None:
    assert set(settings.rate_limits) == set(Role)


async def test_errors_count_and_carry_the_quota(settings: Settings, aiohttp_client: ClientFactory, keys: Keys) -> None:
    """A flood of invalid requests is limited like valid ones, and its answers show the quota."""
    client = await limited_client(settings, aiohttp_client, submitter=RateLimit(per_second=0.01, burst=2))
    statuses = []
    for _ in range(3):
        resp = await client.post("/v1/comments", json={"nope": 1}, headers=auth(keys.submitter))
        statuses.append(resp.status)
        assert "RateLimit-Remaining" in resp.headers
    assert statuses == [422, 422, 429]
