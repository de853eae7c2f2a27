"""The label stream: every human decision as a labeled example with its provenance.

The cursor is ``comment_events.id`` — monotonically increasing and never reused — so a consumer
resumes with the last example's ``cursor``. Pages are read with short queries, one pooled
connection at a time, so an export of any size holds neither a connection nor memory for long.
Erased authors' comments and emptied texts are never exported.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from service.db import store
from service.domain.labels import labels_for, overturned
from service.domain.types import Principal

PAGE_ROWS = 500


def example_of(row: store.LabelRow) -> dict[str, Any]:
    """One labeled example (a JSON-ready dict)."""
    reason = row.details.get("reason") if isinstance(row.details, dict) else None
    model_version = row.details.get("model_version", row.comment_model_version)
    model_scores = row.details.get("scores", row.comment_scores)
    return {
        "cursor": str(row.cursor),
        "comment_id": str(row.comment_id),
        "site_id": row.site_id,
        "article_id": row.article_id,
        "text": row.text,
        "outcome": row.to_status,
        "labels": labels_for(row.to_status, reason),
        "provenance": {
            "action": row.action,
            "actor_kind": row.actor_kind,
            "actor_name": row.actor_name,
            "at": row.at.isoformat(),
            "reason": reason,
            "from_status": row.from_status,
            "model_version": model_version,
            "model_scores": model_scores,
            "overturned": overturned(row.from_status, row.to_status),
        },
    }


async def stream_labels(
    pool: asyncpg.Pool,
    site_id: str | None,
    *,
    since: int,
    limit: int | None = None,
    page_rows: int = PAGE_ROWS,
) -> AsyncIterator[store.LabelRow]:
    """Human decisions after event ``since``, oldest first, at most ``limit`` of them."""
    cursor, sent = since, 0
    while limit is None or sent < limit:
        want = page_rows if limit is None else min(page_rows, limit - sent)
        async with pool.acquire() as conn:
            rows = await store.list_training_labels(conn, cursor, want, site_id)
        for row in rows:
            yield row
        sent += len(rows)
        if len(rows) < want:
            return
        cursor = rows[-1].cursor


async def export_examples(
    pool: asyncpg.Pool, principal: Principal, *, since: int, limit: int | None
) -> AsyncIterator[dict[str, Any]]:
    """Labeled examples for the caller (a site-bound key sees its own site only)."""
    async for row in stream_labels(pool, principal.site_id, since=since, limit=limit):
        yield example_of(row)
