"""How long one bulk decision takes for a backlog (a benchmark, not a test).

Usage: ``python bench/bench_bulk_decide.py postgresql://user@host/db [--sizes 1000 10000]``. The database
must be empty or disposable: the script migrates it, fills an article with pending comments (from 2,000
authors), and times ``bulk_decide`` (one statement: the status change, one history event per comment,
the authors' tallies, and one queue notification) for each size.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import asyncpg

from service.db import store
from service.db.migrations import apply_migrations
from service.db.pool import init_connection
from service.domain.types import Status
from service.settings import REPO_ROOT


async def run(dsn: str, sizes: list[int]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await apply_migrations(conn, REPO_ROOT / "migrations")
        await init_connection(conn)
        await conn.execute("INSERT INTO articles (site_id, id) VALUES ('default', 'bench') ON CONFLICT DO NOTHING")
        await conn.execute(
            "INSERT INTO authors (site_id, id) SELECT 'default', 'bench-' || g FROM generate_series(1, 2000) AS g"
            " ON CONFLICT DO NOTHING"
        )
        for size in sizes:
            await conn.execute(
                "INSERT INTO comments (site_id, article_id, author_id, text, status, reasons)"
                " SELECT 'default', 'bench', 'bench-' || (1 + g % 2000), 'comment ' || g, 'pending',"
                ' \'[{"code": "article_premoderated", "message": "premod"}]\''
                " FROM generate_series(1, $1) AS g",
                size,
            )
            selection = store.BulkSelection(None, "default", "bench", None)
            started = time.perf_counter()
            async with conn.transaction():
                decided = await store.bulk_decide(
                    conn,
                    selection,
                    key_id=0,
                    limit=size,
                    status=Status.APPROVED,
                    actor_kind="moderator",
                    actor_name="bench",
                    reasons=[{"code": "moderator_decision", "message": "bench"}],
                    reason=None,
                )
            elapsed = time.perf_counter() - started
            print(f"bulk approve of {len(decided):>6} comments: {elapsed * 1000:7.0f} ms")
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dsn")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args()
    asyncio.run(run(args.dsn, args.sizes))


if __name__ == "__main__":
    main()
