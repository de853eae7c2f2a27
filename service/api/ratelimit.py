"""Per-key rate limiting at the HTTP edge: 429 with Retry-After, RateLimit-* headers on every answer."""

from __future__ import annotations

import time

from aiohttp import web

from service.api.problems import ApiError, Handler
from service.appkeys import PRINCIPAL, RATE_LIMITER, RATE_VERDICT, SETTINGS
from service.domain.ratelimit import Verdict
from service.domain.types import Principal


def rate_headers(verdict: Verdict) -> dict[str, str]:
    """The IETF draft's RateLimit-* fields (draft-ietf-httpapi-ratelimit-headers-07 style)."""
    window = max(1, round(verdict.limit / verdict.per_second))
    return {
        "RateLimit-Limit": str(verdict.limit),
        "RateLimit-Remaining": str(verdict.remaining),
        "RateLimit-Reset": str(verdict.reset_s),
        "RateLimit-Policy": f"{verdict.limit};w={window}",
    }


@web.middleware
async def rate_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Spend one token of the caller's key; refuse with 429 when its bucket is empty.

    Runs after authentication, so only requests with a valid key count: public endpoints
    and rejected keys cost nothing here (a bad key never reaches a handler anyway).
    """
    principal: Principal | None = request.get(PRINCIPAL)
    if principal is None:
        return await handler(request)
    limit = request.app[SETTINGS].rate_limits.get(principal.role)
    if limit is None:
        return await handler(request)
    verdict = request.app[RATE_LIMITER].take(
        principal.key_id, per_second=limit.per_second, burst=limit.burst, now=time.monotonic()
    )
    request[RATE_VERDICT] = verdict
    if not verdict.allowed:
        raise ApiError(
            429,
            "rate_limited",
            "Too Many Requests",
            f"this key may make {limit.burst} requests at once and {limit.per_second:g} a second; "
            f"retry after {verdict.retry_after_s} s",
            headers={"Retry-After": str(verdict.retry_after_s)},
        )
    return await handler(request)


async def add_rate_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: the caller's quota on every answer, errors included."""
    verdict: Verdict | None = request.get(RATE_VERDICT)
    if verdict is not None:
        response.headers.update(rate_headers(verdict))
