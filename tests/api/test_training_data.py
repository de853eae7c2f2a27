"""GET /v1/training-data: moderator decisions as labeled JSON lines, resumable, erasure-aware."""

from __future__ import annotations

import json

import asyncpg
import jsonschema
from aiohttp.test_utils import TestClient

from tests.helpers import CIVIL, Keys, assert_problem, auth


async def decided(client: TestClient, keys: Keys, decisions: list[tuple[str, str, str | None]]) -> list[str]:
    """Post premod comments (author, decision, reason) and have a moderator decide them; their ids."""
    await client.put("/v1/articles/a-premod", json={"mode": "premod"}, headers=auth(keys.admin))
    ids = []
    for i, (author, _, _) in enumerate(decisions):
        resp = await client.post(
            "/v1/comments",
            json={"article_id": "a-premod", "author_id": author, "text": f"{CIVIL} ({i})"},
            headers=auth(keys.submitter),
        )
        body = await resp.json()
        assert body["status"] == "pending", body
        ids.append(body["id"])
    resp = await client.post("/v1/review/claim", json={"limit": 100}, headers=auth(keys.moderator))
    assert len((await resp.json())["items"]) == len(ids)
    for comment_id, (_, decision, reason) in zip(ids, decisions, strict=True):
        resp = await client.post(
            f"/v1/review/{comment_id}/decision",
            json={"decision": decision, "reason": reason},
            headers=auth(keys.moderator),
        )
        assert resp.status == 200
    return ids


async def lines(client: TestClient, key: str, **params: object) -> list[dict]:
    resp = await client.get("/v1/training-data", params={k: str(v) for k, v in params.items()}, headers=auth(key))
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "application/x-ndjson"
    return [json.loads(line) for line in (await resp.text()).splitlines()]


async def test_decisions_stream_as_labeled_examples_with_provenance(client: TestClient, keys: Keys) -> None:
    ids = await decided(client, keys, [("r1", "approve", None), ("r2", "reject", "spam link"), ("r3", "reject", None)])
    examples = await lines(client, keys.trainer)
    assert [e["comment_id"] for e in examples] == ids
    approved, spam, toxic = examples
    assert approved["outcome"] == "approved" and set(approved["labels"].values()) == {0.0}
    assert spam["labels"]["spam"] == 1.0 and spam["labels"]["toxicity"] is None
    assert toxic["labels"]["toxicity"] == 1.0
    provenance = spam["provenance"]
    assert provenance["actor_name"] == "moderator" and provenance["action"] == "decided"
    assert provenance["reason"] == "spam link" and provenance["from_status"] == "pending"
    assert provenance["model_version"] and set(provenance["model_scores"]) >= {"toxicity", "spam"}
    assert spam["text"].startswith(CIVIL)


async def test_openapi_documents_the_media_type_and_lines_it_streams(client: TestClient, keys: Keys) -> None:
    await decided(client, keys, [("r1", "approve", None), ("r2", "reject", "spam link")])
    resp = await client.get("/v1/training-data", headers=auth(keys.trainer))
    assert resp.status == 200
    doc = await (await client.get("/openapi.json")).json()
    content = doc["paths"]["/v1/training-data"]["get"]["responses"]["200"]["content"]
    assert list(content) == [resp.content_type] == ["application/x-ndjson"]
    # The documented schema describes one line; the document's components resolve its $refs.
    line_schema = {**content[resp.content_type]["schema"], "components": doc["components"]}
    body = (await resp.text()).splitlines()
    assert len(body) == 2
    for line in body:
        jsonschema.validate(json.loads(line), line_schema, cls=jsonschema.Draft202012Validator)


async def test_the_cursor_resumes_and_limit_pages(client: TestClient, keys: Keys) -> None:
    ids = await decided(client, keys, [(f"r{i}", "approve", None) for i in range(5)])
    first = await lines(client, keys.trainer, limit=2)
    assert [e["comment_id"] for e in first] == ids[:2]
    rest = await lines(client, keys.trainer, since=first[-1]["cursor"])
    assert [e["comment_id"] for e in rest] == ids[2:]
    assert await lines(client, keys.trainer, since=rest[-1]["cursor"]) == []


async def test_erased_authors_text_is_never_exported(client: TestClient, keys: Keys, conn: asyncpg.Connection) -> None:
    ids = await decided(client, keys, [("keep", "approve", None), ("gone", "reject", None)])
    await conn.execute("UPDATE authors SET erased_at = now() WHERE id = 'gone'")
    assert [e["comment_id"] for e in await lines(client, keys.trainer)] == ids[:1]


async def test_only_trainers_and_admins_read_labels(client: TestClient, keys: Keys) -> None:
    assert await lines(client, keys.admin) == []
    for key in (keys.moderator, keys.submitter):
        resp = await client.get("/v1/training-data", headers=auth(key))
        assert_problem(resp.status, resp.content_type, await resp.json(), 403, "forbidden")
    for since in ("-1", str(2**63)):  # a cursor is a bigint event id
        resp = await client.get("/v1/training-data", params={"since": since}, headers=auth(keys.trainer))
        assert_problem(resp.status, resp.content_type, await resp.json(), 422, "validation_error")


async def test_erasure_through_the_api_removes_the_authors_examples(client: TestClient, keys: Keys) -> None:
    ids = await decided(client, keys, [("stays", "reject", None), ("leaves", "approve", None)])
    resp = await client.delete("/v1/authors/leaves", headers=auth(keys.admin))
    assert resp.status == 200, await resp.text()
    assert [e["comment_id"] for e in await lines(client, keys.trainer)] == ids[:1]


async def test_a_bans_bulk_rejection_is_not_a_label(client: TestClient, keys: Keys) -> None:
    await client.put("/v1/articles/a-premod", json={"mode": "premod"}, headers=auth(keys.admin))
    resp = await client.post(
        "/v1/comments",
        json={"article_id": "a-premod", "author_id": "troll", "text": CIVIL},
        headers=auth(keys.submitter),
    )
    assert (await resp.json())["status"] == "pending"
    resp = await client.post(
        "/v1/authors/troll/ban", json={"reject_pending": True, "reason": "sockpuppet"}, headers=auth(keys.moderator)
    )
    assert resp.status == 200, await resp.text()
    assert await lines(client, keys.trainer) == []
