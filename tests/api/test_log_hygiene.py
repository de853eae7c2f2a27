"""At INFO, nothing a reader or a key holder sent ends up in the logs: no API key, no comment
text, no author IP or user agent, across a whole request cycle including errors and an outage."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from service.app import create_app
from service.settings import Settings
from tests.helpers import Keys, auth

SECRET_TEXT = "Zyxwvut the quokka pamphleteer insults everyone 8731"
AUTHOR_IP = "203.0.113.77"
USER_AGENT = "Mozilla/5.0 (SecretAgent 4.2; quokka)"
REASON = "moderator note qwertyuiop"


async def test_a_full_request_cycle_leaves_no_secrets_in_info_logs(
    settings: Settings,
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    keys: Keys,
    db_dsn: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    client = await aiohttp_client(create_app(settings.model_copy(update={"db_statement_timeout_s": 0.3})))
    sub, mod, admin = auth(keys.submitter), auth(keys.moderator), auth(keys.admin)
    body = {
        "article_id": "art",
        "author_id": "reader-1",
        "text": SECRET_TEXT,
        "author_ip": AUTHOR_IP,
        "user_agent": USER_AGENT,
    }

    assert (await client.put("/v1/articles/art", json={"mode": "premod"}, headers=admin)).status == 200
    created = await client.post("/v1/comments", json=body, headers=sub)
    assert created.status == 201
    cid = (await created.json())["id"]
    assert (await client.get(f"/v1/comments/{cid}", headers=sub)).status == 200
    assert (await client.post("/v1/score", json={"text": SECRET_TEXT}, headers=sub)).status == 200
    assert (await client.post("/v1/review/claim", json={"limit": 5}, headers=mod)).status == 200
    decision = {"decision": "reject", "reason": REASON}
    assert (await client.post(f"/v1/review/{cid}/decision", json=decision, headers=mod)).status == 200
    # Errors: a bad field carrying the text, malformed JSON around it, a bad key, a wrong role.
    assert (await client.post("/v1/comments", json={**body, "author_id": 5}, headers=sub)).status == 422
    raw = ("{" + SECRET_TEXT).encode()
    headers = {**sub, "Content-Type": "application/json"}
    assert (await client.post("/v1/comments", data=raw, headers=headers)).status == 400
    assert (await client.post("/v1/comments", json=body, headers=auth(keys.submitter + "x"))).status == 401
    assert (await client.post("/v1/comments", json=body, headers=mod)).status == 403
    # A database timeout on the way (warning-level logs must not leak either).
    blocker = await asyncpg.connect(db_dsn)
    try:
        async with blocker.transaction():
            await blocker.execute("LOCK TABLE comments IN ACCESS EXCLUSIVE MODE")
            resp = await client.post("/v1/comments", json={**body, "external_id": "e-1"}, headers=sub)
            assert resp.status == 504
    finally:
        await blocker.close()

    logged = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    assert len(caplog.records) >= 5, "the cycle was logged at all (else this test proves nothing)"
    for secret in (keys.submitter, keys.moderator, keys.admin, keys.submitter[10:], SECRET_TEXT, "quokka",
                   AUTHOR_IP, USER_AGENT, REASON):  # fmt: skip
        assert secret not in logged, secret
