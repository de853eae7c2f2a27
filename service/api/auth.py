"""Bearer-key authentication and role checks, driven by the route table."""

from __future__ import annotations

from aiohttp import web

from service.api.problems import ApiError, Handler
from service.api.routes import BY_NAME
from service.appkeys import KEYS, PRINCIPAL

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="moderation"'}


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """401 without a valid key, 403 with a key whose role the endpoint does not allow."""
    route = request.match_info.route
    endpoint = BY_NAME.get(route.name or "")
    if endpoint is None or endpoint.roles is None:
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key or len(key) > 200:
        raise ApiError(
            401,
            "unauthorized",
            "Unauthorized",
            "send an API key as 'Authorization: Bearer <key>'",
            headers=_CHALLENGE,
        )
    found = await request.app[KEYS].resolve(key)
    if found is None:
        raise ApiError(401, "unauthorized", "Unauthorized", "unknown or revoked API key", headers=_CHALLENGE)
    if found.role not in endpoint.roles:
        raise ApiError(403, "forbidden", "Forbidden", f"the {found.role.value} role may not do this")
    request[PRINCIPAL] = found
    return await handler(request)
