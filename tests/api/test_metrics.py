"""``/metrics`` scraped from the real app: the key series exist and move when comments flow."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from service.app import create_app
from service.appkeys import METRICS, POOL, SCORER
from service.logs import JsonFormatter, RequestIdFilter
from service.settings import Settings
from tests.helpers import ABUSIVE, CIVIL, Keys, assert_problem, auth

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: TestClient, headers: dict[str, str] | None = None) -> Samples:
    resp = await client.get("/metrics", headers=headers or {})
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "text/plain"
    out: Samples = {}
    for family in text_string_to_metric_families(await resp.text()):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum of every sample of ``name`` whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for (n, lbl), v in samples.items() if n == name and want <= lbl)


async def post_comment(client: TestClient, keys: Keys, text: str, article: str = "metrics-a") -> dict:
    resp = await client.post(
        "/v1/comments",
        json={"article_id": article, "author_id": "reader-1", "text": text},
        headers=auth(keys.submitter),
    )
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def test_key_series_present_and_move_when_comments_flow(client: TestClient, keys: Keys) -> None:
    before = await scrape(client)
    assert value(before, "moderation_queue_stats_up") == 1.0
    assert value(before, "moderation_review_queue_depth") == 0.0
    assert value(before, "moderation_review_queue_oldest_age_seconds") == 0.0
    model_info = [lbl for (n, lbl) in before if n == "moderation_model_info"]
    assert len(model_info) == 1 and dict(model_info[0])["version"]

    civil = await post_comment(client, keys, CIVIL)
    abusive = await post_comment(client, keys, ABUSIVE)
    await client.put("/v1/articles/metrics-premod", json={"mode": "premod"}, headers=auth(keys.admin))
    held = await post_comment(client, keys, CIVIL + " (held)", article="metrics-premod")
    assert held["status"] == "pending"

    after = await scrape(client)
    # Decisions by status and reason code, exactly as the answers said.
    expected: dict[tuple[str, str], int] = {}
    for answer in (civil, abusive, held):
        for reason in answer["reasons"]:
            expected[(answer["status"], reason["code"])] = expected.get((answer["status"], reason["code"]), 0) + 1
    for (status, code), count in expected.items():
        assert value(after, "moderation_decision_reasons_total", status=status, code=code) == count
    assert ("pending", "article_premoderated") in expected
    for status in {a["status"] for a in (civil, abusive, held)}:
        made = sum(a["status"] == status for a in (civil, abusive, held))
        assert value(after, "moderation_decisions_total", status=status, source="model") == made
    assert total(after, "moderation_decisions_total") == 3.0

    # Request latency by route *name*, never by raw path.
    assert value(after, "moderation_http_request_duration_seconds_count", route="post_comment", method="POST",
                 status="201") == 3.0
    assert value(after, "moderation_http_request_duration_seconds_count", route="put_article", method="PUT",
                 status="200") == 1.0
    assert not any("/v1/" in dict(lbl).get("route", "") for (_, lbl) in after)

    # Scoring: one model call per submission, each a batch of one.
    assert value(after, "moderation_scoring_duration_seconds_count") == 3.0
    assert value(after, "moderation_scoring_batch_size_count") == 3.0
    assert value(after, "moderation_scoring_batch_size_sum") == 3.0

    # Queue depth from the database at scrape time.
    pending = sum(a["status"] == "pending" for a in (civil, abusive, held))
    assert value(after, "moderation_review_queue_depth") == pending
    assert value(after, "moderation_review_queue_oldest_age_seconds") > 0.0

    # The moderator's decision drains the queue and is counted apart from the model's.
    resp = await client.post("/v1/review/claim", json={"limit": 5}, headers=auth(keys.moderator))
    item = (await resp.json())["items"][0]
    resp = await client.post(
        f"/v1/review/{item['id']}/decision", json={"decision": "reject"}, headers=auth(keys.moderator)
    )
    assert resp.status == 200
    last = await scrape(client)
    assert value(last, "moderation_decisions_total", status="rejected", source="moderator") == 1.0
    assert value(last, "moderation_review_queue_depth") == pending - 1
    # Earlier scrapes are requests too: they appear under the route name "metrics".
    assert total(last, "moderation_http_request_duration_seconds_count", route="metrics") >= 2.0


async def test_unknown_paths_are_one_series(client: TestClient) -> None:
    for path in ("/nope-1", "/nope-2", "/v1/comments/not-a-uuid/x"):
        assert (await client.get(path)).status == 404
    samples = await scrape(client)
    assert value(samples, "moderation_http_request_duration_seconds_count", route="unmatched", method="GET",
                 status="404") == 3.0


async def test_methods_the_api_does_not_route_are_one_series(client: TestClient) -> None:
    # Methods the API never routes are answered 405 without a key; each must not become a series of
    # its own (the pure-Python HTTP parser accepts any token as a method: no bound at all there).
    for method in ("PROPFIND", "MKCOL", "LOCK"):
        assert (await client.request(method, "/v1/comments")).status == 405
    samples = await scrape(client)
    methods = {dict(lbl).get("method") for (n, lbl) in samples if n.startswith("moderation_http_request")}
    assert not methods & {"PROPFIND", "MKCOL", "LOCK"}, methods
    assert total(samples, "moderation_http_request_duration_seconds_count", method="other") == 3.0


async def test_webhook_counter_is_exposed_for_the_deliverer(client: TestClient) -> None:
    client.app[METRICS].webhook_deliveries.labels(outcome="dead").inc()
    samples = await scrape(client)
    assert value(samples, "moderation_webhook_deliveries_total", outcome="dead") == 1.0


async def test_two_apps_in_one_process_keep_separate_registries(
    settings: Settings, aiohttp_client: Callable[..., Awaitable[TestClient]], keys: Keys
) -> None:
    first = await aiohttp_client(create_app(settings))
    second = await aiohttp_client(create_app(settings))
    await post_comment(first, keys, CIVIL)
    assert total(await scrape(first), "moderation_decisions_total") == 1.0
    assert total(await scrape(second), "moderation_decisions_total") == 0.0


async def test_queue_query_failure_still_answers(client: TestClient) -> None:
    await client.app[POOL].close()  # the database is gone, as far as this app can tell
    samples = await scrape(client)
    assert value(samples, "moderation_queue_stats_up") == 0.0
    assert ("moderation_review_queue_depth", frozenset()) not in samples
    assert ("moderation_model_info", frozenset({("version", client.app[SCORER].model.version)})) in samples


@pytest.fixture
def token_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"metrics_token": SecretStr("scrape-secret")})


async def test_metrics_token_restricts_scrapes(
    token_settings: Settings, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> None:
    client = await aiohttp_client(create_app(token_settings))
    resp = await client.get("/metrics")
    assert_problem(resp.status, resp.content_type, await resp.json(), 401, "unauthorized")
    resp = await client.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert resp.status == 401
    samples = await scrape(client, {"Authorization": "Bearer scrape-secret"})
    assert value(samples, "moderation_queue_stats_up") == 1.0


async def test_json_logs_carry_the_request_id_and_no_comment_text(client: TestClient, keys: Keys) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        resp = await client.post(
            "/v1/comments",
            json={"article_id": "logs", "author_id": "reader-9", "text": ABUSIVE, "author_ip": "203.0.113.9"},
            headers={**auth(keys.submitter), "X-Request-Id": "req-abc-123"},
        )
        assert resp.status == 201
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    line = next(x for x in lines if x["logger"] == "moderation.access" and x.get("route") == "post_comment")
    assert line["request_id"] == "req-abc-123" and line["level"] == "INFO"
    assert line["status"] == "201" and line["method"] == "POST" and line["duration_ms"] > 0
    everything = stream.getvalue()
    assert "idiot" not in everything and "203.0.113.9" not in everything and keys.submitter not in everything
