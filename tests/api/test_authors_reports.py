"""Reputation, moderator actions on authors, reader reports, edits, erasure and retention,
through the real app and database."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from tests.api.policy_helpers import author, claim, codes, configure, decide, submit, words
from tests.helpers import CIVIL, Keys, assert_problem, auth

# -- reputation -----------------------------------------------------------------------------


async def test_new_authors_are_reviewed_until_enough_approvals(client: TestClient, keys: Keys) -> None:
    await configure(client, keys, new_author_min_approved=1)
    _, first = await submit(client, keys, "My first comment here, hello everyone")
    assert first["status"] == "pending" and codes(first) == ["new_author"]
    assert first["reasons"][0]["public_message"] == "held for review: new commenters are reviewed first"
    await claim(client, keys.moderator)
    await decide(client, keys.moderator, first["id"], "approve")
    _, second = await submit(client, keys, "My second comment, still polite")
    assert second["status"] == "approved"


async def test_a_high_rejection_rate_holds_the_next_comment(client: TestClient, keys: Keys) -> None:
    await configure(client, keys, rejection_rate_min_decided=2, rejection_rate_max=0.5)
    await words(client, keys, "banned", ["turnip"])
    for i in range(2):
        assert (await submit(client, keys, f"turnip number {i}"))[1]["status"] == "rejected"
    _, body = await submit(client, keys, "Now a perfectly fine comment")
    assert body["status"] == "pending" and codes(body) == ["author_rejection_rate"]


async def test_ban_rejects_pending_comments_and_later_ones_with_history(
    client: TestClient, keys: Keys, conn: asyncpg.Connection
) -> None:
    await configure(client, keys, default_mode="premod")
    _, held = await submit(client, keys)
    assert held["status"] == "pending"
    out = await author(client, keys, "ban", reason="spam ring", reject_pending=True)
    assert out["rejected_pending"] == 1 and out["author"]["standing"] == "banned"
    resp = await client.get(f"/v1/comments/{held['id']}", headers=auth(keys.submitter))
    rejected = await resp.json()
    assert rejected["status"] == "rejected" and codes(rejected) == ["author_banned_pending_rejected"]
    _, later = await submit(client, keys, "Another one")
    assert later["status"] == "rejected" and codes(later) == ["author_banned"]
    assert await conn.fetchval("SELECT rejected_count FROM authors WHERE id = 'reader-1'") == 2

    resp = await client.get("/v1/authors/reader-1", headers=auth(keys.moderator))
    view = await resp.json()
    assert [(e["action"], e["to_standing"], e["details"].get("reason")) for e in view["history"]] == [
        ("banned", "banned", "spam ring")
    ]
    await author(client, keys, "reinstate", reason="appeal granted")
    await configure(client, keys)
    assert (await submit(client, keys, "Back again, politely"))[1]["status"] == "approved"


async def test_timed_suspension_always_review_and_trust(client: TestClient, keys: Keys) -> None:
    await configure(client, keys, new_author_min_approved=3)
    out = await author(client, keys, "suspend", duration_s=3600, reason="cool off")
    assert out["author"]["standing"] == "suspended" and out["author"]["suspended_until"]
    _, body = await submit(client, keys)
    assert body["status"] == "rejected" and codes(body) == ["author_suspended"]

    await author(client, keys, "trust")
    assert (await submit(client, keys, "Trusted now, no new-author hold"))[1]["status"] == "approved"

    await author(client, keys, "always-review")
    _, body = await submit(client, keys, "Always reviewed from now on")
    assert body["status"] == "pending" and "author_always_review" in codes(body)

    resp = await client.get("/v1/authors/reader-1", headers=auth(keys.moderator))
    actions = [e["action"] for e in (await resp.json())["history"]]
    assert actions == ["suspended", "trusted", "always_review"]


async def test_author_actions_need_a_moderator_and_valid_input(client: TestClient, keys: Keys) -> None:
    resp = await client.post("/v1/authors/reader-1/ban", json={}, headers=auth(keys.submitter))
    assert_problem(resp.status, resp.content_type, await resp.json(), 403, "forbidden")
    resp = await client.post("/v1/authors/reader-1/suspend", json={}, headers=auth(keys.moderator))
    assert_problem(resp.status, resp.content_type, await resp.json(), 422, "validation_error")
    resp = await client.get("/v1/authors/nobody", headers=auth(keys.moderator))
    assert_problem(resp.status, resp.content_type, await resp.json(), 404, "not_found")


# -- reports --------------------------------------------------------------------------------


async def report(client: TestClient, keys: Keys, cid: str, **body: Any) -> tuple[int, dict[str, Any]]:
    resp = await client.post(f"/v1/comments/{cid}/reports", json=body, headers=auth(keys.submitter))
    return resp.status, await resp.json()


async def test_reports_count_once_per_reader_and_fill_the_reported_queue(client: TestClient, keys: Keys) -> None:
    await configure(client, keys)
    _, published = await submit(client, keys)
    assert published["status"] == "approved"
    status, out = await report(client, keys, published["id"], reason="abuse", reporter_id="reader-9")
    assert status == 201 and out["report_count"] == 1 and out["open_reports"] == {"abuse": 1}
    status, out = await report(client, keys, published["id"], reason="abuse", reporter_id="reader-9")
    assert status == 200 and out["counted"] is False and out["report_count"] == 1
    status, out = await report(client, keys, published["id"], reason="spam")
    assert out["open_reports"] == {"abuse": 1, "spam": 1} and out["report_count"] == 2

    resp = await client.get("/v1/review/queue?queue=reported", headers=auth(keys.moderator))
    queue = await resp.json()
    assert [i["id"] for i in queue["items"]] == [published["id"]] and queue["items"][0]["reported_at"]
    assert queue["items"][0]["open_reports"] == {"abuse": 1, "spam": 1} and queue["items"][0]["report_count"] == 2
    resp = await client.get("/v1/review/queue", headers=auth(keys.moderator))
    assert (await resp.json())["items"] == []  # not pending
    resp = await client.get("/v1/review/stats?queue=reported", headers=auth(keys.moderator))
    assert (await resp.json())["depth"] == 1

    (item,) = await claim(client, keys.moderator, queue="reported")
    decided = await decide(client, keys.moderator, item["id"], "reject")
    assert decided["status"] == "rejected"
    resp = await client.get(f"/v1/comments/{published['id']}", headers=auth(keys.moderator))
    detail = await resp.json()
    assert detail["open_reports"] == {} and detail["report_count"] == 2
    assert [(e["action"], e["from_status"], e["to_status"]) for e in detail["history"]][-1] == (
        "decided",
        "approved",
        "rejected",
    )
    resp = await client.get("/v1/review/stats?queue=reported", headers=auth(keys.moderator))
    assert (await resp.json())["depth"] == 0


async def test_reports_reach_moderators_under_premoderation(client: TestClient, keys: Keys) -> None:
    await configure(client, keys, default_mode="premod")
    _, held = await submit(client, keys)
    await report(client, keys, held["id"], reason="hate", detail="slur in the second line")
    reported = await claim(client, keys.moderator, queue="reported")
    assert [(i["id"], i["open_reports"]) for i in reported] == [(held["id"], {"hate": 1})]
    decided = await decide(client, keys.moderator, held["id"], "approve")
    assert decided["status"] == "approved"
    # The approval settled the report and the pending review at once.
    assert await claim(client, keys.moderator_b) == [] and await claim(client, keys.moderator_b, queue="reported") == []


async def test_reporting_an_unknown_comment_is_404(client: TestClient, keys: Keys) -> None:
    status, body = await report(client, keys, "00000000-0000-0000-0000-000000000000", reason="spam")
    assert status == 404 and body["code"] == "not_found"
    status, body = await report(client, keys, "00000000-0000-0000-0000-000000000000", reason="bad-reason")
    assert status == 422


# -- edits ----------------------------------------------------------------------------------


async def test_an_edit_is_moderated_again_and_keeps_the_old_text(client: TestClient, keys: Keys) -> None:
    await configure(client, keys)
    await words(client, keys, "banned", ["turnip"])
    _, original = await submit(client, keys, "A fine first version")
    assert original["status"] == "approved" and original["version"] == 1
    resp = await client.put(
        f"/v1/comments/{original['id']}", json={"text": "Now with a t-u-r-n-i-p", "version": 1},
        headers=auth(keys.submitter),
    )  # fmt: skip
    edited = await resp.json()
    assert resp.status == 200 and edited["status"] == "rejected" and codes(edited) == ["banned_word"]
    assert edited["version"] == 2
    resp = await client.get(f"/v1/comments/{original['id']}", headers=auth(keys.submitter))
    detail = await resp.json()
    assert detail["text"] == "Now with a t-u-r-n-i-p"
    assert [(r["revision"], r["text"]) for r in detail["revisions"]] == [(1, "A fine first version")]
    assert [(e["action"], e["from_status"], e["to_status"]) for e in detail["history"]] == [
        ("created", None, "approved"),
        ("edited", "approved", "rejected"),
    ]
    # A rejected comment stays rejected: the author posts a new one instead.
    resp = await client.put(f"/v1/comments/{original['id']}", json={"text": "sorry"}, headers=auth(keys.submitter))
    assert_problem(resp.status, resp.content_type, await resp.json(), 409, "comment_rejected")


async def test_an_edit_against_an_old_version_conflicts(client: TestClient, keys: Keys) -> None:
    await configure(client, keys)
    _, original = await submit(client, keys, "Version one")
    await client.put(f"/v1/comments/{original['id']}", json={"text": "Version two"}, headers=auth(keys.submitter))
    resp = await client.put(
        f"/v1/comments/{original['id']}", json={"text": "Version three", "version": 1}, headers=auth(keys.submitter)
    )
    assert_problem(resp.status, resp.content_type, await resp.json(), 409, "version_conflict")


async def test_editing_a_text_does_not_count_as_repeating_it(client: TestClient, keys: Keys) -> None:
    await configure(client, keys, repeat_action="reject")
    _, original = await submit(client, keys, "Same words")
    resp = await client.put(
        f"/v1/comments/{original['id']}", json={"text": "Same words!"}, headers=auth(keys.submitter)
    )
    assert (await resp.json())["status"] == "approved"


# -- privacy --------------------------------------------------------------------------------


async def test_erasing_an_author_removes_texts_and_keeps_counts(
    client: TestClient, keys: Keys, conn: asyncpg.Connection
) -> None:
    await configure(client, keys)
    _, one = await submit(client, keys, "My words, my data", author_ip="203.0.113.7", user_agent="Firefox")
    await client.put(f"/v1/comments/{one['id']}", json={"text": "My edited words"}, headers=auth(keys.submitter))
    _, other = await submit(client, keys, "Someone else's words", author_id="reader-2")
    await report(client, keys, other["id"], reason="spam", reporter_id="reader-1")

    resp = await client.delete("/v1/authors/reader-1", headers=auth(keys.moderator))
    assert resp.status == 403  # erasure is for administrators
    resp = await client.delete("/v1/authors/reader-1", headers=auth(keys.admin))
    assert resp.status == 200 and (await resp.json())["erased_comments"] == 1

    row = await conn.fetchrow("SELECT * FROM comments WHERE id = $1", one["id"])
    assert row["text"] == "" and row["author_ip"] is None and row["user_agent"] is None
    assert row["author_id"].startswith("erased-") and row["text_erased_at"] is not None
    assert await conn.fetchval("SELECT count(*) FROM comment_revisions") == 0
    assert await conn.fetchval("SELECT count(*) FROM comments WHERE author_id = 'reader-1'") == 0
    assert await conn.fetchval("SELECT count(*) FROM comment_reports WHERE reporter_id = 'reader-1'") == 0
    assert await conn.fetchval("SELECT approved_count FROM authors WHERE id = $1", row["author_id"]) == 1
    resp = await client.get("/v1/authors/reader-1", headers=auth(keys.moderator))
    assert resp.status == 404
    # The other author's comment is untouched.
    assert await conn.fetchval("SELECT text FROM comments WHERE id = $1", other["id"]) == "Someone else's words"
    resp = await client.delete("/v1/authors/reader-1", headers=auth(keys.admin))
    assert resp.status == 404


async def test_retention_purges_old_rejected_texts_only(
    client: TestClient, keys: Keys, conn: asyncpg.Connection
) -> None:
    from service.appkeys import POOL
    from service.authors import purge_expired_texts

    await configure(client, keys, retention_days=30)
    await words(client, keys, "banned", ["turnip"])
    _, old_rejected = await submit(client, keys, "turnip one")
    _, new_rejected = await submit(client, keys, "turnip two", author_id="r2")
    _, old_approved = await submit(client, keys, CIVIL.replace("useful", "handy"), author_id="r3")
    await conn.execute(
        "UPDATE comments SET created_at = now() - interval '31 days' WHERE id = ANY($1::uuid[])",
        [old_rejected["id"], old_approved["id"]],
    )
    assert await purge_expired_texts(client.app[POOL]) == 1
    texts = dict(await conn.fetch("SELECT id::text, text FROM comments"))
    assert texts[old_rejected["id"]] == ""
    assert texts[new_rejected["id"]] == "turnip two" and texts[old_approved["id"]] != ""
    assert await purge_expired_texts(client.app[POOL]) == 0
