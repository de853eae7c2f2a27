"""Reference servers for bench/bench_load.py: what the same machine does with no moderation at all.

    python bench/reference_server.py echo   --port 8081 --workers 2
    python bench/reference_server.py insert --port 8082 --workers 2 --dsn postgresql://...

``echo`` answers POST /v1/comments with the JSON body it received (parsed and serialised again):
the ceiling of aiohttp on this machine. ``insert`` stores the comment with one asyncpg INSERT
(autocommit, so the answer comes after the commit) into ``bench_reference.comments`` and answers
201 with its id: the floor cost of a durable write per request, without batching. Both start
``--workers`` processes on one port with SO_REUSEPORT, like ``moderation serve --workers N``,
with no access log; GET /healthz answers 200 once the process serves. SIGTERM or SIGINT stops
the workers, then the supervisor.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from aiohttp import web

POOL = web.AppKey("pool", asyncpg.Pool)

# The reference table: what a minimal comment store needs, nothing the service's schema adds.
CREATE_TABLE = """
CREATE SCHEMA IF NOT EXISTS bench_reference;
CREATE TABLE IF NOT EXISTS bench_reference.comments (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    external_id text NOT NULL,
    article_id text NOT NULL,
    author_id text NOT NULL,
    text text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uq__bench_reference_comments__external_id UNIQUE (external_id)
);
"""
INSERT = """
INSERT INTO bench_reference.comments (external_id, article_id, author_id, text)
VALUES ($1, $2, $3, $4)
RETURNING id
"""
STORED_IDS = "SELECT external_id FROM bench_reference.comments WHERE external_id = ANY($1::text[])"
DROP_SCHEMA = "DROP SCHEMA IF EXISTS bench_reference CASCADE"


async def _execute(dsn: str, statement: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def create_table(dsn: str) -> None:
    """Create the reference table (once, before the workers start: concurrent DDL would race)."""
    await _execute(dsn, CREATE_TABLE)


async def drop_table(dsn: str) -> None:
    """Drop the reference schema and everything in it."""
    await _execute(dsn, DROP_SCHEMA)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def echo(request: web.Request) -> web.Response:
    return web.json_response(await request.json(), status=201)


async def insert(request: web.Request) -> web.Response:
    body = await request.json()
    comment_id = await request.app[POOL].fetchval(
        INSERT, body["external_id"], body["article_id"], body["author_id"], body["text"]
    )
    return web.json_response({"id": str(comment_id), "external_id": body["external_id"]}, status=201)


def make_app(kind: str, dsn: str | None, pool_max: int) -> web.Application:
    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/v1/comments", echo if kind == "echo" else insert)
    if kind == "insert":

        async def pool(app: web.Application) -> AsyncIterator[None]:
            app[POOL] = await asyncpg.create_pool(dsn, min_size=1, max_size=pool_max)
            yield
            await app[POOL].close()

        app.cleanup_ctx.append(pool)
    return app


def supervise(argv: list[str], workers: int) -> int:
    children = [subprocess.Popen([sys.executable, __file__, *argv, "--child"]) for _ in range(workers)]

    def stop(signum: int, frame: Any) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    codes = [child.wait() for child in children]
    return max(codes, default=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["echo", "insert"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dsn", help="PostgreSQL DSN (insert only)")
    parser.add_argument("--pool-max", type=int, default=10, help="connections per worker (the service's default)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.kind == "insert" and not args.dsn:
        parser.error("insert needs --dsn")
    if not args.child:
        if args.kind == "insert":
            asyncio.run(create_table(args.dsn))
        return supervise(sys.argv[1:], args.workers)
    web.run_app(
        make_app(args.kind, args.dsn, args.pool_max),
        host=args.host,
        port=args.port,
        reuse_port=True,
        access_log=None,
        print=None,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
