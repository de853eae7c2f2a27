"""The newsroom policy through the real app and database: settings, word lists, links, repeats,
flooding, language, and the pre-submit nudge."""

from __future__ import annotations

import asyncpg
from aiohttp.test_utils import TestClient

from tests.api.policy_helpers import LENIENT, claim, codes, configure, decide, submit, words
from tests.helpers import CIVIL, Keys, assert_problem, auth

GERMAN = "Vielen Dank für diesen ausgezeichneten Artikel, er war sehr hilfreich und gut geschrieben."


async def test_site_settings_round_trip_without_showing_the_secret(client: TestClient, keys: Keys) -> None:
    resp = await client.get("/v1/sites/default/settings", headers=auth(keys.admin))
    defaults = await resp.json()
    assert resp.status == 200 and defaults["default_mode"] == "postmod" and defaults["max_links"] == 3
    body = await configure(
        client, keys, webhook_url="http://127.0.0.1:9/hook", webhook_secret="s" * 32, blocked_domains=["Spam.Example"]
    )
    assert body["webhook_secret_set"] is True and "webhook_secret" not in body
    assert body["blocked_domains"] == ["spam.example"] and body["version"] > defaults["version"]
    # An omitted secret keeps the current one.
    again = await configure(client, keys, webhook_url="http://127.0.0.1:9/hook")
    assert again["webhook_secret_set"] is True


async def test_site_settings_are_validated_and_admin_only(client: TestClient, keys: Keys) -> None:
    resp = await client.put(
        "/v1/sites/default/settings",
        json={"thresholds": {"toxicity": {"review": 0.9, "reject": 0.5}}},
        headers=auth(keys.admin),
    )
    assert_problem(resp.status, resp.content_type, await resp.json(), 422, "validation_error")
    resp = await client.put("/v1/sites/default/settings", json={"max_links": -1}, headers=auth(keys.admin))
    assert resp.status == 422
    resp = await client.get("/v1/sites/default/settings", headers=auth(keys.moderator))
    assert_problem(resp.status, resp.content_type, await resp.json(), 403, "forbidden")


async def test_banned_and_suspect_words_with_disguises(client: TestClient, keys: Keys) -> None:
    await configure(client, keys)
    await words(client, keys, "banned", ["shit", "kill yourself"])
    await words(client, keys, "suspect", ["idiot"])

    status, body = await submit(client, keys, "What a load of $h1t, honestly.")
    assert status == 201 and body["status"] == "rejected"
    (reason,) = body["reasons"]
    assert (reason["code"], reason["detail"], reason["public_message"]) == (
        "banned_word",
        "shit",
        "contains a banned word",
    )
    assert {"start": 15, "end": 19, "label": "banned_word", "weight": 1.0} in body["spans"]

    status, body = await submit(client, keys, "You are an id10t, sir.")
    assert body["status"] == "pending" and codes(body)[0] == "suspect_word"

    status, body = await submit(client, keys, "The Scunthorpe assessment is out.")
    assert body["status"] == "approved"


async def test_a_changed_word_list_applies_to_the_next_comment(client: TestClient, keys: Keys) -> None:
    await configure(client, keys)
    await words(client, keys, "banned", ["turnip"])
    assert (await submit(client, keys, "A t.u.r.n.i.p of a plan."))[1]["status"] == "rejected"
    resp = await client.patch(
        "/v1/sites/default/word-lists/banned", json={"remove": ["turnip"], "add": ["parsnip"]}, headers=auth(keys.admin)
    )
    assert (await resp.json())["terms"] == ["parsnip"]
    assert (await submit(client, keys, "A turnip of a plan.", author_id="r2"))[1]["status"] == "approved"
    assert (await submit(client, keys, "A PARSNIP of a plan.", author_id="r3"))[1]["status"] == "rejected"


async def test_word_lists_are_per_site(client: TestClient, keys: Keys, conn: asyncpg.Connection) -> None:
    from service.domain.types import Role
    from service.keys import create_key

    other = (await create_key(conn, name="other-site", role=Role.SUBMITTER, site_id="other")).secret
    await configure(client, keys)
    await configure(client, keys, site="other")
    await words(client, keys, "banned", ["turnip"])
    resp = await client.post(
        "/v1/comments", json={"article_id": "a", "author_id": "u", "text": "turnip"}, headers=auth(other)
    )
    assert (await resp.json())["status"] == "approved"


async def test_links_blocked_domains_and_link_limits(client: TestClient, keys: Keys) -> None:
    await configure(client, keys, blocked_domains=["pills.example"], max_links=2, link_min_approved=0)
    status, body = await submit(client, keys, "Cheap at https://shop.pills.example/buy now")
    assert body["status"] == "rejected" and codes(body) == ["blocked_domain"]
    assert body["reasons"][0]["detail"] == "pills.example"
    three = "Sources: https://a.example.com https://b.example.org and www.c.example.net"
    status, body = await submit(client, keys, three, author_id="r2")
    assert body["status"] == "pending" and codes(body) == ["too_many_links"]


async def test_allowed_domains_hold_other_links(client: TestClient, keys: Keys) -> None:
    await configure(client, keys, allowed_domains=["newsroom.example"])
    # an author's first comment: a link to an allowed domain is not held, one elsewhere is held twice
    assert (await submit(client, keys, "More at https://newsroom.example/story"))[1]["status"] == "approved"
    status, body = await submit(client, keys, "More at https://elsewhere.example/story", author_id="r2")
    assert body["status"] == "pending" and codes(body) == ["link_not_allowed", "new_author_link"]


async def test_a_link_from_a_new_author_waits_for_a_moderator(client: TestClient, keys: Keys) -> None:
    """By default (link_min_approved 1) a link from an author with no approved comment is held;
    once a moderator approves one of the author's comments, their links are scored like any text."""
    assert (await configure(client, keys))["link_min_approved"] == 1
    linked = "The treaty text is at https://www.un.org/disarmament/ for anyone curious."
    _, first = await submit(client, keys, linked)
    assert first["status"] == "pending" and codes(first) == ["new_author_link"]
    assert first["reasons"][0]["detail"] == "un.org"
    assert first["reasons"][0]["public_message"] == "held for review: contains a link"
    assert (await submit(client, keys, "No link this time, just a thought."))[1]["status"] == "approved"
    await claim(client, keys.moderator)
    await decide(client, keys.moderator, first["id"], "approve")
    _, later = await submit(client, keys, linked.replace("curious", "interested"))
    assert later["status"] == "approved", later
    await configure(client, keys, link_min_approved=0)
    assert (await submit(client, keys, linked, author_id="r9"))[1]["status"] == "approved"


async def test_the_same_text_from_the_same_author_is_a_repeat(client: TestClient, keys: Keys) -> None:
    await configure(client, keys, repeat_action="reject")
    assert (await submit(client, keys, "Buy my book, it is great"))[1]["status"] == "approved"
    status, body = await submit(client, keys, "BUY my b00k,  it is great!!", article_id="a2")
    assert body["status"] == "rejected" and codes(body) == ["repeated_comment"]
    assert body["reasons"][0]["public_message"] == "looks like a repeated comment"
    # Another author may say the same thing.
    assert (await submit(client, keys, "Buy my book, it is great", author_id="r2"))[1]["status"] == "approved"


async def test_flooding_is_refused_with_retry_after_and_nothing_stored(
    client: TestClient, keys: Keys, conn: asyncpg.Connection
) -> None:
    await configure(client, keys, flood_max_per_minute=2)
    for i in range(2):
        assert (await submit(client, keys, f"{CIVIL} {i}"))[0] == 201
    resp = await client.post(
        "/v1/comments",
        json={"article_id": "a1", "author_id": "reader-1", "text": "third"},
        headers=auth(keys.submitter),
    )
    assert_problem(resp.status, resp.content_type, await resp.json(), 429, "rate_limited")
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    assert await conn.fetchval("SELECT count(*) FROM comments") == 2
    # Another author is not affected.
    assert (await submit(client, keys, "hello there", author_id="r2"))[0] == 201


async def test_flooding_can_hold_for_review_instead(client: TestClient, keys: Keys) -> None:
    await configure(client, keys, flood_max_per_minute=1, flood_action="review")
    assert (await submit(client, keys, "first one"))[1]["status"] == "approved"
    status, body = await submit(client, keys, "second one")
    assert status == 201 and body["status"] == "pending" and codes(body) == ["flooding"]


async def test_unsupported_language_is_held_without_scores(client: TestClient, keys: Keys) -> None:
    await configure(client, keys)
    status, body = await submit(client, keys, GERMAN)
    assert body["status"] == "pending" and codes(body) == ["unsupported_language"]
    assert body["scores"] == {} and body["language"] == "de"
    assert body["reasons"][0]["detail"] == "de"
    # A few words are too short to tell: judged like any other comment.
    status, body = await submit(client, keys, "Danke schön!", author_id="r2")
    assert body["status"] == "approved" and body["language"] is None


async def test_default_mode_of_a_site_applies_to_articles_without_their_own(client: TestClient, keys: Keys) -> None:
    await configure(client, keys, default_mode="premod")
    assert (await submit(client, keys))[1]["status"] == "pending"
    resp = await client.put("/v1/articles/a-open", json={"mode": "postmod"}, headers=auth(keys.admin))
    assert resp.status == 200
    status, body = await submit(client, keys, "Open article here", article_id="a-open", author_id="r2")
    assert body["status"] == "approved"


async def test_score_with_a_site_is_a_pre_submit_nudge(
    client: TestClient, keys: Keys, conn: asyncpg.Connection
) -> None:
    await configure(client, keys)
    await words(client, keys, "banned", ["shit"])
    resp = await client.post(
        "/v1/score", json={"text": "sh1t article", "site_id": "default"}, headers=auth(keys.submitter)
    )
    body = await resp.json()
    assert resp.status == 200 and body["status"] == "rejected"
    assert [(r["code"], r["public_message"]) for r in body["reasons"]] == [("banned_word", "contains a banned word")]
    assert await conn.fetchval("SELECT count(*) FROM comments") == 0


async def test_an_article_can_override_its_sites_settings(client: TestClient, keys: Keys) -> None:
    await configure(client, keys, max_links=5, link_min_approved=0)
    resp = await client.put("/v1/articles/a-strict/settings", json={"max_links": 0}, headers=auth(keys.admin))
    assert resp.status == 200 and (await resp.json())["overrides"] == {"max_links": 0}
    linked = "Read https://example.com/story first"
    assert (await submit(client, keys, linked))[1]["status"] == "approved"
    status, body = await submit(client, keys, linked, article_id="a-strict", author_id="r2")
    assert body["status"] == "pending" and codes(body) == ["too_many_links"]
    resp = await client.get("/v1/articles/a-strict/settings", headers=auth(keys.admin))
    assert (await resp.json())["overrides"] == {"max_links": 0}
    resp = await client.put("/v1/articles/a-strict/settings", json={"max_links": 0}, headers=auth(keys.moderator))
    assert resp.status == 403


async def test_a_ten_thousand_term_list_uploaded_in_chunks(client: TestClient, keys: Keys) -> None:
    await configure(client, keys)
    terms = [f"zq{i:05d}x" for i in range(10_000)]
    for start in range(0, len(terms), 2_500):  # each PATCH stays under the 64 KiB body limit
        resp = await client.patch(
            "/v1/sites/default/word-lists/banned",
            json={"add": terms[start : start + 2_500]},
            headers=auth(keys.admin),
        )
        assert resp.status == 200, await resp.text()
    assert (await resp.json())["count"] == 10_000
    status, body = await submit(client, keys, "This mentions z q 0 4 2 4 2 x in passing")
    assert status == 201 and body["status"] == "approved"  # "0 4 2 4 2" is digits, not leetspeak
    status, body = await submit(client, keys, "This mentions ZQ04242X in passing", author_id="r2")
    assert body["status"] == "rejected" and body["reasons"][0]["detail"] == "zq04242x"


async def test_no_link_limit_and_a_webhook_needs_a_secret(client: TestClient, keys: Keys) -> None:
    body = await configure(client, keys, max_links=None)
    assert body["max_links"] is None
    many = " ".join(f"https://site{i}.example.com/" for i in range(20))
    _, linked = await submit(client, keys, f"Sources: {many}")
    assert "too_many_links" not in codes(linked), linked["reasons"]
    resp = await client.put(
        "/v1/sites/fresh/settings", json={"webhook_url": "https://example.com/hook"}, headers=auth(keys.admin)
    )
    body = await resp.json()
    assert_problem(resp.status, resp.content_type, body, 422, "invalid_reference")
    assert body["errors"][0]["field"] == "webhook_secret"


async def test_the_classifiers_spam_label_has_its_own_reason(client: TestClient, keys: Keys) -> None:
    # A site that treats any spam score as spam: the rule's wiring, whatever the model says.
    await configure(client, keys, thresholds={**LENIENT, "spam": {"review": 0.0, "reject": 0.0}})
    _, body = await submit(client, keys, "Buy cheap watches, visit my shop")
    assert body["status"] == "rejected" and codes(body) == ["spam_detected"]
    assert body["reasons"][0]["label"] == "spam" and body["reasons"][0]["public_message"] == "looks like spam"


async def test_a_comment_that_names_a_group_goes_to_a_moderator_unless_the_site_says_otherwise(
    client: TestClient, keys: Keys
) -> None:
    # The bundled model scores this plain statement an identity attack (about 0.47); a cut-off of
    # 0.3 makes the test independent of the model's own (0.37 for the default).
    strict = {**LENIENT, "identity_attack": {"review": 0.2, "reject": 0.3}}
    await configure(client, keys, thresholds=strict)
    status, body = await submit(client, keys, "Muslims in India deserve equal rights.")
    assert status == 201 and body["status"] == "pending"
    (reason,) = [r for r in body["reasons"] if r["label"] == "identity_attack"]
    assert reason["code"] == "names_group_held" and reason["public_message"] == "held for review by a moderator"
    assert reason["score"] >= reason["threshold"] == 0.3
    settings = await configure(client, keys, thresholds=strict, auto_reject_group_mentions=True)
    assert settings["auto_reject_group_mentions"] is True
    status, body = await submit(client, keys, "Hindus in India deserve equal rights.")
    assert status == 201 and body["status"] == "rejected" and "score_above_reject" in codes(body)
    # an article can hold them again on a site that rejects them
    resp = await client.put(
        "/v1/articles/a-held/settings", json={"auto_reject_group_mentions": False}, headers=auth(keys.admin)
    )
    assert resp.status == 200, await resp.text()
    status, body = await submit(client, keys, "Sikhs in India deserve equal rights.", article_id="a-held")
    assert status == 201 and body["status"] == "pending" and "names_group_held" in codes(body)
