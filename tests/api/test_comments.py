"""Submitting, reading and scoring comments through the real app and database."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from aiohttp.test_utils import TestClient

from tests.helpers import ABUSIVE, CIVIL, Keys, assert_problem, auth


def comment(text: str = CIVIL, **extra: object) -> dict[str, object]:
    return {"article_id": "turkey-pakistan-nukes", "author_id": "reader-1", "text": text, **extra}


async def post(client: TestClient, key: str, body: object, **kw: object) -> tuple[int, dict]:
    resp = await client.post("/v1/comments", json=body, headers=auth(key), **kw)
    return resp.status, await resp.json(content_type=None)


async def test_civil_comment_is_approved_and_stored(client: TestClient, keys: Keys) -> None:
    status, body = await post(client, keys.submitter, comment())
    assert status == 201
    assert body["status"] == "approved"
    assert set(body["scores"]) >= {"toxicity", "insult", "threat", "spam"}
    assert all(0.0 <= p <= 1.0 for p in body["scores"].values())
    assert body["model_version"]
    assert body["reasons"] and body["reasons"][0]["code"] == "below_thresholds"

    resp = await client.get(f"/v1/comments/{body['id']}", headers=auth(keys.submitter))
    stored = await resp.json()
    assert resp.status == 200
    assert stored["status"] == "approved" and stored["text"] == CIVIL
    assert [(e["action"], e["to_status"]) for e in stored["history"]] == [("created", "approved")]
    assert stored["history"][0]["actor_name"] == f"model:{body['model_version']}"


async def test_abusive_comment_is_rejected_or_held_with_reasons_and_spans(client: TestClient, keys: Keys) -> None:
    status, body = await post(client, keys.submitter, comment(ABUSIVE))
    assert status == 201
    assert body["status"] in ("rejected", "pending")
    codes = {r["code"] for r in body["reasons"]}
    assert codes & {"score_above_reject", "score_above_review"}
    flagged = [r for r in body["reasons"] if r.get("label")]
    assert all(r["score"] >= r["threshold"] for r in flagged)
    assert body["spans"], "moderators need to see which words drove the score"
    for span in body["spans"]:
        assert 0 <= span["start"] < span["end"] <= len(ABUSIVE)


async def test_same_external_id_twice_gives_one_comment(
    client: TestClient, keys: Keys, conn: asyncpg.Connection
) -> None:
    first_status, first = await post(client, keys.submitter, comment(external_id="site-42"))
    again_status, again = await post(client, keys.submitter, comment(external_id="site-42"))
    assert (first_status, again_status) == (201, 200)
    assert again["id"] == first["id"] and again["status"] == first["status"]
    assert await conn.fetchval("SELECT count(*) FROM comments WHERE external_id = 'site-42'") == 1


async def test_concurrent_retries_with_one_idempotency_key_never_duplicate(
    client: TestClient, keys: Keys, conn: asyncpg.Connection
) -> None:
    results = await asyncio.gather(
        *(
            client.post("/v1/comments", json=comment(), headers={**auth(keys.submitter), "Idempotency-Key": "k-1"})
            for _ in range(10)
        )
    )
    statuses = sorted(r.status for r in results)
    ids = {(await r.json())["id"] for r in results}
    assert statuses.count(201) == 1 and statuses.count(200) == 9
    assert len(ids) == 1
    assert await conn.fetchval("SELECT count(*) FROM comments") == 1


async def test_premod_article_holds_a_civil_comment(client: TestClient, keys: Keys) -> None:
    resp = await client.put("/v1/articles/a-premod", json={"mode": "premod"}, headers=auth(keys.admin))
    assert resp.status == 200 and (await resp.json())["mode"] == "premod"
    status, body = await post(client, keys.submitter, comment(article_id="a-premod"))
    assert status == 201 and body["status"] == "pending"
    assert "article_premoderated" in {r["code"] for r in body["reasons"]}


async def test_closed_article_refuses_comments(client: TestClient, keys: Keys, conn: asyncpg.Connection) -> None:
    await client.put("/v1/articles/a-closed", json={"mode": "closed"}, headers=auth(keys.admin))
    resp = await client.post("/v1/comments", json=comment(article_id="a-closed"), headers=auth(keys.submitter))
    assert_problem(resp.status, resp.content_type, await resp.json(), 409, "article_closed")
    assert await conn.fetchval("SELECT count(*) FROM comments") == 0


async def test_reply_must_point_at_a_comment_of_the_same_article(client: TestClient, keys: Keys) -> None:
    _, parent = await post(client, keys.submitter, comment())
    status, reply = await post(client, keys.submitter, comment(parent_id=parent["id"]))
    assert status == 201 and reply["parent_id"] == parent["id"]
    resp = await client.post("/v1/comments", json=comment(parent_id=str(uuid.uuid4())), headers=auth(keys.submitter))
    body = await resp.json()
    assert_problem(resp.status, resp.content_type, body, 422, "invalid_reference")
    assert body["errors"][0]["field"] == "parent_id"


async def test_score_stores_nothing(client: TestClient, keys: Keys, conn: asyncpg.Connection) -> None:
    resp = await client.post("/v1/score", json={"text": ABUSIVE}, headers=auth(keys.submitter))
    body = await resp.json()
    assert resp.status == 200
    assert body["status"] in ("rejected", "pending") and body["spans"] and body["model_version"]
    assert await conn.fetchval("SELECT count(*) FROM comments") == 0


async def test_unknown_comment_is_404(client: TestClient, keys: Keys) -> None:
    for path in (f"/v1/comments/{uuid.uuid4()}", "/v1/comments/not-a-uuid"):
        resp = await client.get(path, headers=auth(keys.submitter))
        assert_problem(resp.status, resp.content_type, await resp.json(), 404, "not_found")


async def test_site_bound_key_sees_only_its_site(client: TestClient, keys: Keys, conn: asyncpg.Connection) -> None:
    from service.domain.types import Role
    from service.keys import create_key

    other = (await create_key(conn, name="other-site", role=Role.SUBMITTER, site_id="other")).secret
    _, mine = await post(client, keys.submitter, comment())
    resp = await client.get(f"/v1/comments/{mine['id']}", headers=auth(other))
    assert resp.status == 404
    resp = await client.post("/v1/comments", json=comment(site_id="default"), headers=auth(other))
    assert_problem(resp.status, resp.content_type, await resp.json(), 403, "forbidden")
    status, theirs = await post(client, other, comment())
    assert status == 201 and theirs["site_id"] == "other"
