"""Prometheus metrics: one registry per app, a latency middleware, and the ``/metrics`` handler.

Every app gets its own ``CollectorRegistry`` (held in ``appkeys.METRICS``), never the global default
one, so tests that build several apps in one process do not collide. Series that describe state
rather than events (queue depth, oldest age, the model version) are read at scrape time, so they
are never stale and need no hook where the state changes (a hot model swap included).

Multi-process mode: when ``moderation serve --workers N`` runs several processes, each child gets
``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's own switch, read when it is imported) and
``MODERATION_METRICS_MULTIPROC_DIR``; counters and histograms are then written to files there and
any worker's ``/metrics`` answers the sum over all workers. The scrape-time series come from the
worker that answered (they describe the shared database, or the model that worker serves).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from service.api.problems import problem_response
from service.appkeys import METRICS, POOL, SCORER, SETTINGS
from service.db import store

log = logging.getLogger(__name__)
access_log = logging.getLogger("moderation.access")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

NAMESPACE = "moderation"
# Request latency: the API answers in milliseconds; the tail buckets catch a slow database.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SCORING_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
# A scrape must answer even when PostgreSQL hangs: the queue query gets this long, then is dropped.
QUEUE_QUERY_TIMEOUT_S = 2.0
UNMATCHED_ROUTE = "unmatched"  # 404s and the like: never the raw path (unbounded cardinality)
# Any token is a valid HTTP method, so the raw method is client input like the path: methods the
# API routes keep their name, every other one is counted as one series. Without this, requests
# with made-up methods (answered 405, no key needed) each added a histogram series for good.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"


@dataclass(frozen=True)
class QueueSnapshot:
    depth: int
    leased: int
    oldest_age_s: float


class _ScrapeTimeCollector(Collector):
    """Series read when Prometheus scrapes: queue state and the serving model's version."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        m = self._metrics
        up = GaugeMetricFamily(f"{NAMESPACE}_queue_stats_up", "1 if the queue query of this scrape succeeded, else 0")
        up.add_metric([], 1.0 if m.queue is not None else 0.0)
        yield up
        if m.queue is not None:
            yield GaugeMetricFamily(
                f"{NAMESPACE}_review_queue_depth", "Pending comments awaiting review", value=m.queue.depth
            )
            yield GaugeMetricFamily(
                f"{NAMESPACE}_review_queue_leased", "Pending comments currently claimed", value=m.queue.leased
            )
            yield GaugeMetricFamily(
                f"{NAMESPACE}_review_queue_oldest_age_seconds",
                "Age of the oldest pending comment (0 when the queue is empty)",
                value=m.queue.oldest_age_s,
            )
        if m.model_version is not None:
            info = InfoMetricFamily(f"{NAMESPACE}_model", "The model this process scores with")
            info.add_metric([], {"version": m.model_version})
            yield info


class Metrics:
    """The app's metric objects and its registry."""

    def __init__(self, multiproc_dir: Path | None = None) -> None:
        self.registry = CollectorRegistry()
        self.multiproc_dir = multiproc_dir
        self.queue: QueueSnapshot | None = None
        self.model_version: str | None = None
        r = self.registry
        self.request_duration = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency by route name, method and status code",
            ["route", "method", "status"],
            namespace=NAMESPACE,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.decisions = Counter(
            "decisions_total",
            "Moderation decisions by resulting status and who decided (model or moderator)",
            ["status", "source"],
            namespace=NAMESPACE,
            registry=r,
        )
        self.decision_reasons = Counter(
            "decision_reasons_total",
            "Reason codes attached to decisions, by resulting status (a decision may carry several)",
            ["status", "code"],
            namespace=NAMESPACE,
            registry=r,
        )
        self.scoring_duration = Histogram(
            "scoring_duration_seconds",
            "Time to score one batch of texts with the model (in the scoring thread)",
            namespace=NAMESPACE,
            buckets=SCORING_BUCKETS,
            registry=r,
        )
        self.scoring_batch_size = Histogram(
            "scoring_batch_size",
            "Texts per scoring call",
            namespace=NAMESPACE,
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.intake_batch_size = Histogram(
            "intake_batch_size",
            "New comments per submission batch (one transaction each)",
            namespace=NAMESPACE,
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        # The webhook deliverer (issue 4) records each attempt's outcome here:
        # delivered | retry | dead. See docs/operations.md ("Metrics") for the one-line hook.
        self.webhook_deliveries = Counter(
            "webhook_deliveries_total",
            "Webhook delivery attempts by outcome (delivered, retry, dead)",
            ["outcome"],
            namespace=NAMESPACE,
            registry=r,
        )
        self.registry.register(_ScrapeTimeCollector(self))

    def observe_scoring(self, batch_size: int, seconds: float) -> None:
        """Hook for the scorer: one model call of ``batch_size`` texts took ``seconds``."""
        self.scoring_duration.observe(seconds)
        self.scoring_batch_size.observe(batch_size)

    def observe_intake_batch(self, batch_size: int) -> None:
        """Hook for the intake: one batch of ``batch_size`` submissions started."""
        self.intake_batch_size.observe(batch_size)

    def record_decision(self, status: str, reasons: Sequence[Mapping[str, Any]], *, source: str) -> None:
        """Count one decision and its reason codes (codes are a fixed, small set)."""
        self.decisions.labels(status=status, source=source).inc()
        for reason in reasons:
            self.decision_reasons.labels(status=status, code=str(reason.get("code", "unknown"))).inc()

    def exposition(self) -> bytes:
        """The text format for one scrape; sums over all workers in multi-process mode."""
        if self.multiproc_dir is None:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged, path=str(self.multiproc_dir))
        merged.register(_ScrapeTimeCollector(self))
        return generate_latest(merged)


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Latency histogram by route *name* (bounded labels) and one access-log line without IP or path."""
    started = time.perf_counter()
    status = "cancelled"
    try:
        response = await handler(request)
        status = str(response.status)
        return response
    except web.HTTPException as exc:  # redirects and the like pass through the problem middleware
        status = str(exc.status)
        raise
    finally:
        elapsed = time.perf_counter() - started
        route = request.match_info.route.name or UNMATCHED_ROUTE
        method = request.method if request.method in KNOWN_METHODS else OTHER_METHOD
        # config_dict: the root app's keys are found from a sub-app's request too.
        metrics = request.config_dict[METRICS]
        metrics.request_duration.labels(route=route, method=method, status=status).observe(elapsed)
        if request.config_dict[SETTINGS].access_log:
            access_log.info(
                "%s %s %s %.1fms",
                method,
                route,
                status,
                elapsed * 1000,
                extra={"route": route, "method": method, "status": status, "duration_ms": elapsed * 1000},
            )


async def _read_queue(app: web.Application) -> QueueSnapshot | None:
    try:
        async with asyncio.timeout(QUEUE_QUERY_TIMEOUT_S):
            async with app[POOL].acquire() as conn:
                row = await store.review_stats(conn, None, None)
    except Exception as exc:  # a scrape must still answer: report queue_stats_up 0 instead
        log.warning("metrics: queue query failed: %s", exc.__class__.__name__)
        return None
    return QueueSnapshot(int(row["depth"]), int(row["leased"]), float(row["oldest_age_s"]))


async def metrics_handler(request: web.Request) -> web.Response:
    """``GET /metrics``: Prometheus text format; a bearer token is required when one is configured."""
    app = request.app
    token = app[SETTINGS].metrics_token
    if token is not None:
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), token.get_secret_value().encode()
        ):
            return problem_response(
                request,
                401,
                "unauthorized",
                "Unauthorized",
                "send the metrics token as 'Authorization: Bearer <token>'",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    metrics = app[METRICS]
    metrics.queue = await _read_queue(app)
    scorer = app.get(SCORER)
    metrics.model_version = scorer.model.version if scorer is not None else None
    body = metrics.exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_metrics(app: web.Application, multiproc_dir: Path | None) -> None:
    """Give ``app`` its own registry and the ``/metrics`` route (outside the API's route table)."""
    app[METRICS] = Metrics(multiproc_dir)
    app.router.add_get("/metrics", metrics_handler, name="metrics")
