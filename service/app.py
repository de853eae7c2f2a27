"""The application factory: ``create_app(settings)`` builds the whole service, for production and tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
from aiohttp import web

from service import registry
from service.api.auth import auth_middleware
from service.api.log_hygiene import install_log_filters
from service.api.openapi import build_openapi
from service.api.page import add_page_routes
from service.api.problems import problem_middleware, request_id_middleware
from service.api.ratelimit import add_rate_headers, rate_limit_middleware
from service.api.routes import add_routes
from service.appkeys import (
    HUB,
    INTAKE,
    KEYS,
    LANGUAGE,
    METRICS,
    MODEL_SYNC,
    POLICY_TOOLS,
    POOL,
    RATE_LIMITER,
    REQUEST_ID,
    SCORER,
    SETTINGS,
    WORD_LISTS,
)
from service.authors import retention_context
from service.db.migrations import apply_migrations
from service.db.pool import create_pool, wait_for_database
from service.domain.ratelimit import RateLimiter
from service.domain.types import Role
from service.intake import Intake
from service.keys import KeyResolver, ensure_key
from service.language import LanguageDetector
from service.live import QueueHub
from service.metrics import add_metrics, metrics_middleware
from service.ml.scorer import Scorer
from service.model_sync import ModelSync
from service.moderation import PolicyTools
from service.settings import Settings
from service.sites import WordListCache
from service.webhooks import wake_deliverer, webhook_context
from service.workbench import record_queue_snapshot

log = logging.getLogger(__name__)

# Headers on every response: the API serves JSON only, so nothing may be sniffed, framed or run.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
}


def database_url(settings: Settings) -> str:
    if settings.database_url is None:
        raise RuntimeError("no database URL: start the embedded database first (see service.cli)")
    return settings.database_url.get_secret_value()


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    dsn = database_url(settings)
    if settings.migrate_on_start:
        await wait_for_database(dsn, timeout=30.0)
        await migrate(dsn, settings.migrations_dir)
    app[POOL] = await create_pool(
        dsn,
        max_size=settings.db_pool_max,
        connect_timeout=settings.db_connect_timeout_s,
        command_timeout=settings.db_command_timeout_s,
        statement_timeout=settings.db_statement_timeout_s,
        acquire_timeout=settings.db_acquire_timeout_s,
    )
    app[KEYS] = KeyResolver(app[POOL], ttl_s=settings.key_cache_ttl_s)
    if settings.bootstrap_admin_key is not None:
        async with app[POOL].acquire() as conn:
            await ensure_key(
                conn,
                name="bootstrap-admin",
                role=Role.ADMIN,
                secret=settings.bootstrap_admin_key.get_secret_value(),
            )
    yield
    await asyncio.wait_for(app[POOL].close(), timeout=10.0)


async def _model(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    # The registry's active version when there is one; the bundled model (registered) otherwise.
    model = await registry.serving_model(app[POOL], settings)
    scorer = Scorer(model, threshold_overrides=settings.thresholds, on_batch=app[METRICS].observe_scoring)
    app[SCORER] = scorer
    log.info("model %s loaded", model.version)
    sync = ModelSync(
        app[POOL],
        database_url(settings),
        scorer,
        poll_s=settings.model_poll_s,
        shadow_batch=settings.shadow_batch,
        threshold_overrides=settings.thresholds,
    )
    app[MODEL_SYNC] = sync
    sync.start()
    yield
    await sync.stop()
    scorer.close()


async def _live_updates(app: web.Application) -> AsyncIterator[None]:
    """One LISTEN connection per instance feeding the moderator pages' live event streams."""
    hub = QueueHub(database_url(app[SETTINGS]))
    hub.start()
    app[HUB] = hub
    yield
    await hub.close()


async def _end_live_streams(app: web.Application) -> None:
    # Streams never end by themselves: close them at shutdown so it does not wait for its timeout.
    if HUB in app:
        await app[HUB].close()


async def _queue_sampler(app: web.Application) -> AsyncIterator[None]:
    """Sample queue depth and oldest age for the dashboard every ``queue_snapshot_interval_s``."""
    settings = app[SETTINGS]
    interval = settings.queue_snapshot_interval_s

    async def sample_forever() -> None:
        while True:
            try:
                await record_queue_snapshot(app[POOL], interval_s=interval, keep_days=settings.queue_snapshot_keep_days)
            except Exception as exc:  # a missed sample leaves a gap in a chart, nothing more
                log.warning("queue snapshot failed: %s", exc.__class__.__name__)
            await asyncio.sleep(interval)

    task = asyncio.create_task(sample_forever(), name="queue-sampler") if interval > 0 else None
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _policy_tools(app: web.Application) -> AsyncIterator[None]:
    """The language detector (loaded once, off the event loop) and the word-list automaton cache."""
    app[LANGUAGE] = await asyncio.to_thread(LanguageDetector)
    app[WORD_LISTS] = WordListCache()
    app[POLICY_TOOLS] = PolicyTools(
        word_lists=app[WORD_LISTS], languages=app[LANGUAGE], on_event=lambda: wake_deliverer(app)
    )
    yield


async def _intake(app: web.Application) -> AsyncIterator[None]:
    """The submission batcher; at shutdown, after the drain, it cancels the batches still running."""
    settings = app[SETTINGS]
    intake = Intake(
        app[POOL],
        app[SCORER],
        app[POLICY_TOOLS],
        max_batch=settings.intake_max_batch,
        max_concurrent=settings.intake_max_concurrent,
        max_planning=settings.intake_max_planning,
        max_wait_s=settings.intake_max_wait_ms / 1000,
        on_batch=app[METRICS].observe_intake_batch,
    )
    app[INTAKE] = intake
    yield
    await intake.close()


async def migrate(dsn: str, directory: Path) -> list[str]:
    """Apply pending migrations on their own connection; return the names applied."""
    conn = await asyncpg.connect(dsn)
    try:
        done = await apply_migrations(conn, directory)
    finally:
        await conn.close()
    for m in done:
        log.info("applied migration %04d_%s", m.version, m.name)
    return [f"{m.version:04d}_{m.name}" for m in done]


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    # Streamed answers (SSE, NDJSON) send their headers before the request-id middleware resumes.
    request_id = request.get(REQUEST_ID)
    if request_id is not None:
        response.headers.setdefault("X-Request-Id", request_id)


def create_app(settings: Settings) -> web.Application:
    install_log_filters()
    app = web.Application(
        middlewares=[
            request_id_middleware,
            metrics_middleware,
            problem_middleware,
            auth_middleware,
            rate_limit_middleware,
        ],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[RATE_LIMITER] = RateLimiter()
    add_routes(app)
    openapi_body = json.dumps(build_openapi()).encode()

    async def openapi(request: web.Request) -> web.Response:
        return web.Response(body=openapi_body, content_type="application/json")

    app.router.add_get("/openapi.json", openapi, name="openapi")
    add_metrics(app, settings.metrics_multiproc_dir)
    add_page_routes(app)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_model)
    app.cleanup_ctx.append(_policy_tools)
    app.cleanup_ctx.append(webhook_context)
    app.cleanup_ctx.append(_intake)
    app.cleanup_ctx.append(retention_context)
    app.cleanup_ctx.append(_live_updates)
    app.cleanup_ctx.append(_queue_sampler)
    app.on_shutdown.append(_end_live_streams)
    app.on_response_prepare.append(_security_headers)
    app.on_response_prepare.append(add_rate_headers)
    return app
