"""Helpers shared by the API and end-to-end tests."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CIVIL = "Thank you for this thoughtful piece on Turkey and Pakistan; the historical context was really useful."
ABUSIVE = "You are a worthless idiot and a piece of shit, shut up you stupid moron."
# Markup, a script URL and bidi controls: the moderator page must show all of it as inert text.
HOSTILE = (
    'Nice article <script>window.__pwned = "script"</script> <img src=x onerror="window.__pwned = \'img\'"> '
    "see javascript:window.__pwned='link' and \u202egnp.exe\u202c and \u2066hidden\u2069 \u200fend"
)

PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}


@dataclass(frozen=True)
class Keys:
    submitter: str
    moderator: str
    moderator_b: str
    admin: str
    trainer: str


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_problem(status: int, content_type: str, body: dict[str, Any], expected_status: int, code: str) -> None:
    """The one error shape: RFC 9457 problem details with our stable code."""
    assert status == expected_status, body
    assert content_type == "application/problem+json"
    assert PROBLEM_FIELDS <= set(body), body
    assert body["status"] == expected_status and body["code"] == code, body
    assert body["type"] == f"/problems/{code}"


async def insert_pending(
    conn: Any,
    *,
    text: str = CIVIL,
    article_id: str = "a-premod",
    author_id: str = "reader",
    site_id: str = "default",
    scores: dict[str, float] | None = None,
    reasons: list[dict[str, Any]] | None = None,
    spans: list[dict[str, Any]] | None = None,
    parent_id: Any = None,
) -> Any:
    """A pending comment stored as the service stores one (one statement: site, article and author
    created on first use, the comment, its 'created' history entry), with chosen scores and spans
    (no model needed)."""
    from service.db import store
    from service.domain.types import Status

    reasons = reasons if reasons is not None else [{"code": "article_premoderated", "message": "premod"}]
    comment = await store.insert_comment(
        conn,
        store.NewComment(
            site_id=site_id,
            external_id=None,
            article_id=article_id,
            author_id=author_id,
            parent_id=parent_id,
            text=text,
            status=Status.PENDING,
            scores=scores or {"toxicity": 0.05, "insult": 0.03},
            reasons=reasons,
            spans=spans or [],
            model_version="test",
            author_ip=None,
            user_agent=None,
        ),
        created_by="model:test",
    )
    assert comment is not None
    return comment


@contextlib.contextmanager
def server_dir(prefix: str) -> Iterator[Path]:
    """A fresh directory the embedded PostgreSQL can live in, removed afterwards.

    As root the server runs as an unprivileged account that cannot enter pytest's
    /tmp/pytest-of-root (mode 700), so the directory sits directly under /tmp and is
    made traversable (not readable) by others.
    """
    base = Path(tempfile.mkdtemp(prefix=f"moderation-{prefix}-", dir="/tmp"))
    base.chmod(0o711)
    try:
        yield base / "data"
    finally:
        shutil.rmtree(base, ignore_errors=True)
