"""Helpers for the policy API tests: a site configured so that the rules decide, and short
requests for comments, word lists, claims and decisions."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.helpers import CIVIL, Keys, auth

# The classifier's own thresholds hold much ordinary text for review; these tests are about the
# rules, so their site relaxes the scores and lets each rule decide alone.
LENIENT = {label: {"review": 0.999, "reject": 1.0} for label in
           ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack", "spam")}  # fmt: skip


async def configure(client: TestClient, keys: Keys, site: str = "default", **settings: Any) -> dict[str, Any]:
    resp = await client.put(
        f"/v1/sites/{site}/settings", json={"thresholds": LENIENT, **settings}, headers=auth(keys.admin)
    )
    body = await resp.json()
    assert resp.status == 200, body
    return body


async def words(client: TestClient, keys: Keys, kind: str, terms: list[str], site: str = "default") -> None:
    resp = await client.put(f"/v1/sites/{site}/word-lists/{kind}", json={"terms": terms}, headers=auth(keys.admin))
    assert resp.status == 200, await resp.text()


async def submit(client: TestClient, keys: Keys, text: str = CIVIL, **extra: Any) -> tuple[int, dict[str, Any]]:
    body = {"article_id": "a1", "author_id": "reader-1", "text": text, **extra}
    resp = await client.post("/v1/comments", json=body, headers=auth(keys.submitter))
    return resp.status, await resp.json()


def codes(body: dict[str, Any]) -> list[str]:
    return [r["code"] for r in body["reasons"]]


async def claim(client: TestClient, key: str, **body: Any) -> list[dict[str, Any]]:
    resp = await client.post("/v1/review/claim", json=body, headers=auth(key))
    assert resp.status == 200, await resp.text()
    items: list[dict[str, Any]] = (await resp.json())["items"]
    return items


async def decide(client: TestClient, key: str, cid: str, decision: str) -> dict[str, Any]:
    resp = await client.post(f"/v1/review/{cid}/decision", json={"decision": decision}, headers=auth(key))
    body: dict[str, Any] = await resp.json()
    assert resp.status == 200, body
    return body


async def author(client: TestClient, keys: Keys, action: str, author_id: str = "reader-1", **body: Any) -> Any:
    resp = await client.post(f"/v1/authors/{author_id}/{action}", json=body, headers=auth(keys.moderator))
    out = await resp.json()
    assert resp.status == 200, out
    return out
