"""The OpenAPI 3.1 document, generated from the route table and the pydantic schemas."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from service import __version__
from service.api.routes import ENDPOINTS
from service.api.schemas import Problem

_REF = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"{([a-z_]+)}")

_ERROR_TEXT = {
    400: "Malformed request (invalid JSON)",
    401: "Missing, unknown or revoked API key",
    403: "The key's role may not do this",
    404: "Not found",
    409: "Conflicts with the resource's state",
    413: "Body or text too large",
    415: "Body is not JSON",
    422: "Invalid fields; each error names its field",
    429: "Too many requests",
    503: "Database unreachable; retry after Retry-After seconds",
}


def build_openapi() -> dict[str, Any]:
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(Problem, "serialization")]
    for e in ENDPOINTS:
        if e.body:
            models.append((e.body, "validation"))
        models.extend((m, "serialization") for m in e.responses.values())
    refs, defs = models_json_schema(models, ref_template=_REF)
    components = defs.get("$defs", {})

    paths: dict[str, dict[str, Any]] = {}
    for e in ENDPOINTS:
        op: dict[str, Any] = {"operationId": e.name, "summary": e.summary, "tags": [e.tag]}
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _PATH_PARAM.findall(e.path)
        ]
        if e.query:
            schema = e.query.model_json_schema(ref_template=_REF)
            required = set(schema.get("required", []))
            for name, prop in schema["properties"].items():
                params.append({"name": name, "in": "query", "required": name in required, "schema": prop})
        if params:
            op["parameters"] = params
        if e.body:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(e.body, "validation")]}},
            }
        responses: dict[str, Any] = {}
        if e.stream:
            responses["200"] = {"description": "OK", "content": {e.stream: {"schema": {"type": "string"}}}}
        for status, model in e.responses.items():
            responses[str(status)] = {
                "description": "OK" if status < 300 else "Not ready",
                "content": {"application/json": {"schema": refs[(model, "serialization")]}},
            }
        error_codes = set(e.errors) | ({401, 403} if e.roles is not None else set())
        for status in sorted(error_codes):
            if str(status) in responses:
                continue
            responses[str(status)] = _problem(status, refs[(Problem, "serialization")])
        op["responses"] = responses
        if e.roles is not None:
            op["security"] = [{"bearer": []}]
            op["x-roles"] = sorted(r.value for r in e.roles)
        paths.setdefault(e.path, {})[e.method.lower()] = op

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "comment-moderation",
            "version": __version__,
            "description": "Score, store, decide and review reader comments.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _problem(status: int, ref: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": _ERROR_TEXT.get(status, "Error"),
        "content": {"application/problem+json": {"schema": ref}},
    }
    if status in (429, 503):
        out["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
    return out
