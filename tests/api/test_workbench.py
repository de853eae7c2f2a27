"""The moderator's workbench over HTTP: sorted claims, leases, bulk, undo, context, dashboard, live events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import asyncpg
from aiohttp.test_utils import TestClient

from service.api.page import PAGE_CSP
from service.app import create_app
from service.appkeys import HUB
from service.settings import Settings
from service.workbench import record_queue_snapshot
from tests.api.policy_helpers import configure
from tests.helpers import Keys, assert_problem, auth, insert_pending


async def post(client: TestClient, path: str, key: str, body: object) -> tuple[int, dict]:
    resp = await client.post(path, json=body, headers=auth(key))
    return resp.status, await resp.json()


async def claim(client: TestClient, key: str, **body: object) -> list[dict]:
    status, out = await post(client, "/v1/review/claim", key, body)
    assert status == 200, out
    return out["items"]


async def history(client: TestClient, key: str, cid: object) -> list[dict]:
    resp = await client.get(f"/v1/comments/{cid}", headers=auth(key))
    return (await resp.json())["history"]


async def test_whoami_tells_the_page_its_settings(client: TestClient, keys: Keys) -> None:
    resp = await client.get("/v1/review/whoami", headers=auth(keys.moderator))
    me = await resp.json()
    assert resp.status == 200
    assert me["name"] == "moderator" and me["role"] == "moderator" and me["site_id"] is None
    assert me["lease_s"] == 60 and me["undo_window_s"] > 0 and me["reject_reasons"]
    resp = await client.get("/v1/review/whoami", headers=auth(keys.submitter))
    assert_problem(resp.status, resp.content_type, await resp.json(), 403, "forbidden")


async def test_claim_sorts_by_score_and_newest(client: TestClient, keys: Keys, conn: asyncpg.Connection) -> None:
    low = await insert_pending(conn, scores={"toxicity": 0.2})
    high = await insert_pending(conn, scores={"toxicity": 0.9})
    mid = await insert_pending(conn, scores={"toxicity": 0.5})
    assert [i["id"] for i in await claim(client, keys.moderator, limit=2, sort="score")] == [str(high.id), str(mid.id)]
    assert [i["id"] for i in await claim(client, keys.moderator_b, limit=5, sort="newest")] == [str(low.id)]


async def test_extend_and_release_touch_only_your_own_leases(
    client: TestClient, keys: Keys, conn: asyncpg.Connection
) -> None:
    mine = await insert_pending(conn)
    theirs = await insert_pending(conn)
    await claim(client, keys.moderator, limit=1)
    await claim(client, keys.moderator_b, limit=1)
    before = await conn.fetchval("SELECT lease_expires_at FROM comments WHERE id = $1", mine.id)

    status, out = await post(
        client, "/v1/review/leases/extend", keys.moderator, {"ids": [str(mine.id), str(theirs.id)]}
    )
    assert status == 200 and [e["id"] for e in out["extended"]] == [str(mine.id)]
    after = await conn.fetchval("SELECT lease_expires_at FROM comments WHERE id = $1", mine.id)
    assert after >= before

    status, out = await post(
        client, "/v1/review/leases/release", keys.moderator, {"ids": [str(mine.id), str(theirs.id)]}
    )
    assert status == 200 and out["released"] == [str(mine.id)]
    # Released: someone else may claim it at once; the other moderator's lease is untouched.
    assert [i["id"] for i in await claim(client, keys.moderator_b, limit=5)] == [str(mine.id)]
    status, out = await post(client, "/v1/review/leases/extend", keys.moderator, {"ids": [str(mine.id)]})
    assert out["extended"] == []

    status, out = await post(client, "/v1/review/leases/extend", keys.moderator, {"ids": []})
    assert_problem(status, "application/problem+json", out, 422, "validation_error")


async def test_bulk_by_ids_decides_in_one_go_and_skips_what_others_hold(
    client: TestClient, keys: Keys, conn: asyncpg.Connection
) -> None:
    comments = [await insert_pending(conn, author_id=f"r{i % 2}") for i in range(5)]
    held_by_other = comments[0]
    await post(client, "/v1/review/claim", keys.moderator_b, {"limit": 1})  # takes the oldest: comments[0]
    ids = [str(c.id) for c in comments]

    status, out = await post(
        client, "/v1/review/bulk", keys.moderator, {"ids": ids, "decision": "reject", "reason": "Spam"}
    )
    assert status == 200, out
    assert out["decided"] == 4 and out["matched"] == 4 and out["skipped"] == 0
    assert set(out["ids"]) == set(ids[1:])
    statuses = dict(await conn.fetch("SELECT id::text, status FROM comments"))
    assert statuses.pop(str(held_by_other.id)) == "pending"
    assert set(statuses.values()) == {"rejected"}
    last = (await history(client, keys.moderator, ids[1]))[-1]
    assert (last["action"], last["actor_name"], last["to_status"]) == ("decided", "moderator", "rejected")
    tallies = await conn.fetch("SELECT id, rejected_count FROM authors ORDER BY id")
    assert [(r["id"], r["rejected_count"]) for r in tallies] == [("r0", 2), ("r1", 2)]


async def test_bulk_by_filter_previews_then_decides_exactly_what_was_counted(
    client: TestClient, keys: Keys, conn: asyncpg.Connection
) -> None:
    for i in range(50):
        await insert_pending(conn, article_id="backlog", author_id=f"r{i}")
    await insert_pending(conn, article_id="elsewhere")
    body = {"filter": {"article_id": "backlog"}, "decision": "approve"}
    status, preview = await post(client, "/v1/review/bulk", keys.moderator, {**body, "dry_run": True})
    assert status == 200 and preview["matched"] == 50 and preview["decided"] == 0
    assert await conn.fetchval("SELECT count(*) FROM comments WHERE status = 'pending'") == 51

    late = await insert_pending(conn, article_id="backlog", author_id="late")  # arrives after the preview
    body["filter"]["created_before"] = preview["as_of"]
    status, out = await post(client, "/v1/review/bulk", keys.moderator, body)
    assert status == 200 and out["decided"] == 50 and out["ids"] == []
    pending = await conn.fetch("SELECT id FROM comments WHERE status = 'pending'")
    assert {r["id"] for r in pending} == {late.id} | {
        r["id"] for r in await conn.fetch("SELECT id FROM comments WHERE article_id = 'elsewhere'")
    }
    events = await conn.fetchval("SELECT count(*) FROM comment_events WHERE action = 'decided'")
    assert events == 50


async def test_bulk_needs_exactly_one_selection(client: TestClient, keys: Keys) -> None:
    for body in ({"decision": "approve"}, {"ids": [], "decision": "approve"}, {"decision": "approve", "ids": ["x"]}):
        status, out = await post(client, "/v1/review/bulk", keys.moderator, body)
        assert_problem(status, "application/problem+json", out, 422, "validation_error")
    status, out = await post(
        client,
        "/v1/review/bulk",
        keys.moderator,
        {"decision": "approve", "filter": {}, "ids": ["6f0a4c62-8e7b-4d0c-9f55-3a4f0b7c1d22"]},
    )
    assert_problem(status, "application/problem+json", out, 422, "validation_error")


async def test_undo_returns_the_comment_to_its_decider(
    client: TestClient, keys: Keys, conn: asyncpg.Connection
) -> None:
    c = await insert_pending(conn, author_id="author-u")
    await claim(client, keys.moderator, limit=1)
    status, _ = await post(
        client, f"/v1/review/{c.id}/decision", keys.moderator, {"decision": "reject", "reason": "Spam"}
    )
    assert status == 200
    assert await conn.fetchval("SELECT rejected_count FROM authors WHERE id = 'author-u'") == 1

    status, out = await post(client, f"/v1/review/{c.id}/undo", keys.moderator_b, {})
    assert_problem(status, "application/problem+json", out, 403, "forbidden")

    status, out = await post(client, f"/v1/review/{c.id}/undo", keys.moderator, {})
    assert status == 200 and out["status"] == "pending" and out["lease_expires_at"]
    assert await conn.fetchval("SELECT rejected_count FROM authors WHERE id = 'author-u'") == 0
    last = (await history(client, keys.moderator, c.id))[-1]
    assert (last["action"], last["from_status"], last["to_status"]) == ("undone", "rejected", "pending")
    # The undoer holds it again: nobody else can claim it meanwhile, the undoer can decide again.
    assert await claim(client, keys.moderator_b, limit=5) == []
    status, out = await post(client, f"/v1/review/{c.id}/undo", keys.moderator, {})
    assert_problem(status, "application/problem+json", out, 409, "undo_not_allowed")
    status, out = await post(client, f"/v1/review/{c.id}/decision", keys.moderator, {"decision": "approve"})
    assert status == 200 and out["status"] == "approved"


async def test_undo_refuses_the_models_decisions_and_unknown_ids(
    client: TestClient, keys: Keys, conn: asyncpg.Connection
) -> None:
    c = await insert_pending(conn)
    await conn.execute("UPDATE comments SET status = 'rejected', decided_at = now() WHERE id = $1", c.id)
    status, out = await post(client, f"/v1/review/{c.id}/undo", keys.moderator, {})
    assert_problem(status, "application/problem+json", out, 409, "undo_not_allowed")
    status, out = await post(client, "/v1/review/6f0a4c62-8e7b-4d0c-9f55-3a4f0b7c1d22/undo", keys.moderator, {})
    assert_problem(status, "application/problem+json", out, 404, "not_found")


async def test_undo_window_is_enforced(
    settings: Settings,
    keys: Keys,
    conn: asyncpg.Connection,
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    client = await aiohttp_client(create_app(settings.model_copy(update={"review_undo_window_s": 0})))
    c = await insert_pending(conn)
    await claim(client, keys.moderator, limit=1)
    await post(client, f"/v1/review/{c.id}/decision", keys.moderator, {"decision": "approve"})
    await asyncio.sleep(0.01)
    status, out = await post(client, f"/v1/review/{c.id}/undo", keys.moderator, {})
    assert_problem(status, "application/problem+json", out, 409, "undo_window_passed")


async def test_context_has_article_parent_and_author_history(
    client: TestClient, keys: Keys, conn: asyncpg.Connection
) -> None:
    await client.put(
        "/v1/articles/a-premod",
        json={"mode": "premod", "title": "A title", "url": "https://news.example/a"},
        headers=auth(keys.admin),
    )
    parent = await insert_pending(conn, author_id="parent-author", text="The parent.")
    older = await insert_pending(conn, author_id="writer", text="An older comment.")
    child = await insert_pending(conn, author_id="writer", text="The reply.", parent_id=parent.id)
    await conn.execute("UPDATE comments SET status = 'approved' WHERE id = $1", older.id)
    await conn.execute("UPDATE authors SET approved_count = 3, rejected_count = 1 WHERE id = 'writer'")

    resp = await client.get(f"/v1/review/{child.id}/context", headers=auth(keys.moderator))
    ctx = await resp.json()
    assert resp.status == 200
    assert ctx["comment"]["text"] == "The reply."
    assert ctx["article"] == {"id": "a-premod", "title": "A title", "url": "https://news.example/a", "mode": "premod"}
    assert ctx["parent"]["text"] == "The parent." and ctx["parent"]["author_id"] == "parent-author"
    author = ctx["author"]
    assert author["approval_rate"] == 0.75 and author["sanctions"] == []
    assert [r["text"] for r in author["recent"]] == ["An older comment."]

    await conn.execute("UPDATE authors SET standing = 'banned' WHERE id = 'writer'")
    ctx = await (await client.get(f"/v1/review/{child.id}/context", headers=auth(keys.moderator))).json()
    assert ctx["author"]["sanctions"] == ["banned"]


async def test_dashboard_counts_decisions_overturns_and_queue_samples(
    client: TestClient, keys: Keys, conn: asyncpg.Connection, settings: Settings
) -> None:
    flagged = [
        await insert_pending(
            conn,
            scores={"insult": 0.7},
            reasons=[{"code": "score_above_review", "message": "possibly an insult", "label": "insult", "score": 0.7}],
        )
        for _ in range(3)
    ]
    clean = [await insert_pending(conn) for _ in range(2)]
    await claim(client, keys.moderator, limit=10)
    decide = [
        (flagged[0], "approve", None),
        (flagged[1], "reject", "Abuse"),
        (flagged[2], "reject", "Abuse"),
        (clean[0], "reject", "Spam"),
        (clean[1], "approve", None),
    ]
    for c, decision, reason in decide:
        status, _ = await post(
            client, f"/v1/review/{c.id}/decision", keys.moderator, {"decision": decision, "reason": reason}
        )
        assert status == 200
    # An undone decision does not count.
    await post(client, f"/v1/review/{clean[1].id}/undo", keys.moderator, {})
    await insert_pending(conn)

    pool = await asyncpg.create_pool(settings.database_url.get_secret_value(), min_size=1, max_size=1)  # type: ignore[union-attr]
    try:
        await record_queue_snapshot(pool, interval_s=60, keep_days=1)
        await record_queue_snapshot(pool, interval_s=60, keep_days=1)  # same bucket: no second row
    finally:
        await pool.close()

    resp = await client.get("/v1/review/dashboard", params={"days": "7", "hours": "24"}, headers=auth(keys.moderator))
    board = await resp.json()
    assert resp.status == 200, board
    assert board["now"]["depth"] == 2
    assert len(board["queue"]) == 1 and board["queue"][0]["depth"] == 2
    (day,) = board["decisions"]
    assert (day["moderator"], day["approved"], day["rejected"]) == ("moderator", 1, 3)
    o = board["overturns"]
    assert o["overall"] == {"key": "all", "decided": 4, "overturned": 2, "rate": 0.5}
    by_label = {r["key"]: (r["decided"], r["overturned"]) for r in o["by_label"]}
    assert by_label == {"insult": (3, 1), "(none)": (1, 1)}
    by_reason = {r["key"]: (r["decided"], r["overturned"]) for r in o["by_model_reason"]}
    assert by_reason == {"score_above_review": (3, 1), "article_premoderated": (1, 1)}
    by_mod = {r["key"]: (r["decided"], r["overturned"]) for r in o["by_moderator_reason"]}
    assert by_mod == {"Abuse": (2, 0), "Spam": (1, 1)}


async def read_event(resp: object, timeout: float = 5.0) -> tuple[str, dict]:
    """The next SSE event (heartbeat comments skipped)."""
    content = resp.content  # type: ignore[attr-defined]
    kind, data = "message", ""
    while True:
        line = (await asyncio.wait_for(content.readline(), timeout)).decode().rstrip("\n")
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "" and data:
            return kind, json.loads(data)


async def test_live_events_follow_the_queue(client: TestClient, keys: Keys, conn: asyncpg.Connection) -> None:
    resp = await client.get("/v1/review/events", headers=auth(keys.moderator))
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
    kind, _hello = await read_event(resp)
    assert kind == "hello"
    # The listener connects in the background at start-up; wait until it listens.
    await asyncio.wait_for(client.server.app[HUB].connected.wait(), 10)
    c = await insert_pending(conn, site_id="site-a")
    kind, event = await read_event(resp)
    assert (kind, event) == ("queue", {"sites": {"site-a": {"entered": 1}}})
    await claim(client, keys.moderator, limit=1)
    kind, event = await read_event(resp)
    assert event == {"sites": {"site-a": {"claimed": 1}}}
    await post(client, f"/v1/review/{c.id}/decision", keys.moderator, {"decision": "approve"})
    kind, event = await read_event(resp)
    assert event == {"sites": {"site-a": {"left": 1}}}
    resp.close()


async def test_the_page_is_served_with_its_own_strict_policy(client: TestClient) -> None:
    resp = await client.get("/moderate")
    html = await resp.text()
    assert resp.status == 200 and resp.content_type == "text/html"
    assert resp.headers["Content-Security-Policy"] == PAGE_CSP
    assert "script-src 'self';" in PAGE_CSP and "'unsafe-inline'" not in PAGE_CSP and "unsafe-eval" not in PAGE_CSP
    assert "<script" in html and "<script>" not in html  # no inline script: module files only
    js = await client.get("/moderate/assets/app.js")
    assert js.status == 200 and js.content_type in ("text/javascript", "application/javascript")
    assert (await client.get("/moderate/assets/../../app.py")).status == 404
    api = await client.get("/healthz")
    assert api.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


async def test_bulk_settles_reports_and_queues_one_webhook_event_per_comment(
    client: TestClient, keys: Keys, conn: asyncpg.Connection
) -> None:
    await configure(client, keys, webhook_url="http://127.0.0.1:9/hook", webhook_secret="whsec-test-0123456789abcdef")
    comments = [await insert_pending(conn, author_id=f"w{i}") for i in range(3)]
    resp = await client.post(
        f"/v1/comments/{comments[0].id}/reports",
        json={"reason": "spam", "reporter_id": "x"},
        headers=auth(keys.submitter),
    )
    assert resp.status in (200, 201), await resp.text()
    ids = [str(c.id) for c in comments]
    status, out = await post(client, "/v1/review/bulk", keys.moderator, {"ids": ids, "decision": "approve"})
    assert status == 200 and out["decided"] == 3
    events = await conn.fetch(
        "SELECT comment_id::text, event_type FROM webhook_outbox WHERE event_type <> 'comment.reported'"
    )
    assert sorted((e["comment_id"], e["event_type"]) for e in events) == sorted((i, "comment.approved") for i in ids)
    assert await conn.fetchval("SELECT count(*) FROM comment_reports WHERE settled_at IS NULL") == 0
    assert await conn.fetchval("SELECT count(*) FROM comments WHERE reported_at IS NOT NULL") == 0

    # Undo announces the comment's return to pending as well.
    resp = await client.post(f"/v1/review/{ids[0]}/undo", json={}, headers=auth(keys.moderator))
    assert resp.status == 200
    assert await conn.fetchval("SELECT event_type FROM webhook_outbox ORDER BY created_at DESC LIMIT 1") == (
        "comment.pending"
    )


async def test_context_lists_moderator_actions_on_the_author(
    client: TestClient, keys: Keys, conn: asyncpg.Connection
) -> None:
    c = await insert_pending(conn, author_id="troll")
    status, _ = await post(client, "/v1/authors/troll/ban", keys.moderator, {"reason": "Repeated abuse"})
    assert status == 200
    ctx = await (await client.get(f"/v1/review/{c.id}/context", headers=auth(keys.moderator))).json()
    assert ctx["author"]["sanctions"] == ["banned"]
    (action,) = ctx["author"]["actions"]
    assert (action["actor_name"], action["to_standing"], action["reason"]) == ("moderator", "banned", "Repeated abuse")
