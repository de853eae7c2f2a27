"""A really full disk: the comments table lives in a tablespace on a tiny tmpfs that the test fills.

PostgreSQL then fails the INSERT that needs a new page with its own SQLSTATE 53100 (disk_full),
the service answers 503 ``storage_full`` with Retry-After, nothing answered 2xx is lost, and it
recovers by itself once space is freed. Needs root (to mount tmpfs); skipped otherwise, and
tests/api/test_slow_database.py covers the same mapping with a trigger raising 53100.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.fault.conftest import (
    HANG_S,
    Cluster,
    assert_unavailable_problem,
    comment,
    make_key,
    missing_ids,
    post_comment,
    serve,
)

TMPFS_SIZE = "1m"
MAX_REQUESTS = 400


@pytest.fixture
def tiny_disk(cluster: Cluster) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = Path(f"{cluster.embedded.data_dir}-tiny")
    mount.mkdir(mode=0o700)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        mount.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    owner = cluster.embedded.pgdata.stat()
    os.chown(mount, owner.st_uid, owner.st_gid)
    try:
        yield mount
    finally:
        cluster.close()  # the server holds files in the tablespace open
        subprocess.run(["umount", str(mount)], check=False)
        if subprocess.run(["mountpoint", "-q", str(mount)], check=False).returncode == 0:
            subprocess.run(["umount", "-l", str(mount)], check=False)
        mount.rmdir()


def fill(path: Path) -> Path:
    """Write zeros until the filesystem is full; return the filler file."""
    filler = path / "filler"
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    return filler


@pytest.mark.slow
async def test_a_full_disk_is_a_clear_503_and_the_service_recovers(
    cluster: Cluster, tiny_disk: Path, tmp_path: Path
) -> None:
    server = serve(cluster, tmp_path / "server.log")
    try:
        key = await make_key(cluster)
        conn = await cluster.connect()
        try:
            # DDL cannot take parameters; the path is the test's own mount point, not user input.
            await conn.execute(f"CREATE TABLESPACE tiny LOCATION '{tiny_disk}'")
            await conn.execute("ALTER TABLE comments SET TABLESPACE tiny")
        finally:
            await conn.close()

        t0 = time.monotonic()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HANG_S)) as http:
            first = await post_comment(http, server.url, key, comment(0, "disk"), t0)
            assert first.status == 201, first
            filler = fill(tiny_disk)
            cluster.faults += 1
            outcomes = []
            for i in range(1, MAX_REQUESTS):
                out = await post_comment(http, server.url, key, comment(i, "disk"), t0)
                outcomes.append(out)
                if out.status == 503:
                    break
            refused = [o for o in outcomes if not o.ok]
            assert refused, f"the disk never filled up in {MAX_REQUESTS} comments"
            for o in refused:
                assert_unavailable_problem(o)
                assert o.body["code"] == "storage_full", o
            # More attempts on the full disk: each one refused the same way, none lost or half-made.
            for i in range(MAX_REQUESTS, MAX_REQUESTS + 5):
                out = await post_comment(http, server.url, key, comment(i, "disk"), t0)
                assert_unavailable_problem(out)
                refused.append(out)

            filler.unlink()
            after = await post_comment(http, server.url, key, comment(MAX_REQUESTS + 10, "disk"), t0)
            assert after.status == 201, after

        ok = [first, *(o for o in outcomes if o.ok), after]
        assert await missing_ids(cluster, [o.body["id"] for o in ok]) == []
        conn = await cluster.connect()
        try:
            stored = await conn.fetchval("SELECT count(*) FROM comments")
            events = await conn.fetchval("SELECT count(*) FROM comment_events")
        finally:
            await conn.close()
        assert stored == len(ok) == events, "a refused comment left nothing behind"
        assert "database is out of disk space" in server.log()
        print(f"\ndisk full: {len(ok)} x 2xx stored, {len(refused)} x 503 storage_full")
    finally:
        assert server.stop() == 0, server.log()
