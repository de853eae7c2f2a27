"""Every piece of shared state the app holds, declared once as typed keys. No module globals."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import asyncpg
from aiohttp import web

if TYPE_CHECKING:
    from service.domain.ratelimit import RateLimiter, Verdict
    from service.domain.types import Principal
    from service.intake import Intake
    from service.keys import KeyResolver
    from service.language import LanguageDetector
    from service.live import QueueHub
    from service.metrics import Metrics
    from service.ml.scorer import Scorer
    from service.model_sync import ModelSync
    from service.moderation import PolicyTools
    from service.settings import Settings
    from service.sites import WordListCache

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
POOL: web.AppKey[asyncpg.Pool] = web.AppKey("pool")
SCORER: web.AppKey[Scorer] = web.AppKey("scorer")
KEYS: web.AppKey[KeyResolver] = web.AppKey("keys")
DSN: web.AppKey[str] = web.AppKey("dsn")
RATE_LIMITER: web.AppKey[RateLimiter] = web.AppKey("rate_limiter")
HUB: web.AppKey[QueueHub] = web.AppKey("queue_hub")
MODEL_SYNC: web.AppKey[ModelSync] = web.AppKey("model_sync")
LANGUAGE: web.AppKey[LanguageDetector] = web.AppKey("language")
WORD_LISTS: web.AppKey[WordListCache] = web.AppKey("word_lists")
# Set when this instance commits a webhook event, so its deliverer does not wait for the next poll.
WEBHOOK_WAKE: web.AppKey[asyncio.Event] = web.AppKey("webhook_wake")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
INTAKE: web.AppKey[Intake] = web.AppKey("intake")
# The word-list cache, language detector and webhook nudge every policy decision uses.
POLICY_TOOLS: web.AppKey[PolicyTools] = web.AppKey("policy_tools")

# Per-request values.
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id")
PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("principal")
RATE_VERDICT: web.RequestKey[Verdict] = web.RequestKey("rate_verdict")
