"""The ``moderation`` command: serve, migrate, manage keys (and the classifier's train/evaluate/score)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from pydantic import SecretStr

from service.logs import configure_logging
from service.settings import Settings

log = logging.getLogger("moderation")


@contextlib.contextmanager
def database(settings: Settings) -> Iterator[Settings]:
    """Settings with a database URL: the configured one, or an embedded PostgreSQL started meanwhile."""
    if settings.database_url is not None:
        yield settings
        return
    from service.db.embedded import EmbeddedPostgres, default_data_dir

    data_dir = settings.data_dir or default_data_dir()
    log.info("no MODERATION_DATABASE_URL: using the embedded PostgreSQL in %s", data_dir)
    embedded = EmbeddedPostgres(data_dir)
    dsn = embedded.start()
    try:
        yield settings.model_copy(update={"database_url": SecretStr(dsn)})
    finally:
        embedded.stop()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from aiohttp import web

    from service.app import create_app

    updates = {k: v for k, v in (("host", args.host), ("port", args.port), ("workers", args.workers)) if v is not None}
    if args.no_migrate:
        updates["migrate_on_start"] = False
    settings = settings.model_copy(update=updates)
    _tune_malloc(settings)
    # Each worker scores on one thread; workers and micro-batches are the parallelism. The Rust
    # tokenizer's own thread pool (the model's embedding block) would only contend with them and
    # with the event loop: 0.24 against 0.29 CPU ms per comment scored, in batches of 32.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    with database(settings) as settings:
        if settings.workers > 1:
            return _serve_workers(settings)
        _choose_event_loop(settings)
        app = create_app(settings)
        if settings.gc_tuning:
            # After every start-up step (the model is loaded by then): on_startup runs in order.
            app.on_startup.append(_settle_heap)
        web.run_app(
            app,
            host=settings.host,
            port=settings.port,
            # SIGTERM: stop listening, let in-flight requests finish for up to this long, then
            # cancel what is left and run the cleanup contexts (model, then the pool).
            shutdown_timeout=settings.shutdown_timeout_s,
            access_log=None,
            reuse_port=args.reuse_port or None,
            print=lambda msg: log.info("%s", msg),
        )
    return 0


def _choose_event_loop(settings: Settings) -> None:
    """uvloop for the serving loop when wanted and installed; asyncio's own loop otherwise."""
    if not settings.uvloop:
        return
    try:
        import uvloop
    except ImportError:
        log.info("uvloop is not installed; serving on asyncio's event loop")
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    log.info("serving on uvloop %s", uvloop.__version__)


async def _settle_heap(_app: object) -> None:
    """Freeze what start-up built out of the garbage collector's way (why: service/memory.py)."""
    from service.memory import GC_THRESHOLDS, settle_heap

    log.info("gc: %d objects frozen after start-up, thresholds %s", settle_heap(), GC_THRESHOLDS)


def _tune_malloc(settings: Settings) -> None:
    """Fix glibc's mmap threshold before the model loads (why: service/memory.py, docs/soak.md).

    Each worker of ``--workers N`` is a ``moderation serve`` of its own and does this too.
    """
    from service.memory import set_mmap_threshold

    threshold = settings.malloc_mmap_threshold_bytes
    if threshold == 0:
        return
    if set_mmap_threshold(threshold):
        log.info("malloc: blocks of %d bytes or more are mmapped (fixed threshold)", threshold)
    else:
        log.info("malloc: no glibc mallopt here; the mmap threshold is left to the allocator")


def _serve_workers(settings: Settings) -> int:
    """Migrate once, then supervise N children sharing the port (see service/workers.py)."""
    from service.app import database_url, migrate
    from service.workers import serve_workers

    dsn = database_url(settings)
    if settings.migrate_on_start:
        asyncio.run(migrate(dsn, settings.migrations_dir))
    return serve_workers(workers=settings.workers, host=settings.host, port=settings.port, dsn=dsn)


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from service.app import database_url, migrate

    with database(settings) as settings:
        done = asyncio.run(migrate(database_url(settings), settings.migrations_dir))
    print(f"applied {len(done)} migration(s)" + (": " + ", ".join(done) if done else ""))
    return 0


async def _with_conn(settings: Settings, action):  # type: ignore[no-untyped-def]
    import asyncpg

    from service.app import database_url, migrate
    from service.db.pool import init_connection

    dsn = database_url(settings)
    await migrate(dsn, settings.migrations_dir)
    conn = await asyncpg.connect(dsn)
    try:
        await init_connection(conn)
        return await action(conn)
    finally:
        await conn.close()


def cmd_keys(args: argparse.Namespace, settings: Settings) -> int:
    from service import keys
    from service.db import store
    from service.domain.types import Role

    with database(settings) as settings:
        if args.keys_command == "create":
            new = asyncio.run(
                _with_conn(
                    settings,
                    lambda c: keys.create_key(c, name=args.name, role=Role(args.role), site_id=args.site),
                )
            )
            print(f"created {new.role.value} key {new.name!r} (id {new.id}); it is shown once, store it now:")
            print(new.secret)
        elif args.keys_command == "list":
            rows = asyncio.run(_with_conn(settings, store.list_api_keys))
            for r in rows:
                if r["revoked"]:
                    state = "revoked"
                elif r["revoked_at"] is not None:
                    state = f"expires {r['revoked_at'].isoformat(timespec='seconds')}"
                else:
                    state = "active"
                print(f"{r['id']}\t{r['name']}\t{r['role']}\t{r['key_prefix']}…\t{state}\t{r['site_id'] or '-'}")
        elif args.keys_command == "revoke":
            ok = asyncio.run(_with_conn(settings, lambda c: store.revoke_api_key(c, args.name)))
            if not ok:
                print(f"no active key named {args.name!r}", file=sys.stderr)
                return 1
            print(f"revoked {args.name!r}")
        elif args.keys_command == "rotate":
            try:
                rotated = asyncio.run(
                    _with_conn(settings, lambda c: keys.rotate_key(c, name=args.name, grace_s=args.grace_seconds))
                )
            except keys.UnknownKey as exc:
                print(str(exc), file=sys.stderr)
                return 1
            until = rotated.old_valid_until.isoformat(timespec="seconds")
            print(
                f"rotated {rotated.new.role.value} key {rotated.new.name!r}: the old key (id {rotated.old_key_id}) "
                f"works until {until} (plus up to {settings.key_cache_ttl_s:g} s of cache on running services)"
            )
            print(f"the new key (id {rotated.new.id}) is shown once, store it now:")
            print(rotated.new.secret)
    return 0


def cmd_retrain(args: argparse.Namespace, settings: Settings) -> int:
    """Exit codes: 0 promoted, 3 not promoted by the gate, 4 another run holds the lock,
    5 not enough new labels, 1 error (see service/retraining.py)."""
    from service.app import database_url, migrate
    from service.retraining import EXIT_ERROR, run_retrain

    updates = {k: v for k, v in (("retrain_base", args.base), ("retrain_min_new_labels", args.min_new_labels)) if v}
    settings = settings.model_copy(update=updates)
    try:
        with database(settings) as settings:
            dsn = database_url(settings)
            asyncio.run(migrate(dsn, settings.migrations_dir))
            result = asyncio.run(run_retrain(settings, dsn))
    except Exception:
        log.exception("retrain failed before it could start")
        return EXIT_ERROR
    candidate = f" (candidate {result.candidate_version})" if result.candidate_version else ""
    print(f"{result.outcome}: {result.message}{candidate}")
    return result.exit_code


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from service import backup
    from service.app import database_url

    with database(settings) as settings:
        dsn = database_url(settings)
        if args.backup_command == "backup":
            code = backup.dump(dsn, args.out, args.pg_bin)
            if code == 0:
                print(f"wrote {args.out}")
        else:
            code = backup.restore(dsn, args.file, args.pg_bin)
            if code == 0:
                print(f"restored {args.file}")
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="moderation", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8080)")
    serve.add_argument("--no-migrate", action="store_true", help="do not apply migrations at start")
    serve.add_argument("--workers", type=int, help="worker processes sharing the port via SO_REUSEPORT (default 1)")
    serve.add_argument(
        "--reuse-port", action="store_true", help="bind with SO_REUSEPORT (set for the workers of --workers N)"
    )
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply pending database migrations")
    migrate.set_defaults(func=cmd_migrate)

    keys = sub.add_parser("keys", help="manage API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="create a key; the key is printed alone on the last line")
    create.add_argument("--role", required=True, choices=["submitter", "moderator", "admin", "trainer"])
    create.add_argument("--name", required=True)
    create.add_argument("--site", help="bind the key to one site")
    keys_sub.add_parser("list", help="list keys (never their secrets)")
    revoke = keys_sub.add_parser("revoke", help="revoke the active key with this name")
    revoke.add_argument("--name", required=True)
    rotate = keys_sub.add_parser(
        "rotate", help="replace the active key with this name; the new key is printed alone on the last line"
    )
    rotate.add_argument("--name", required=True)
    rotate.add_argument(
        "--grace-seconds",
        type=float,
        default=0.0,
        help="keep the old key working this long (default 0: revoke it now)",
    )
    keys.set_defaults(func=cmd_keys)

    retrain = sub.add_parser(
        "retrain",
        help="train a candidate on moderator labels, gate it, promote it",
        description="Exit codes: 0 promoted; 3 not promoted (gate refused, reason recorded); "
        "4 another run holds the lock; 5 not enough new labels; 1 error.",
    )
    retrain.add_argument("--base", help="'recipe:<name>' or a CSV/JSONL table (default: MODERATION_RETRAIN_BASE)")
    retrain.add_argument("--min-new-labels", type=int, help="override MODERATION_RETRAIN_MIN_NEW_LABELS")
    retrain.set_defaults(func=cmd_retrain)
    dump = sub.add_parser("backup", help="pg_dump the database (embedded or not) to a file")
    dump.add_argument("--out", type=Path, required=True, help="dump file (pg_dump custom format)")
    restore = sub.add_parser("restore", help="pg_restore a dump made by 'backup' (stop the service first)")
    restore.add_argument("file", type=Path, help="dump file made by 'moderation backup'")
    for p, name in ((dump, "backup"), (restore, "restore")):
        p.add_argument("--pg-bin", type=Path, help="directory with pg_dump/pg_restore (default: the bundled 16.x)")
        p.set_defaults(func=cmd_backup, backup_command=name)

    try:
        from classifier.cli import add_subcommands
    except ImportError:  # the classifier's commands are optional for the service itself
        pass
    else:
        add_subcommands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    if args.func in (cmd_serve, cmd_migrate, cmd_keys, cmd_retrain, cmd_backup):
        return int(args.func(args, settings) or 0)
    return int(args.func(args) or 0)
