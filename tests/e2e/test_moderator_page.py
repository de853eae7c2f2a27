"""The moderator's page in real headless Chromium, against the real app on a real port and database.

Needs Debian's ``chromium`` (``./dev test`` installs it when it can) and the ``playwright`` package,
which drives that executable; without either the tests skip and say why. Screenshots land in
``test-artifacts/moderator-page/``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import asyncpg
import pytest

from service.workbench import record_queue_snapshot
from tests.e2e.conftest import ARTIFACTS
from tests.helpers import HOSTILE, auth, insert_pending

playwright_api = pytest.importorskip("playwright.async_api", reason="the playwright package is not installed")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Keyboard actions must be visible before the next key; Playwright's expect() waits for that.
WAIT_MS = 10_000


def find_chromium() -> str | None:
    for candidate in (os.environ.get("MODERATION_TEST_CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and (path := shutil.which(candidate)):
            return path
    return None


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    executable = find_chromium()
    if executable is None:
        pytest.skip("no Chromium found (apt-get install chromium, or run ./dev test as root)")
    async with playwright_api.async_playwright() as p:
        launched = await p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


def shot(name: str) -> str:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return str(ARTIFACTS / f"{name}.png")


async def open_page(browser: Any, base_url: str, key: str) -> Any:
    """A fresh browser session signed in with ``key``; page errors and CSP violations fail the test."""
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("dialog", lambda d: problems.append(f"a script opened a dialog: {d.message}"))
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    await page.add_init_script(
        "window.__csp = []; document.addEventListener('securitypolicyviolation',"
        " (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    page.problems = problems
    await page.goto(f"{base_url}/moderate")
    await page.fill("#signin-key", key)
    await page.press("#signin-key", "Enter")
    await page.wait_for_selector("#app:not([hidden])", timeout=WAIT_MS)
    return page


async def assert_clean(page: Any) -> None:
    assert await page.evaluate("window.__csp") == []
    assert await page.evaluate("window.__pwned") is None
    assert page.problems == []


async def api_get(base_url: str, key: str, path: str) -> dict[str, Any]:
    async with aiohttp.ClientSession(base_url) as http, http.get(path, headers=auth(key)) as resp:
        assert resp.status == 200, await resp.text()
        return dict(await resp.json())


async def card_id(page: Any) -> str:
    return str(await page.get_attribute("#detail .card", "data-id"))


async def test_sign_in_see_highlights_and_approve_with_the_keyboard(
    browser: Any, base_url: str, mod_keys: dict[str, str], conn: asyncpg.Connection
) -> None:
    text = "You are a stupid idiot and everyone knows it."
    comment = await insert_pending(
        conn,
        text=text,
        author_id="sam",
        scores={"insult": 0.91, "toxicity": 0.74},
        reasons=[{"code": "score_above_review", "message": "possibly an insult", "label": "insult", "score": 0.91}],
        spans=[
            {"start": 10, "end": 16, "label": "insult", "weight": 0.8},
            {"start": 17, "end": 22, "label": "insult", "weight": 0.9},
        ],
    )
    page = await open_page(browser, base_url, mod_keys["alice"])
    expect = playwright_api.expect
    await expect(page.locator("#detail .card .comment-text").first).to_have_text(text, timeout=WAIT_MS)
    assert await page.locator("#detail .card .comment-text mark.hl").all_text_contents() == ["stupid", "idiot"]
    await expect(page.locator("#count-pending")).to_have_text("1", timeout=WAIT_MS)
    await expect(page.locator(".author")).to_contain_text("sam", timeout=WAIT_MS)
    await page.screenshot(path=shot("01-pending-with-highlights"))

    await page.keyboard.press("a")
    await expect(page.locator(f'#list li[data-id="{comment.id}"]')).to_have_count(0, timeout=WAIT_MS)
    await expect(page.locator("#toast")).to_contain_text("Approved", timeout=WAIT_MS)
    await expect(page.locator("#detail")).to_contain_text("Nothing waiting", timeout=WAIT_MS)
    await page.screenshot(path=shot("02-approved-queue-empty"))
    detail = await api_get(base_url, mod_keys["alice"], f"/v1/comments/{comment.id}")
    assert detail["status"] == "approved" and detail["history"][-1]["actor_name"] == "alice"
    await assert_clean(page)


async def test_reject_with_a_reason_then_undo(
    browser: Any, base_url: str, mod_keys: dict[str, str], conn: asyncpg.Connection
) -> None:
    first = await insert_pending(conn, text="Buy cheap watches at my shop, best prices!!!", author_id="spammer")
    second = await insert_pending(conn, text="A thoughtful reply about the budget.", author_id="ana")
    page = await open_page(browser, base_url, mod_keys["alice"])
    expect = playwright_api.expect
    await expect(page.locator("#list li")).to_have_count(2, timeout=WAIT_MS)
    assert await card_id(page) == str(first.id)

    await page.keyboard.press("r")
    await expect(page.locator("#reject-dialog")).to_be_visible(timeout=WAIT_MS)
    await page.screenshot(path=shot("03-reject-reason-picker"))
    await page.keyboard.press("4")  # "Spam or advertising"
    await expect(page.locator(f'#list li[data-id="{first.id}"]')).to_have_count(0, timeout=WAIT_MS)
    await expect(page.locator("#toast")).to_contain_text("Rejected: Spam or advertising", timeout=WAIT_MS)
    await expect(page.locator("#detail .card")).to_have_attribute("data-id", str(second.id), timeout=WAIT_MS)
    detail = await api_get(base_url, mod_keys["alice"], f"/v1/comments/{first.id}")
    assert detail["status"] == "rejected"
    assert detail["history"][-1]["reasons"][0]["message"] == "Spam or advertising"

    await page.keyboard.press("u")
    await expect(page.locator(f'#list li[data-id="{first.id}"]')).to_have_count(1, timeout=WAIT_MS)
    await expect(page.locator("#toast")).to_contain_text("Undone", timeout=WAIT_MS)
    await expect(page.locator("#detail .card")).to_have_attribute("data-id", str(first.id), timeout=WAIT_MS)
    await page.screenshot(path=shot("04-undone-back-in-list"))
    detail = await api_get(base_url, mod_keys["alice"], f"/v1/comments/{first.id}")
    assert detail["status"] == "pending" and detail["history"][-1]["action"] == "undone"

    # j/k move; the undone comment can be decided again.
    await page.keyboard.press("j")
    await expect(page.locator("#detail .card")).to_have_attribute("data-id", str(second.id), timeout=WAIT_MS)
    await page.keyboard.press("k")
    await page.keyboard.press("a")
    await expect(page.locator(f'#list li[data-id="{first.id}"]')).to_have_count(0, timeout=WAIT_MS)
    await assert_clean(page)


async def test_bulk_approve_of_fifty_matching_a_filter(
    browser: Any, base_url: str, mod_keys: dict[str, str], conn: asyncpg.Connection
) -> None:
    for i in range(50):
        await insert_pending(conn, text=f"Backlog comment number {i}.", article_id="backlog", author_id=f"r{i}")
    other = await insert_pending(conn, text="On another article.", article_id="elsewhere")
    page = await open_page(browser, base_url, mod_keys["alice"])
    expect = playwright_api.expect
    await page.fill("#filter-article", "backlog")
    await expect(page.locator("#queue-summary")).to_contain_text("50 pending", timeout=WAIT_MS)
    await page.click("#select-matching")
    dialog = page.locator("#confirm-dialog")
    await expect(dialog).to_contain_text("Decide all 50 matching comments?", timeout=WAIT_MS)
    await page.screenshot(path=shot("05-bulk-confirm-50"))
    await dialog.get_by_role("button", name="Approve 50").click()
    await expect(page.locator("#toast")).to_contain_text("Approved 50 comments", timeout=WAIT_MS)
    await expect(page.locator("#queue-summary")).to_contain_text("0 pending", timeout=WAIT_MS)
    await page.screenshot(path=shot("06-bulk-done"))
    counts = dict(await conn.fetch("SELECT status, count(*) FROM comments GROUP BY status"))
    assert counts == {"approved": 50, "pending": 1}
    assert (await api_get(base_url, mod_keys["alice"], f"/v1/comments/{other.id}"))["status"] == "pending"
    await assert_clean(page)


async def test_select_several_and_reject_them_at_once(
    browser: Any, base_url: str, mod_keys: dict[str, str], conn: asyncpg.Connection
) -> None:
    ids = [(await insert_pending(conn, text=f"Spam offer {i}", author_id=f"s{i}")).id for i in range(3)]
    keep = await insert_pending(conn, text="A real comment.", author_id="keep")
    page = await open_page(browser, base_url, mod_keys["alice"])
    expect = playwright_api.expect
    await expect(page.locator("#list li")).to_have_count(4, timeout=WAIT_MS)
    for _ in ids:
        await page.keyboard.press("x")  # select and move on
    await expect(page.locator("#bulk-count")).to_have_text("3 selected", timeout=WAIT_MS)
    await page.keyboard.press("r")
    await page.keyboard.press("4")
    dialog = page.locator("#confirm-dialog")
    await expect(dialog).to_contain_text("Reject 3 comments?", timeout=WAIT_MS)
    await dialog.get_by_role("button", name="Reject 3").click()
    await expect(page.locator("#list li")).to_have_count(1, timeout=WAIT_MS)
    statuses = dict(await conn.fetch("SELECT id, status FROM comments"))
    assert [statuses[i] for i in ids] == ["rejected"] * 3 and statuses[keep.id] == "pending"
    await assert_clean(page)


async def test_hostile_comment_renders_as_inert_text(
    browser: Any, base_url: str, mod_keys: dict[str, str], conn: asyncpg.Connection
) -> None:
    await conn.execute(
        "INSERT INTO sites (id) VALUES ('default') ON CONFLICT DO NOTHING;"
        "INSERT INTO articles (site_id, id, title, url) VALUES ('default', 'a-premod', '<b>Bold</b> title',"
        " 'javascript:window.__pwned=1')"
    )
    hostile = await insert_pending(conn, text=HOSTILE, author_id='<img src=x onerror="window.__pwned=1">')
    page = await open_page(browser, base_url, mod_keys["alice"])
    expect = playwright_api.expect
    body = page.locator("#detail .card > .comment-text")
    await expect(body).to_contain_text("<script>", timeout=WAIT_MS)
    await expect(page.locator(".article-link")).to_have_text("<b>Bold</b> title", timeout=WAIT_MS)
    await page.screenshot(path=shot("07-hostile-comment-inert"))
    # The text is all there as text, with each bidi control shown as a marker and not applied.
    visible = await body.text_content()
    assert "<img src=x onerror=" in visible and "javascript:window.__pwned='link'" in visible
    assert await body.locator(".ctl").all_text_contents() == ["RLO", "PDF", "LRI", "PDI", "RLM"]
    for ch in "\u202e\u202c\u2066\u2069\u200f":
        assert ch not in visible
    # Nothing became markup: no element but the page's own highlight/marker spans.
    assert await page.locator("#detail script, #detail img, #detail iframe, #detail b").count() == 0
    assert await body.locator("a").count() == 0
    assert await page.locator(".card-article a").count() == 0  # a javascript: URL is never a link
    assert await body.evaluate("(n) => getComputedStyle(n).unicodeBidi") == "isolate"
    detail = await api_get(base_url, mod_keys["alice"], f"/v1/comments/{hostile.id}")
    assert detail["text"] == HOSTILE
    await assert_clean(page)


async def test_two_sessions_never_show_the_same_comment_and_new_ones_arrive_live(
    browser: Any, base_url: str, mod_keys: dict[str, str], conn: asyncpg.Connection
) -> None:
    for i in range(25):
        await insert_pending(conn, text=f"Comment {i}", author_id=f"r{i}")
    alice = await open_page(browser, base_url, mod_keys["alice"])
    expect = playwright_api.expect
    await expect(alice.locator("#list li")).to_have_count(20, timeout=WAIT_MS)
    bob = await open_page(browser, base_url, mod_keys["bob"])
    await expect(bob.locator("#list li")).to_have_count(5, timeout=WAIT_MS)
    alice_ids = set(await alice.eval_on_selector_all("#list li", "(els) => els.map((e) => e.dataset.id)"))
    bob_ids = set(await bob.eval_on_selector_all("#list li", "(els) => els.map((e) => e.dataset.id)"))
    assert not alice_ids & bob_ids and len(alice_ids | bob_ids) == 25
    await bob.screenshot(path=shot("08-second-session"))

    # A new comment reaches the session with room for it, without a reload (LISTEN/NOTIFY -> SSE).
    await expect(bob.locator("#live")).to_have_attribute("data-state", "on", timeout=WAIT_MS)
    fresh = await insert_pending(conn, text="Brand new comment", author_id="newcomer")
    await expect(bob.locator(f'#list li[data-id="{fresh.id}"]')).to_have_count(1, timeout=WAIT_MS)
    await expect(bob.locator("#count-pending")).to_have_text("26", timeout=WAIT_MS)
    assert await alice.locator(f'#list li[data-id="{fresh.id}"]').count() == 0

    # Signing out gives alice's comments back at once, and bob's page, told live, takes them up.
    await alice.click("#signout")
    await expect(alice.locator("#signin")).to_be_visible(timeout=WAIT_MS)
    await expect(bob.locator("#list li")).to_have_count(20, timeout=WAIT_MS)
    bob_ids = set(await bob.eval_on_selector_all("#list li", "(els) => els.map((e) => e.dataset.id)"))
    assert len(bob_ids & alice_ids) == 14
    await assert_clean(alice)
    await assert_clean(bob)


async def test_focus_help_and_dashboard(
    browser: Any, base_url: str, mod_keys: dict[str, str], conn: asyncpg.Connection, db_dsn: str
) -> None:
    flagged = {"code": "score_above_review", "message": "possibly an insult", "label": "insult", "score": 0.8}
    for i in range(4):
        await insert_pending(conn, text=f"Comment {i}", author_id=f"r{i}", reasons=[flagged] if i % 2 else None)
    page = await open_page(browser, base_url, mod_keys["alice"])
    expect = playwright_api.expect
    await expect(page.locator("#list li")).to_have_count(4, timeout=WAIT_MS)
    await page.keyboard.press("z")
    await expect(page.locator("body.focus-mode .card.focus")).to_be_visible(timeout=WAIT_MS)
    await page.screenshot(path=shot("09-focus-one-comment"))
    await page.keyboard.press("z")
    await page.keyboard.press("?")
    await expect(page.locator("#help-dialog")).to_be_visible(timeout=WAIT_MS)
    await page.screenshot(path=shot("10-keyboard-help"))
    await page.keyboard.press("Escape")
    for key in ("a", "a", "r"):
        await page.keyboard.press(key)
    await page.keyboard.press("1")
    await expect(page.locator("#list li")).to_have_count(1, timeout=WAIT_MS)
    pool = await asyncpg.create_pool(db_dsn, min_size=1, max_size=1)
    try:
        await record_queue_snapshot(pool, interval_s=60, keep_days=1)
    finally:
        await pool.close()
    # Two days of earlier samples, as a running service would have taken them, to draw the charts.
    await conn.execute(
        "INSERT INTO queue_snapshots (bucket, site_id, depth, leased, oldest_age_s)"
        " SELECT date_bin('1 hour', now(), TIMESTAMPTZ '2000-01-01') - make_interval(hours => h), 'default',"
        " (30 + 25 * sin(h / 5.0))::int, 0, 900 + 120 * h FROM generate_series(1, 47) AS h"
    )

    await expect(page.locator("#count-pending")).to_have_text("1", timeout=WAIT_MS)
    await page.keyboard.press("g")
    await page.keyboard.press("d")
    dashboard = page.locator("#dashboard")
    await expect(dashboard.locator(".stat").first).to_be_visible(timeout=WAIT_MS)
    await expect(dashboard.locator(".table").first).to_contain_text("alice", timeout=WAIT_MS)
    await expect(dashboard).to_contain_text("model overturned", timeout=WAIT_MS)
    assert await dashboard.locator(".chart-svg path.line").count() == 2
    await page.screenshot(path=shot("11-dashboard"), full_page=True)
    await assert_clean(page)


async def test_ban_the_author_with_b(
    browser: Any, base_url: str, mod_keys: dict[str, str], conn: asyncpg.Connection
) -> None:
    comment = await insert_pending(conn, text="You people are all worthless.", author_id="troll")
    page = await open_page(browser, base_url, mod_keys["alice"])
    expect = playwright_api.expect
    await expect(page.locator("#detail .card")).to_have_attribute("data-id", str(comment.id), timeout=WAIT_MS)
    await expect(page.locator('[data-action="ban"]')).to_be_enabled(timeout=WAIT_MS)
    await page.keyboard.press("b")
    dialog = page.locator("#confirm-dialog")
    await expect(dialog).to_contain_text("Ban this author?", timeout=WAIT_MS)
    await page.screenshot(path=shot("12-ban-confirm"))
    await dialog.get_by_role("button", name="Ban and reject").click()
    await expect(page.locator("#toast")).to_contain_text("Rejected: Author banned", timeout=WAIT_MS)
    assert await conn.fetchval("SELECT standing FROM authors WHERE id = 'troll'") == "banned"
    detail = await api_get(base_url, mod_keys["alice"], f"/v1/comments/{comment.id}")
    assert detail["status"] == "rejected" and detail["history"][-1]["reasons"][0]["message"] == "Author banned"
    author = await api_get(base_url, mod_keys["alice"], "/v1/authors/troll")
    assert author["history"][-1]["actor_name"] == "alice"
    await assert_clean(page)


async def test_reported_tab_shows_reports_and_rejects(
    browser: Any, base_url: str, mod_keys: dict[str, str], conn: asyncpg.Connection
) -> None:
    published = await insert_pending(conn, text="Published, then reported by readers.", author_id="writer")
    await conn.execute("UPDATE comments SET status = 'approved', decided_at = now() WHERE id = $1", published.id)
    async with aiohttp.ClientSession(base_url) as http:
        for reader in ("r1", "r2"):
            async with http.post(
                f"/v1/comments/{published.id}/reports",
                json={"reason": "spam", "reporter_id": reader},
                headers=auth(mod_keys["website"]),
            ) as resp:
                assert resp.status in (200, 201), await resp.text()
    page = await open_page(browser, base_url, mod_keys["alice"])
    expect = playwright_api.expect
    await expect(page.locator("#count-reported")).to_have_text("1", timeout=WAIT_MS)
    await page.keyboard.press("g")
    await page.keyboard.press("r")
    await expect(page.locator("#detail .card")).to_have_attribute("data-id", str(published.id), timeout=WAIT_MS)
    await expect(page.locator("#detail .reports")).to_contain_text("2 readers", timeout=WAIT_MS)
    await page.screenshot(path=shot("13-reported-queue"))
    await page.keyboard.press("r")
    await page.keyboard.press("4")
    await expect(page.locator("#toast")).to_contain_text("Rejected: Spam or advertising", timeout=WAIT_MS)
    detail = await api_get(base_url, mod_keys["alice"], f"/v1/comments/{published.id}")
    assert detail["status"] == "rejected"
    assert await conn.fetchval("SELECT count(*) FROM comment_reports WHERE settled_at IS NULL") == 0
    await expect(page.locator("#count-reported")).to_have_text("0", timeout=WAIT_MS)
    await assert_clean(page)
