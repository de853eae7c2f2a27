"""The SQL in docs/operations.md and docs/scaling.md runs on the real schema and does what it says."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg

from service.db.queries import QUERIES
from service.settings import REPO_ROOT

DOCS = REPO_ROOT / "docs"


def sql_blocks(path: Path) -> list[str]:
    return re.findall(r"^```sql\n(.*?)^```", path.read_text(), re.M | re.S)


SEED = """
INSERT INTO articles (site_id, id) VALUES ('default', 'a');
INSERT INTO authors (site_id, id) VALUES ('default', 'r');
INSERT INTO api_keys (name, role, key_hash, key_prefix) VALUES ('mod', 'moderator', '\\x01', 'cm_x');
-- An old rejected comment with a reply, an old approved one with an IP, recent pending ones.
INSERT INTO comments (id, site_id, article_id, author_id, text, status, author_ip, user_agent,
                      external_id, created_at, decided_at)
VALUES ('00000000-0000-0000-0000-000000000001', 'default', 'a', 'r', 'old, rejected', 'rejected',
        '203.0.113.1', 'UA', 'x-1', now() - interval '200 days', now() - interval '200 days'),
       ('00000000-0000-0000-0000-000000000002', 'default', 'a', 'r', 'old, approved', 'approved',
        '203.0.113.2', 'UA', 'x-2', now() - interval '40 days', now() - interval '40 days'),
       ('00000000-0000-0000-0000-000000000003', 'default', 'a', 'r', 'new, pending', 'pending',
        '203.0.113.3', 'UA', NULL, now() - interval '1 hour', NULL),
       ('00000000-0000-0000-0000-000000000004', 'default', 'a', 'r', 'newer, pending', 'pending',
        NULL, NULL, 'x-4', now(), NULL);
UPDATE comments SET parent_id = '00000000-0000-0000-0000-000000000001'
WHERE id = '00000000-0000-0000-0000-000000000002';
INSERT INTO comment_events (comment_id, actor_kind, actor_name, action, to_status)
SELECT id, 'system', 'model:test', 'created', status FROM comments;
"""


async def test_operations_sql(conn: asyncpg.Connection) -> None:
    await conn.execute(SEED)
    blocks = sql_blocks(DOCS / "operations.md")
    assert len(blocks) >= 3
    for block in blocks:
        await conn.execute(block)
    rows = {r["id"].int: r for r in await conn.fetch("SELECT id, author_ip, user_agent, parent_id FROM comments")}
    assert set(rows) == {2, 3, 4}, "the 200-day-old rejected comment is gone, the rest stays"
    assert rows[2]["author_ip"] is None and rows[2]["user_agent"] is None, "IPs older than 30 days are dropped"
    assert rows[2]["parent_id"] is None, "the reply survives its deleted parent"
    assert rows[3]["author_ip"] is not None, "recent IPs stay for the spam rules"
    assert await conn.fetchval("SELECT count(*) FROM comment_events") == 3


async def test_scaling_partitioning_sketch(conn: asyncpg.Connection) -> None:
    await conn.execute(SEED)
    blocks = sql_blocks(DOCS / "scaling.md")
    assert len(blocks) == 2
    await conn.execute(blocks[0])
    partitioned = "SELECT count(*) FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid"
    assert await conn.fetchval(partitioned + " WHERE c.relname = 'comments'") == 1
    assert await conn.fetchval("SELECT count(*) FROM comments") == 4
    assert await conn.fetchval("SELECT count(*) FROM comment_external_ids") == 3
    older = await conn.fetchval(
        "SELECT count(*) FROM comments WHERE created_at < date_trunc('month', now() - interval '1 month')"
    )
    assert older >= 1  # 200 days back
    assert await conn.fetchval("SELECT count(*) FROM comments_before") == older, "the default partition holds them"

    # The service's queue queries work unchanged on the partitioned table.
    stats = await conn.fetchrow(QUERIES["review_stats"], None, None)
    assert stats["depth"] == 2 and stats["oldest_age_s"] > 3000
    claimed = await conn.fetch(QUERIES["claim_reviews"], 10, None, None, 1, 60.0)
    assert [r["text"] for r in claimed] == ["new, pending", "newer, pending"]
    listed = await conn.fetch(QUERIES["list_review_queue_oldest"], None, None, 10, None, None)
    assert len(listed) == 2

    # Retention by month: last month's partition goes, with its comments and their events.
    before = await conn.fetchval("SELECT count(*) FROM comments")
    in_last_month = await conn.fetchval(
        "SELECT count(*) FROM comments WHERE created_at >= date_trunc('month', now() - interval '1 month')"
        " AND created_at < date_trunc('month', now())"
    )
    events_before = await conn.fetchval("SELECT count(*) FROM comment_events")
    await conn.execute(blocks[1])
    assert await conn.fetchval("SELECT count(*) FROM comments") == before - in_last_month
    assert await conn.fetchval("SELECT count(*) FROM comment_events") == events_before - in_last_month
    children = "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhparent WHERE c.relname = 'comments'"
    assert await conn.fetchval(children) == 4  # 4 monthly partitions and the default one, less the dropped month
