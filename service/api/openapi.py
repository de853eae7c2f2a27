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
    429: "This key's rate limit is exhausted; retry after Retry-After seconds",
    503: "Database unreachable, busy or out of space; retry after Retry-After seconds",
    504: "A database statement timed out; retry after Retry-After seconds",
}

# Answers the middleware can give on any endpoint of a kind, whatever its handler does:
# authentication, the per-key rate limit and the key lookup (which needs the database).
_AUTHENTICATED_ERRORS = frozenset({401, 403, 429, 503, 504})
# Reading a JSON body: malformed or too deep (400), too large (413), not JSON (415), bad fields (422).
_BODY_ERRORS = frozenset({400, 413, 415, 422})
_QUERY_ERRORS = frozenset({422})
_RATE_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy")


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
            responses["200"] = _stream(e.stream, e.responses.get(200), refs)
        for status, model in e.responses.items():
            if e.stream and status == 200:
                continue
            responses[str(status)] = {
                "description": "OK" if status < 300 else "Not ready",
                "content": {"application/json": {"schema": refs[(model, "serialization")]}},
            }
        error_codes = set(e.errors)
        if e.roles is not None:
            error_codes |= _AUTHENTICATED_ERRORS
        if e.body is not None:
            error_codes |= _BODY_ERRORS
        if e.query is not None:
            error_codes |= _QUERY_ERRORS
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


def _stream(media_type: str, item: type[BaseModel] | None, refs: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    """A streamed 200: its real media type; the item schema, if any, describes one item, not the body.

    OpenAPI 3.1 has no ``itemSchema`` (3.2 adds it for sequential media types), so for JSON lines
    ``schema`` describes each line, the convention tools read for streams before 3.2. An event
    stream gets no schema: its items are SSE events, not JSON documents.
    """
    if item is None:
        return {"description": "OK: a stream", "content": {media_type: {}}}
    name = item.__name__
    return {
        "description": f"OK: a stream, one {name} JSON object per line",
        "content": {media_type: {"schema": refs[(item, "serialization")]}},
    }


def _problem(status: int, ref: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": _ERROR_TEXT.get(status, "Error"),
        "content": {"application/problem+json": {"schema": ref}},
    }
    if status in (429, 503, 504):
        out["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
    if status == 429:
        out["headers"].update({name: {"schema": {"type": "string"}} for name in _RATE_HEADERS})
    return out
