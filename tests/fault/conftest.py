"""Fault injection against real processes: a PostgreSQL cluster the test owns (started, stopped,
crashed, frozen and restarted on the same port), and ``moderation serve`` pointed at it with
MODERATION_DATABASE_URL, so the database's lifecycle is independent of the service's."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import asyncpg
import pytest

from service.db.embedded import EmbeddedPostgres
from service.db.pool import init_connection
from service.domain.types import Role
from service.keys import create_key
from tests.e2e.conftest import Server, start_server
from tests.helpers import auth, server_dir

# Generous limits for load on loopback: these tests are about faults, not quotas.
UNLIMITED = '{"submitter": {"per_second": 100000, "burst": 100000}, "admin": {"per_second": 100000, "burst": 100000}}'
# The test's bound for "it did not hang"; far above every timeout the service is given.
HANG_S = 45.0


class Cluster:
    """One embedded PostgreSQL cluster under the test's control."""

    def __init__(self, data_dir: Path) -> None:
        self.embedded = EmbeddedPostgres(data_dir)
        self.dsn = self.embedded.start()
        port = urlsplit(self.dsn).port
        assert port is not None
        self.port = port
        self.faults = 0  # how many faults this test injected, for the closing count

    def stop(self, mode: str = "fast") -> None:
        """Shut the postmaster down (``fast``: clean; ``immediate``: a crash, recovery at next start)."""
        code, out = self.embedded.pg_ctl("stop", "-m", mode, "-w", "-t", "60")
        assert code == 0, out
        self.faults += 1

    def restart(self) -> None:
        """Start it again on the same port, so the service's DSN stays valid."""
        log = str(self.embedded.log_file)
        code, out = self.embedded.pg_ctl("start", "-w", "-t", "60", "-l", log, "-o", f"-p {self.port}")
        assert code == 0, out

    def pids(self) -> list[int]:
        """The postmaster and all its children."""
        postmaster = int((self.embedded.pgdata / "postmaster.pid").read_text().splitlines()[0])
        children = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                if ppid == postmaster:
                    children.append(int(entry.name))
        return [postmaster, *children]

    def freeze(self) -> list[int]:
        """SIGSTOP every server process: the database hangs (TCP still accepts; nothing answers)."""
        pids = self.pids()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        self.faults += 1
        return pids

    @staticmethod
    def thaw(pids: list[int]) -> None:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass

    async def connect(self) -> asyncpg.Connection:
        conn = await asyncpg.connect(self.dsn)
        await init_connection(conn)
        return conn

    def close(self) -> None:
        self.embedded.stop()


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with server_dir("fault") as data_dir:
        c = Cluster(data_dir)
        try:
            yield c
        finally:
            c.close()


def serve(cluster: Cluster, log_path: Path, **settings: str) -> Server:
    """``moderation serve`` on ``cluster``; ``settings`` are MODERATION_* values by lower-case name."""
    env = {
        "MODERATION_DATABASE_URL": cluster.dsn,
        "MODERATION_DB_RETRY_AFTER_S": "1",
        "MODERATION_RATE_LIMITS": UNLIMITED,
    }
    env.update({f"MODERATION_{k.upper()}": v for k, v in settings.items()})
    return start_server(log_path.parent, log_path, env=env)


async def make_key(cluster: Cluster, role: Role = Role.SUBMITTER) -> str:
    conn = await cluster.connect()
    try:
        return (await create_key(conn, name=f"{role.value}-{uuid.uuid4().hex[:8]}", role=role)).secret
    finally:
        await conn.close()


@dataclass
class Outcome:
    """What one request got: a status and body, or the exception that ended it."""

    sent_at: float
    status: int | None = None
    body: dict = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def comment(i: int, tag: str) -> dict[str, str]:
    # One author per comment: the per-author flood rule (10 a minute by default) is not under test here.
    return {
        "article_id": f"fault-{tag}",
        "author_id": f"reader-{tag}-{i}",
        "external_id": f"{tag}-{i}",
        "text": f"Comment {i} of the {tag} run: the council vote was closer than expected.",
    }


async def post_comment(http: aiohttp.ClientSession, url: str, key: str, body: dict, t0: float) -> Outcome:
    out = Outcome(sent_at=time.monotonic() - t0)
    try:
        async with http.post(f"{url}/v1/comments", json=body, headers=auth(key)) as resp:
            out.status = resp.status
            out.headers = dict(resp.headers)
            out.body = await resp.json(content_type=None)
    except (TimeoutError, aiohttp.ClientError) as exc:
        out.error = exc.__class__.__name__
    return out


async def paced_load(
    url: str,
    key: str,
    *,
    workers: int,
    per_worker: int,
    interval_s: float,
    tag: str,
    until: asyncio.Event | None = None,
    max_per_worker: int | None = None,
) -> list[Outcome]:
    """Bounded load: each worker sends a POST every ``interval_s`` (or when the last returns),
    ``per_worker`` of them, and more (up to ``max_per_worker``) while ``until`` is not set."""
    timeout = aiohttp.ClientTimeout(total=HANG_S)
    t0 = time.monotonic()
    limit = max(per_worker, max_per_worker or per_worker)
    async with aiohttp.ClientSession(timeout=timeout) as http:

        async def worker(w: int) -> list[Outcome]:
            results = []
            for j in range(limit):
                if j >= per_worker and (until is None or until.is_set()):
                    break
                due = t0 + j * interval_s
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                results.append(await post_comment(http, url, key, comment(j * workers + w, tag), t0))
            return results

        per = await asyncio.gather(*(worker(w) for w in range(workers)))
    return [o for results in per for o in results]


async def missing_ids(cluster: Cluster, ids: list[str]) -> list[str]:
    """Ids answered 2xx that the database does not hold (must be empty)."""
    conn = await cluster.connect()
    try:
        found = await conn.fetch("SELECT id::text AS id FROM comments WHERE id = ANY($1::uuid[])", ids)
    finally:
        await conn.close()
    return sorted(set(ids) - {r["id"] for r in found})


def assert_unavailable_problem(o: Outcome) -> None:
    """A non-2xx during an outage: 503 problem+json with Retry-After, nothing else."""
    assert o.status == 503, o
    assert o.headers.get("Content-Type", "").startswith("application/problem+json"), o
    assert int(o.headers["Retry-After"]) >= 1, o
    assert o.body["status"] == 503 and o.body["code"] in ("database_unavailable", "storage_full"), o


def assert_log_clean(server: Server, *secrets: str) -> None:
    text = server.log()
    assert text, "the server logged nothing at all"
    for secret in secrets:
        assert secret not in text


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HANG_S)) as session:
        yield session
