"""Health, readiness, and an OpenAPI document that matches the routes."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from openapi_spec_validator import validate

from service.api.routes import ENDPOINTS


async def test_health_and_ready(client: TestClient) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200 and (await resp.json())["status"] == "ok"
    resp = await client.get("/readyz")
    body = await resp.json()
    assert resp.status == 200 and body == {"status": "ready", "database": True, "model_version": body["model_version"]}
    assert body["model_version"]


async def test_openapi_is_valid_31_and_lists_every_route(client: TestClient) -> None:
    resp = await client.get("/openapi.json")
    doc = await resp.json()
    assert resp.status == 200 and doc["openapi"].startswith("3.1")
    validate(doc)
    for e in ENDPOINTS:
        op = doc["paths"][e.path][e.method.lower()]
        assert op["operationId"] == e.name
        if e.roles is not None:
            assert {"401", "403"} <= set(op["responses"])
    assert doc["paths"]["/v1/comments"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
