"""The review workflow over HTTP: claim, decide, queue, stats."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.helpers import CIVIL, Keys, assert_problem, auth


async def pending_comments(client: TestClient, keys: Keys, n: int, article: str = "a-premod") -> list[str]:
    await client.put(f"/v1/articles/{article}", json={"mode": "premod"}, headers=auth(keys.admin))
    ids = []
    for i in range(n):
        resp = await client.post(
            "/v1/comments",
            json={"article_id": article, "author_id": f"r{i}", "text": f"{CIVIL} ({i})"},
            headers=auth(keys.submitter),
        )
        body = await resp.json()
        assert body["status"] == "pending"
        ids.append(body["id"])
    return ids


async def claim(client: TestClient, key: str, **body: object) -> list[dict]:
    resp = await client.post("/v1/review/claim", json=body, headers=auth(key))
    assert resp.status == 200, await resp.text()
    return (await resp.json())["items"]


async def test_claim_decide_and_history(client: TestClient, keys: Keys) -> None:
    (cid,) = await pending_comments(client, keys, 1)
    items = await claim(client, keys.moderator, limit=5)
    assert [i["id"] for i in items] == [cid]
    assert items[0]["text"].startswith(CIVIL) and items[0]["lease_expires_at"]
    assert await claim(client, keys.moderator_b, limit=5) == []

    resp = await client.post(f"/v1/review/{cid}/decision", json={"decision": "approve"}, headers=auth(keys.moderator_b))
    assert_problem(resp.status, resp.content_type, await resp.json(), 409, "lease_not_held")

    resp = await client.post(
        f"/v1/review/{cid}/decision", json={"decision": "approve", "reason": "fair point"}, headers=auth(keys.moderator)
    )
    assert resp.status == 200 and (await resp.json())["status"] == "approved"

    resp = await client.get(f"/v1/comments/{cid}", headers=auth(keys.submitter))
    body = await resp.json()
    assert body["status"] == "approved"
    last = body["history"][-1]
    assert (last["actor_name"], last["actor_kind"], last["from_status"], last["to_status"]) == (
        "moderator",
        "moderator",
        "pending",
        "approved",
    )
    assert last["reasons"][0]["message"] == "fair point"

    resp = await client.post(f"/v1/review/{cid}/decision", json={"decision": "reject"}, headers=auth(keys.moderator))
    assert_problem(resp.status, resp.content_type, await resp.json(), 409, "already_decided")


async def test_claim_filters_by_article_and_is_oldest_first(client: TestClient, keys: Keys) -> None:
    first = await pending_comments(client, keys, 3, article="a1")
    await pending_comments(client, keys, 2, article="a2")
    items = await claim(client, keys.moderator, limit=10, article_id="a1")
    assert [i["id"] for i in items] == first


async def test_queue_pages_and_sorts(client: TestClient, keys: Keys) -> None:
    ids = await pending_comments(client, keys, 5)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        resp = await client.get("/v1/review/queue", params=params, headers=auth(keys.moderator))
        page = await resp.json()
        assert resp.status == 200
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids

    resp = await client.get("/v1/review/queue", params={"sort": "newest"}, headers=auth(keys.moderator))
    assert [i["id"] for i in (await resp.json())["items"]] == ids[::-1]
    resp = await client.get("/v1/review/queue", params={"sort": "score", "limit": "3"}, headers=auth(keys.moderator))
    scores = [i["max_score"] for i in (await resp.json())["items"]]
    assert scores == sorted(scores, reverse=True)

    resp = await client.get("/v1/review/queue", params={"cursor": "garbage"}, headers=auth(keys.moderator))
    body = await resp.json()
    assert_problem(resp.status, resp.content_type, body, 422, "validation_error")
    assert body["errors"][0]["field"] == "cursor"


async def test_stats(client: TestClient, keys: Keys) -> None:
    await pending_comments(client, keys, 3)
    await claim(client, keys.moderator, limit=1)
    resp = await client.get("/v1/review/stats", headers=auth(keys.moderator))
    stats = await resp.json()
    assert resp.status == 200
    assert stats["depth"] == 3 and stats["leased"] == 1 and stats["oldest_age_s"] >= 0


async def test_claim_limit_is_bounded(client: TestClient, keys: Keys) -> None:
    resp = await client.post("/v1/review/claim", json={"limit": 0}, headers=auth(keys.moderator))
    body = await resp.json()
    assert_problem(resp.status, resp.content_type, body, 422, "validation_error")
    assert body["errors"][0]["field"] == "limit"
