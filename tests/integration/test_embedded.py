"""Integration tests for the embedded PostgreSQL manager (service/db/embedded.py).

They start real postmasters from the pgserver wheel. Every test stops what it started
(and a fixture kills any postmaster left on its data dir), so a failing test leaves no
server behind.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from service.db import embedded
from service.db.embedded import EmbeddedPostgres, EmbeddedPostgresError, default_data_dir

REPO = Path(__file__).resolve().parents[2]
IS_ROOT = os.geteuid() == 0
DSN_RE = re.compile(r"^postgresql://moderation:[A-Za-z0-9_-]+@127\.0\.0\.1:(\d+)/moderation$")

# Runs in a separate (spawned) interpreter: start, report, wait for "stop", stop.
HELPER = """
import sys
from pathlib import Path
from service.db.embedded import EmbeddedPostgres
pg = EmbeddedPostgres(Path(sys.argv[1]))
print("READY", pg.start(), flush=True)
sys.stdin.readline()
pg.stop()
print("STOPPED", flush=True)
"""


# -- helpers ----------------------------------------------------------------------------


def postmaster_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "pgdata" / "postmaster.pid").read_text().splitlines()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def wait_dead(pid: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while alive(pid):
        assert time.monotonic() < deadline, f"pid {pid} still alive after {timeout}s"
        time.sleep(0.05)


def fetch(dsn: str, sql: str, *args: object) -> object:
    async def go() -> object:
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    return asyncio.run(go())


def execute(dsn: str, sql: str) -> None:
    async def go() -> None:
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(go())


def port_of(dsn: str) -> int:
    match = DSN_RE.match(dsn)
    assert match, dsn
    return int(match.group(1))


def readline(proc: subprocess.Popen[str], timeout: float = 60.0) -> str:
    """proc.stdout.readline() with a deadline (kills the process on timeout)."""
    assert proc.stdout is not None
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    if reader.is_alive():
        proc.kill()
        reader.join(5)
        pytest.fail(f"helper process gave no output within {timeout}s")
    return result[0].strip() if result else ""


def spawn_helper(data_dir: Path, extra_groups: list[int] | None = None) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [sys.executable, "-c", HELPER, str(data_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
        extra_groups=extra_groups,
    )


def stop_helper(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("stop\n")
    proc.stdin.flush()
    assert readline(proc) == "STOPPED"
    assert proc.wait(timeout=30) == 0


def force_kill_cluster(data_dir: Path) -> None:
    """Last-resort cleanup: immediate shutdown (SIGQUIT), then SIGKILL."""
    pid = postmaster_pid(data_dir)
    if pid is None or not alive(pid):
        return
    os.kill(pid, signal.SIGQUIT)
    try:
        wait_dead(pid, 10)
    except AssertionError:
        os.kill(pid, signal.SIGKILL)


# -- fixtures --------------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A short data dir the server account can reach.

    As root the server runs unprivileged and cannot enter pytest's /tmp/pytest-of-root
    (mode 700), so root gets a fresh directory directly under /tmp instead of tmp_path.
    """
    base = tmp_path
    if IS_ROOT:
        base = Path(tempfile.mkdtemp(prefix="emb-", dir="/tmp"))
        base.chmod(0o711)  # mkdtemp makes it 0700; the server account must pass through
    path = base / "data"
    try:
        yield path
    finally:
        force_kill_cluster(path)
        if IS_ROOT:
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def seed_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A cluster created once (and stopped), copied by tests that do not test the first start."""
    if IS_ROOT:
        base = Path(tempfile.mkdtemp(prefix="emb-seed-", dir="/tmp"))
        base.chmod(0o711)
    else:
        base = tmp_path_factory.mktemp("seed")
    path = base / "data"
    try:
        with EmbeddedPostgres(path):
            pass
        yield path
    finally:
        force_kill_cluster(path)
        if IS_ROOT:
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def initialized_dir(data_dir: Path, seed_dir: Path) -> Path:
    """data_dir holding a stopped, existing cluster (a copy of the seed, owners kept)."""
    subprocess.run(["cp", "-a", str(seed_dir), str(data_dir)], check=True, timeout=60)
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()
    return data_dir


@pytest.fixture
def servers(data_dir: Path) -> Iterator[list[EmbeddedPostgres]]:
    """Collects EmbeddedPostgres objects and stops them all, whatever the test did."""
    started: list[EmbeddedPostgres] = []
    try:
        yield started
    finally:
        for pg in started:
            try:
                pg.stop()
            except EmbeddedPostgresError:
                pass  # force_kill_cluster in data_dir's finally still runs


@pytest.fixture
def helpers() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


def new(data_dir: Path, servers: list[EmbeddedPostgres]) -> EmbeddedPostgres:
    pg = EmbeddedPostgres(data_dir)
    servers.append(pg)
    return pg


# -- tests -----------------------------------------------------------------------------


def test_first_start_creates_cluster_and_connectable_dsn(data_dir: Path, servers: list[EmbeddedPostgres]) -> None:
    dsn = new(data_dir, servers).start()

    assert DSN_RE.match(dsn), dsn
    assert (data_dir / "pgdata" / "PG_VERSION").read_text().strip() == "16"
    assert fetch(dsn, "SELECT current_database()") == "moderation"
    assert fetch(dsn, "SELECT current_user") == "moderation"
    assert fetch(dsn, "SHOW server_encoding") == "UTF8"
    # TCP on loopback only; no unix socket anywhere.
    assert fetch(dsn, "SHOW listen_addresses") == "127.0.0.1"
    assert fetch(dsn, "SHOW unix_socket_directories") == ""
    assert stat.S_IMODE(data_dir.stat().st_mode) == (0o710 if IS_ROOT else 0o700)
    assert stat.S_IMODE((data_dir / "pgdata").stat().st_mode) == 0o700


def test_password_file_private_and_password_required(initialized_dir: Path, servers: list[EmbeddedPostgres]) -> None:
    data_dir = initialized_dir
    dsn = new(data_dir, servers).start()
    pwfile = data_dir / "password"
    st = pwfile.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == os.geteuid()
    password = pwfile.read_text().strip()
    assert len(password) >= 32 and f":{password}@" in dsn

    port = port_of(dsn)
    for bad in (
        f"postgresql://moderation@127.0.0.1:{port}/moderation",
        f"postgresql://moderation:wrong@127.0.0.1:{port}/moderation",
        f"postgresql://postgres@127.0.0.1:{port}/postgres",
    ):
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
            fetch(bad, "SELECT 1")
    # No trust lines in pg_hba.conf at all (local or host).
    assert fetch(dsn, "SELECT count(*) FROM pg_hba_file_rules WHERE auth_method <> 'scram-sha-256'") == 0


def test_data_survives_stop_and_start(initialized_dir: Path, servers: list[EmbeddedPostgres]) -> None:
    data_dir = initialized_dir
    with EmbeddedPostgres(data_dir) as pg:
        assert pg.dsn is not None
        execute(pg.dsn, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('hello')")
        pid = postmaster_pid(data_dir)
        assert pid is not None
    assert pg.dsn is None
    wait_dead(pid, 1)  # stop() returns only once the postmaster is gone (pg_ctl stop -w)
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()

    dsn = new(data_dir, servers).start()
    assert fetch(dsn, "SELECT v FROM kept") == "hello"


def test_two_processes_share_one_postmaster(
    data_dir: Path, servers: list[EmbeddedPostgres], helpers: list[subprocess.Popen[str]]
) -> None:
    # Both race for the very first start (initdb) on a fresh data dir.
    a, b = spawn_helper(data_dir), spawn_helper(data_dir)
    helpers += [a, b]
    line_a, line_b = readline(a), readline(b)
    assert line_a.startswith("READY ") and line_b.startswith("READY "), (line_a, line_b)
    dsn_a, dsn_b = line_a.split()[1], line_b.split()[1]
    assert port_of(dsn_a) == port_of(dsn_b)
    pid = postmaster_pid(data_dir)
    assert pid is not None and alive(pid)

    execute(dsn_a, "CREATE TABLE t (who text); INSERT INTO t VALUES ('a')")
    execute(dsn_b, "INSERT INTO t VALUES ('b')")

    stop_helper(a)
    assert alive(pid), "the postmaster stopped while process b still used it"
    assert fetch(dsn_b, "SELECT string_agg(who, ',' ORDER BY who) FROM t") == "a,b"

    stop_helper(b)
    wait_dead(pid, 5)

    dsn = new(data_dir, servers).start()
    assert fetch(dsn, "SELECT count(*) FROM t") == 2
    log = (data_dir / "postgres.log").read_text()
    assert "PANIC" not in log and "database system was not properly shut down" not in log


def test_second_object_joins_and_last_stop_wins(initialized_dir: Path, servers: list[EmbeddedPostgres]) -> None:
    data_dir = initialized_dir
    first, second = new(data_dir, servers), new(data_dir, servers)
    dsn1 = first.start()
    dsn2 = second.start()
    assert dsn1 == dsn2
    pid = postmaster_pid(data_dir)
    assert pid is not None
    first.stop()
    assert alive(pid)
    second.stop()
    wait_dead(pid, 5)
    first.stop()  # idempotent


def test_killed_postmaster_leaves_stale_pid_and_next_start_recovers(
    initialized_dir: Path, servers: list[EmbeddedPostgres]
) -> None:
    data_dir = initialized_dir
    victim = new(data_dir, servers)
    dsn = victim.start()
    execute(dsn, "CREATE TABLE durable (n int); INSERT INTO durable VALUES (42)")
    pid = postmaster_pid(data_dir)
    assert pid is not None

    os.kill(pid, signal.SIGKILL)
    wait_dead(pid)
    assert postmaster_pid(data_dir) == pid, "expected a stale postmaster.pid"

    dsn2 = new(data_dir, servers).start()
    new_pid = postmaster_pid(data_dir)
    assert new_pid != pid and new_pid is not None and alive(new_pid)
    assert fetch(dsn2, "SELECT n FROM durable") == 42
    victim.stop()  # its server is gone and another user remains: must neither fail nor stop it
    assert alive(new_pid)


def test_port_taken_at_start_retries_another(
    initialized_dir: Path, servers: list[EmbeddedPostgres], monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = initialized_dir
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        real = embedded._free_port
        ports = iter([taken])
        monkeypatch.setattr(embedded, "_free_port", lambda: next(ports, None) or real())
        dsn = new(data_dir, servers).start()
    assert port_of(dsn) != taken
    assert fetch(dsn, "SELECT 1") == 1


def test_failed_start_raises_with_server_log(initialized_dir: Path, servers: list[EmbeddedPostgres]) -> None:
    data_dir = initialized_dir
    with open(data_dir / "pgdata" / "postgresql.conf", "a") as fh:
        fh.write("no_such_setting = 1\n")
    with pytest.raises(EmbeddedPostgresError, match="no_such_setting"):
        new(data_dir, servers).start()
    assert postmaster_pid(data_dir) is None
    # The failed object holds no user lock: a fixed config starts normally.
    conf = data_dir / "pgdata" / "postgresql.conf"
    conf.write_text(conf.read_text().replace("no_such_setting = 1\n", ""))
    fixed = new(data_dir, servers)
    assert fetch(fixed.start(), "SELECT 1") == 1
    pid = postmaster_pid(data_dir)
    assert pid is not None
    fixed.stop()
    wait_dead(pid, 5)  # would stay up if the failed start had leaked its user lock


def test_stale_pidfile_of_a_dead_process_is_ignored(initialized_dir: Path, servers: list[EmbeddedPostgres]) -> None:
    data_dir = initialized_dir
    pg = new(data_dir, servers)
    pg.start()
    pidfile = data_dir / "pgdata" / "postmaster.pid"
    contents = pidfile.read_text().splitlines(keepends=True)
    pg.stop()
    assert not pidfile.exists()
    # Put back the running server's pid file, naming a process that has exited and been reaped.
    dead = subprocess.Popen(["true"])
    dead.wait()
    pidfile.write_text("".join([f"{dead.pid}\n", *contents[1:]]))
    if IS_ROOT:
        shutil.chown(pidfile, (data_dir / "pgdata").stat().st_uid, (data_dir / "pgdata").stat().st_gid)

    dsn = new(data_dir, servers).start()
    assert fetch(dsn, "SELECT 1") == 1
    assert postmaster_pid(data_dir) not in (None, dead.pid)


@pytest.mark.skipif(not IS_ROOT, reason="root-only behaviour")
def test_as_root_postmaster_runs_unprivileged_from_copied_binaries(
    data_dir: Path, helpers: list[subprocess.Popen[str]]
) -> None:
    # Start from a root process that has supplementary groups (root, adm): the server must not inherit them.
    proc = spawn_helper(data_dir, extra_groups=[0, 4])
    helpers.append(proc)
    assert readline(proc).startswith("READY ")
    pid = postmaster_pid(data_dir)
    assert pid is not None
    status = Path(f"/proc/{pid}/status").read_text()
    uids = re.search(r"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", status, re.M)
    gids = re.search(r"^Gid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", status, re.M)
    groups = re.search(r"^Groups:(.*)$", status, re.M)
    assert uids and gids and groups
    owner = (data_dir / "pgdata").stat()
    assert {int(u) for u in uids.groups()} == {owner.st_uid}
    assert {int(g) for g in gids.groups()} == {owner.st_gid}
    assert owner.st_uid != 0 and owner.st_gid != 0
    assert pwd.getpwuid(owner.st_uid).pw_name in ("moderation-pg", "nobody")
    assert groups.group(1).split() == [], "root's supplementary groups must be dropped"
    exe = Path(os.readlink(f"/proc/{pid}/exe"))
    assert exe.is_relative_to(data_dir / "runtime"), exe
    assert (data_dir / "password").stat().st_uid == 0
    stop_helper(proc)
    wait_dead(pid, 5)


@pytest.mark.skipif(not IS_ROOT, reason="root-only behaviour")
def test_as_root_untraversable_parent_fails_clearly() -> None:
    private = Path(tempfile.mkdtemp(prefix="emb-priv-", dir="/tmp"))  # mode 0700
    try:
        with pytest.raises(EmbeddedPostgresError, match=r"cannot enter .*MODERATION_DATA_DIR"):
            EmbeddedPostgres(private / "data").start()
        assert not (private / "data").exists()
    finally:
        shutil.rmtree(private, ignore_errors=True)


def test_default_data_dir() -> None:
    if IS_ROOT:
        assert default_data_dir() == Path("/var/lib/moderation")
    else:
        assert default_data_dir().name == "moderation"
