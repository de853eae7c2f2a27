"""Every piece of shared state the app holds, declared once as typed keys. No module globals."""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncpg
from aiohttp import web

if TYPE_CHECKING:
    from service.domain.types import Principal
    from service.keys import KeyResolver
    from service.metrics import Metrics
    from service.ml.scorer import Scorer
    from service.settings import Settings

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
POOL: web.AppKey[asyncpg.Pool] = web.AppKey("pool")
SCORER: web.AppKey[Scorer] = web.AppKey("scorer")
KEYS: web.AppKey[KeyResolver] = web.AppKey("keys")
DSN: web.AppKey[str] = web.AppKey("dsn")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")

# Per-request values.
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id")
PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("principal")
