"""Bad input of every size and shape is refused with a 4xx problem, never a 500, and nothing is stored."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from service.app import create_app
from service.settings import Settings
from tests.helpers import CIVIL, Keys, assert_problem, auth

VALID = {"article_id": "a", "author_id": "u", "text": CIVIL}


def nested(depth: int) -> object:
    value: object = "leaf"
    for _ in range(depth - 1):
        value = [value]
    return {"text": "x", "article_id": "a", "author_id": "u", "extra": value}


async def test_json_nesting_beyond_the_limit_is_400(client: TestClient, keys: Keys, settings: Settings) -> None:
    limit = settings.max_json_depth
    resp = await client.post("/v1/comments", json=nested(limit), headers=auth(keys.submitter))
    assert_problem(resp.status, resp.content_type, await resp.json(), 422, "validation_error")  # depth ok, field bad
    resp = await client.post("/v1/comments", json=nested(limit + 1), headers=auth(keys.submitter))
    problem = await resp.json()
    assert_problem(resp.status, resp.content_type, problem, 400, "invalid_json")
    assert "nested deeper" in problem["detail"]


async def test_body_over_the_byte_limit_is_413_before_parsing(
    settings: Settings, aiohttp_client: Callable[..., Awaitable[TestClient]], keys: Keys, conn: asyncpg.Connection
) -> None:
    client = await aiohttp_client(create_app(settings.model_copy(update={"max_body_bytes": 2048})))
    resp = await client.post("/v1/comments", json={**VALID, "text": "a" * 3000}, headers=auth(keys.submitter))
    assert_problem(resp.status, resp.content_type, await resp.json(), 413, "payload_too_large")
    assert await conn.fetchval("SELECT count(*) FROM comments") == 0


@pytest.mark.parametrize(
    "patch",
    [
        {"text": "nul \x00 inside"},
        {"text": "\x00"},
        {"user_agent": "agent\x00"},
        {"external_id": "ext\x00"},
        {"external_id": "e\n1"},
        {"text": "\ud800 lone surrogate"},
        {"site_id": "s\x00"},
        {"article_id": "\x00"},
        {"author_id": "\u202e\u0000"},
        {"user_agent": "\udfff"},
    ],
)
async def test_characters_postgresql_cannot_store_are_422_not_500(
    client: TestClient, keys: Keys, conn: asyncpg.Connection, patch: dict
) -> None:
    resp = await client.post("/v1/comments", json={**VALID, **patch}, headers=auth(keys.submitter))
    problem = await resp.json()
    assert resp.status == 422, problem
    assert_problem(resp.status, resp.content_type, problem, 422, "validation_error")
    assert await conn.fetchval("SELECT count(*) FROM comments") == 0


@pytest.mark.parametrize(
    "query",
    ["site_id=a%00b", "article_id=%00", "cursor=%00", "sort=%00", "limit=%00", "limit=99999999999999999999"],
)
async def test_bad_query_strings_are_422(client: TestClient, keys: Keys, query: str) -> None:
    for path in ("/v1/review/queue", "/v1/review/stats"):
        if path.endswith("stats") and query.split("=")[0] in ("cursor", "sort", "limit"):
            continue
        resp = await client.get(f"{path}?{query}", headers=auth(keys.moderator))
        assert_problem(resp.status, resp.content_type, await resp.json(), 422, "validation_error")


async def test_nul_in_a_path_parameter_is_not_a_500(client: TestClient, keys: Keys) -> None:
    resp = await client.put("/v1/articles/a%00b", json={"mode": "premod"}, headers=auth(keys.admin))
    assert resp.status in (404, 422), await resp.text()
    resp = await client.put("/v1/articles/" + "x" * 201, json={"mode": "premod"}, headers=auth(keys.admin))
    assert resp.status == 404


# U+0000 and control characters in every free-text and id field the newsroom endpoints take
# (issue 4), in bodies, query strings and paths: never a 500, nothing stored.
NUL = "a\x00b"
NEWSROOM_PROBES = [
    ("POST", "/v1/comments/{cid}/reports", {"reason": "spam", "detail": NUL}, ""),
    ("POST", "/v1/comments/{cid}/reports", {"reason": "spam", "reporter_id": NUL}, ""),
    ("POST", "/v1/comments/{cid}/reports", {"reason": "spam", "reporter_id": "r\n1"}, ""),
    ("PUT", "/v1/comments/{cid}", {"text": NUL}, ""),
    ("POST", "/v1/authors/u/ban", {"reason": NUL}, ""),
    ("POST", "/v1/authors/u/ban", {"site_id": NUL}, ""),
    ("POST", "/v1/authors/u/suspend", {"reason": NUL, "duration_s": 3600}, ""),
    ("POST", "/v1/authors/u/trust", {"reason": NUL}, ""),
    ("POST", "/v1/authors/a%00b/always-review", {}, ""),
    ("GET", "/v1/authors/u", None, "site_id=a%00b"),
    ("DELETE", "/v1/authors/a%00b", None, ""),
    ("PUT", "/v1/sites/default/word-lists/banned", {"terms": [NUL]}, ""),
    ("PATCH", "/v1/sites/default/word-lists/suspect", {"add": [NUL], "remove": []}, ""),
    ("PUT", "/v1/sites/default/settings", {"allowed_domains": [NUL]}, ""),
    ("GET", "/v1/sites/a%00b/settings", None, ""),
    ("PUT", "/v1/articles/a/settings", {"blocked_domains": [NUL]}, ""),
    ("PUT", "/v1/articles/a/settings", {"site_id": NUL}, ""),
    ("GET", "/v1/articles/a%00b/settings", None, ""),
    ("GET", "/v1/webhooks/deliveries", None, "site_id=a%00b"),
    ("POST", "/v1/score", {"text": "hello", "site_id": NUL}, ""),
]


@pytest.mark.parametrize(("method", "path", "body", "query"), NEWSROOM_PROBES)
async def test_newsroom_endpoints_refuse_unstorable_characters(
    client: TestClient, keys: Keys, method: str, path: str, body: dict | None, query: str
) -> None:
    created = await client.post("/v1/comments", json=VALID, headers=auth(keys.submitter))
    cid = (await created.json())["id"]
    url = path.format(cid=cid) + (f"?{query}" if query else "")
    resp = await client.request(method, url, json=body, headers=auth(keys.admin))
    assert resp.status < 500, (resp.status, await resp.text())
    assert resp.status in (400, 404, 422), (resp.status, await resp.text())
