"""Every endpoint x every role x {no key, bad key, revoked key}, generated from the route table.

A new endpoint is covered the moment it is added to ``routes.ENDPOINTS``: its ``roles`` say
who may call it, and this matrix checks the service answers exactly that: 401 without a live
key, 403 for a role not listed, and anything but 401/403 for a role that is. Every answer,
whatever its status, carries the security headers and a request id.
"""

from __future__ import annotations

import re
import uuid

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from multidict import CIMultiDict

from service.api.page import ASSETS_PATH, PAGE_PATH
from service.api.routes import ENDPOINTS, Endpoint
from service.app import SECURITY_HEADERS
from service.db import store
from service.domain.types import Role
from service.keys import create_key, generate_key
from tests.helpers import Keys, assert_problem, auth

# Every combination the matrix tries, for the closing count.
CREDENTIALS = ("none", "bad", "malformed", "revoked", *(r.value for r in Role))


def sample_path(endpoint: Endpoint) -> str:
    """The endpoint's path with its parameters filled in (ids as fresh UUIDs, others as words)."""

    def fill(match: re.Match[str]) -> str:
        return str(uuid.uuid4()) if match[1] == "id" else f"matrix-{match[1]}"

    return re.sub(r"{([a-z_]+)}", fill, endpoint.path)


@pytest.fixture
async def revoked(conn: asyncpg.Connection) -> dict[Role, str]:
    """A revoked key of every role: refused for revocation, not for a missing role."""
    out = {}
    for role in Role:
        new = await create_key(conn, name=f"revoked-{role.value}", role=role)
        assert await store.revoke_api_key(conn, new.name)
        out[role] = new.secret
    return out


def assert_hardened(resp_headers: CIMultiDict[str]) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert resp_headers.get(name) == value, name
    assert resp_headers.get("X-Request-Id")


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
async def test_endpoint_answers_exactly_its_roles(
    client: TestClient, keys: Keys, revoked: dict[Role, str], endpoint: Endpoint
) -> None:
    role_keys = {
        Role.SUBMITTER: keys.submitter,
        Role.MODERATOR: keys.moderator,
        Role.ADMIN: keys.admin,
        Role.TRAINER: keys.trainer,
    }
    assert set(role_keys) == set(Role), "a new role needs a key here"
    path = sample_path(endpoint)
    body = {} if endpoint.body is not None else None

    async def call(headers: dict[str, str]) -> tuple[int, str, dict, CIMultiDict[str]]:
        resp = await client.request(endpoint.method, path, json=body, headers=headers)
        payload = await resp.json(content_type=None) if resp.content_type.endswith("json") else {}
        return resp.status, resp.content_type, payload, CIMultiDict(resp.headers)

    unauthenticated = {
        "none": {},
        "bad": auth(generate_key()),
        "malformed": {"Authorization": "Basic " + generate_key()},
        **{f"revoked-{role.value}": auth(secret) for role, secret in revoked.items()},
    }
    for label, headers in unauthenticated.items():
        status, ctype, payload, resp_headers = await call(headers)
        assert_hardened(resp_headers)
        if endpoint.roles is None:
            assert status not in (401, 403), (endpoint.name, label, status)
        else:
            assert status == 401, (endpoint.name, label, status, payload)
            assert_problem(status, ctype, payload, 401, "unauthorized")
            assert resp_headers["WWW-Authenticate"].startswith("Bearer")

    for role, secret in role_keys.items():
        status, ctype, payload, resp_headers = await call(auth(secret))
        assert_hardened(resp_headers)
        if endpoint.roles is None or role in endpoint.roles:
            assert status not in (401, 403), (endpoint.name, role, status, payload)
            assert status < 500, (endpoint.name, role, status, payload)
        else:
            assert_problem(status, ctype, payload, 403, "forbidden")


def test_matrix_covers_every_route_the_app_serves() -> None:
    """The table is the only source of routes: nothing is served that the matrix does not see."""
    from pydantic import SecretStr

    from service.app import create_app
    from service.settings import Settings

    app = create_app(Settings(database_url=SecretStr("postgresql://unused@127.0.0.1:1/x")))
    served = {
        (r.method, r.resource.canonical) for r in app.router.routes() if r.method != "HEAD" and r.resource is not None
    }
    tabled = {(e.method, e.path) for e in ENDPOINTS}
    # Outside the table on purpose: the OpenAPI document, metrics and the moderator's page with its static
    # assets (service/api/page.py) hold no data and need no key; the page's calls go through the table.
    public_content = {
        ("GET", "/openapi.json"),
        ("GET", "/metrics"),  # Prometheus; optional token (MODERATION_METRICS_TOKEN)
        ("GET", PAGE_PATH),
        ("GET", PAGE_PATH + "/"),
        ("GET", ASSETS_PATH),
    }
    assert served - tabled == public_content


async def test_public_content_outside_the_table_is_hardened(client: TestClient) -> None:
    for path in ("/openapi.json", PAGE_PATH, PAGE_PATH + "/assets/does-not-exist.js"):
        resp = await client.get(path, allow_redirects=False)
        assert resp.status in (200, 404), path
        assert resp.headers["X-Content-Type-Options"] == "nosniff" and resp.headers.get("X-Request-Id"), path
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"], path
