"""Every bad request gets the right 4xx with the one problem+json shape; none gets a 500."""

from __future__ import annotations

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from tests.helpers import CIVIL, Keys, assert_problem, auth

VALID = {"article_id": "a", "author_id": "u", "text": CIVIL}


async def test_malformed_json_is_400(client: TestClient, keys: Keys) -> None:
    for raw in (b"{not json", b"", b"\xff\xfe", b"[" * 50_000):
        resp = await client.post(
            "/v1/comments", data=raw, headers={**auth(keys.submitter), "Content-Type": "application/json"}
        )
        assert_problem(resp.status, resp.content_type, await resp.json(), 400, "invalid_json")


@pytest.mark.parametrize("missing", ["article_id", "author_id", "text"])
async def test_missing_field_is_422_naming_the_field(client: TestClient, keys: Keys, missing: str) -> None:
    body = {k: v for k, v in VALID.items() if k != missing}
    resp = await client.post("/v1/comments", json=body, headers=auth(keys.submitter))
    problem = await resp.json()
    assert_problem(resp.status, resp.content_type, problem, 422, "validation_error")
    assert {"field": missing, "message": "field required"} in problem["errors"]


@pytest.mark.parametrize(
    "patch, field",
    [
        ({"text": "   "}, "text"),
        ({"text": 42}, "text"),
        ({"article_id": ""}, "article_id"),
        ({"author_id": "x" * 201}, "author_id"),
        ({"parent_id": "nope"}, "parent_id"),
        ({"author_ip": "999.1.1.1"}, "author_ip"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_invalid_fields_are_named(client: TestClient, keys: Keys, patch: dict, field: str) -> None:
    resp = await client.post("/v1/comments", json={**VALID, **patch}, headers=auth(keys.submitter))
    problem = await resp.json()
    assert_problem(resp.status, resp.content_type, problem, 422, "validation_error")
    assert field in {e["field"] for e in problem["errors"]}


async def test_body_that_is_not_an_object_is_422(client: TestClient, keys: Keys) -> None:
    resp = await client.post("/v1/comments", json=[1, 2], headers=auth(keys.submitter))
    assert_problem(resp.status, resp.content_type, await resp.json(), 422, "validation_error")


async def test_huge_text_is_refused_and_nothing_stored(
    client: TestClient, keys: Keys, conn: asyncpg.Connection
) -> None:
    resp = await client.post("/v1/comments", json={**VALID, "text": "a" * 300_000}, headers=auth(keys.submitter))
    problem = await resp.json()
    assert resp.status in (413, 422)
    assert_problem(resp.status, resp.content_type, problem, resp.status, problem["code"])
    assert await conn.fetchval("SELECT count(*) FROM comments") == 0


async def test_text_over_the_character_limit_is_422(client: TestClient, keys: Keys) -> None:
    resp = await client.post("/v1/comments", json={**VALID, "text": "word " * 5_000}, headers=auth(keys.submitter))
    problem = await resp.json()
    assert_problem(resp.status, resp.content_type, problem, 422, "validation_error")
    assert problem["errors"][0]["field"] == "text"


async def test_missing_or_unknown_key_is_401(client: TestClient, keys: Keys) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}, auth("x" * 500)):
        resp = await client.post("/v1/comments", json=VALID, headers=headers)
        assert_problem(resp.status, resp.content_type, await resp.json(), 401, "unauthorized")
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


async def test_revoked_key_is_401(client: TestClient, keys: Keys, conn: asyncpg.Connection) -> None:
    from service.domain.types import Role
    from service.keys import create_key

    new = await create_key(conn, name="short-lived", role=Role.SUBMITTER)
    await conn.execute("UPDATE api_keys SET revoked_at = now() WHERE name = 'short-lived'")
    resp = await client.post("/v1/comments", json=VALID, headers=auth(new.secret))
    assert_problem(resp.status, resp.content_type, await resp.json(), 401, "unauthorized")


@pytest.mark.parametrize(
    "method, path, role",
    [
        ("POST", "/v1/comments", "moderator"),
        ("POST", "/v1/comments", "trainer"),
        ("PUT", "/v1/articles/a", "submitter"),
        ("PUT", "/v1/articles/a", "moderator"),
        ("POST", "/v1/review/claim", "submitter"),
        ("GET", "/v1/review/queue", "trainer"),
        ("GET", "/v1/review/stats", "submitter"),
    ],
)
async def test_wrong_role_is_403(client: TestClient, keys: Keys, method: str, path: str, role: str) -> None:
    resp = await client.request(method, path, json={"mode": "premod", **VALID}, headers=auth(getattr(keys, role)))
    assert_problem(resp.status, resp.content_type, await resp.json(), 403, "forbidden")


async def test_unknown_route_and_method(client: TestClient) -> None:
    resp = await client.get("/v2/nothing")
    assert_problem(resp.status, resp.content_type, await resp.json(), 404, "not_found")
    resp = await client.delete("/v1/comments")
    assert_problem(resp.status, resp.content_type, await resp.json(), 405, "method_not_allowed")


async def test_wrong_content_type_is_415(client: TestClient, keys: Keys) -> None:
    resp = await client.post(
        "/v1/comments", data="text=hi", headers={**auth(keys.submitter), "Content-Type": "text/plain"}
    )
    assert_problem(resp.status, resp.content_type, await resp.json(), 415, "unsupported_media_type")


async def test_errors_carry_a_request_id_and_security_headers(client: TestClient) -> None:
    resp = await client.post("/v1/comments", json=VALID, headers={"X-Request-Id": "abc-123"})
    body = await resp.json()
    assert body["request_id"] == "abc-123" and resp.headers["X-Request-Id"] == "abc-123"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]


async def test_errors_never_echo_the_input(client: TestClient, keys: Keys) -> None:
    secret = "<script>alert('x')</script>"
    resp = await client.post(
        "/v1/comments", json={**VALID, "article_id": 5, "surprise": secret}, headers=auth(keys.submitter)
    )
    assert secret not in await resp.text()
