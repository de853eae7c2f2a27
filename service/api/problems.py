"""One error shape for every 4xx/5xx: RFC 9457 ``application/problem+json``.

The middleware here is the only place that turns exceptions into HTTP answers.
It never echoes user input or internals back; unknown errors are logged with the
request id and answered with a generic 500.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import ValidationError

from service.api.schemas import FieldError, Problem
from service.appkeys import REQUEST_ID, SETTINGS
from service.db.pool import DatabaseBusy, DatabaseUnavailable, is_disk_full, is_timeout, is_unavailable
from service.errors import DomainError
from service.logs import current_request_id

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PROBLEM_CONTENT_TYPE = "application/problem+json"

# Titles for the HTTP errors aiohttp raises itself (routing, body size, methods).
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
    504: "timeout",
}


class ApiError(Exception):
    """An HTTP-level error raised by the adapter itself (bad JSON, missing key, wrong role)."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.errors = errors
        self.headers = headers or {}


def invalid_fields(errors: list[FieldError]) -> ApiError:
    """The 422 for a request whose fields are wrong; each error names its field."""
    return ApiError(422, "validation_error", "Unprocessable Content", "the request has invalid fields", errors=errors)


def problem_response(
    request: web.Request,
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = Problem(
        type=f"/problems/{code}",
        title=title,
        status=status,
        detail=detail,
        code=code,
        request_id=request.get(REQUEST_ID),
        errors=errors,
    )
    return web.Response(
        status=status,
        body=body.model_dump_json(exclude_none=True).encode(),
        content_type=PROBLEM_CONTENT_TYPE,
        headers=headers,
    )


def validation_errors(exc: ValidationError) -> list[FieldError]:
    """Field paths and messages from pydantic, without echoing the offending input."""
    out = []
    for err in exc.errors(include_input=False, include_url=False):
        path = ".".join(str(part) for part in err["loc"]) or "body"
        message = err["msg"]
        if err["type"] == "missing":
            message = "field required"
        elif err["type"] == "extra_forbidden":
            message = "unknown field"
        out.append(FieldError(field=path, message=message))
    return out


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give every request an id (the caller's X-Request-Id when sane) and echo it back."""
    incoming = request.headers.get("X-Request-Id", "")
    rid = incoming if 0 < len(incoming) <= 100 and incoming.isprintable() else uuid.uuid4().hex
    request[REQUEST_ID] = rid
    token = current_request_id.set(rid)  # every log record of this request carries the id
    try:
        response = await handler(request)
    finally:
        current_request_id.reset(token)
    response.headers["X-Request-Id"] = rid
    return response


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return problem_response(
            request, exc.status, exc.code, exc.title, exc.detail, errors=exc.errors, headers=exc.headers
        )
    except DomainError as exc:
        errors = [FieldError(field=exc.field, message=exc.detail)] if exc.field else None
        return problem_response(
            request, exc.status, exc.code, exc.title, exc.detail, errors=errors, headers=exc.headers or None
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "http_error")
        detail = {
            404: "no such resource",
            405: "method not allowed on this resource",
            413: "request body too large",
        }.get(exc.status, exc.reason)
        headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
        return problem_response(request, exc.status, code, exc.reason, detail, headers=headers)
    except DatabaseBusy:
        log.warning("no database connection in time (request %s)", request.get(REQUEST_ID))
        return _unavailable(request, "the database is busy or unreachable; retry later")
    except DatabaseUnavailable:
        return _unavailable(request)
    except Exception as exc:
        # Order matters: disk_full is SQLSTATE class 53, which is_unavailable() also matches.
        if is_disk_full(exc):
            log.error("database is out of disk space (request %s)", request.get(REQUEST_ID))
            return _unavailable(
                request, "the database cannot store anything right now; retry later", code="storage_full"
            )
        if is_timeout(exc):
            log.warning(
                "database statement timed out: %s (request %s)", exc.__class__.__name__, request.get(REQUEST_ID)
            )
            return problem_response(
                request,
                504,
                "database_timeout",
                "Gateway Timeout",
                "the database did not answer in time; retry later (resending the same external_id is safe)",
                headers={"Retry-After": str(request.app[SETTINGS].db_retry_after_s)},
            )
        if is_unavailable(exc):
            log.warning("database unavailable: %s (request %s)", exc.__class__.__name__, request.get(REQUEST_ID))
            return _unavailable(request)
        log.exception("unhandled error (request %s)", request.get(REQUEST_ID))
        return problem_response(request, 500, "internal_error", "Internal Server Error", "an unexpected error occurred")


def _unavailable(
    request: web.Request,
    detail: str = "the database is unreachable; retry later (resending the same external_id is safe)",
    *,
    code: str = "database_unavailable",
) -> web.Response:
    retry_after = str(request.app[SETTINGS].db_retry_after_s)
    return problem_response(request, 503, code, "Service Unavailable", detail, headers={"Retry-After": retry_after})


def json_depth(value: object) -> int:
    """Nesting depth of a parsed JSON value (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
            deepest = max(deepest, depth + 1)
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
            deepest = max(deepest, depth + 1)
    return deepest


async def read_json(request: web.Request) -> object:
    """The request body as JSON, or a 400 that says what is wrong (never a 500)."""
    if request.content_type not in ("application/json", "") and not request.content_type.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", "Unsupported Media Type", "send application/json")
    raw = await request.read()  # aiohttp enforces client_max_size here (413)
    if not raw:
        raise ApiError(400, "invalid_json", "Bad Request", "request body is empty; send a JSON object")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiError(400, "invalid_json", "Bad Request", "request body is not valid JSON") from None
    limit = request.app[SETTINGS].max_json_depth
    if json_depth(data) > limit:
        raise ApiError(400, "invalid_json", "Bad Request", f"request body is nested deeper than {limit} levels")
    return data
