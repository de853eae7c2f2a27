"""Embedded PostgreSQL: the default database when no ``MODERATION_DATABASE_URL`` is set.

We use only the PostgreSQL 16 binaries shipped in the ``pgserver`` wheel, never its
``PostgresServer`` wrapper (as root it creates a login user and chmods every directory
up to ``/``). Layout under ``data_dir``::

    pgdata/           the cluster (owned by the server account)
    password          superuser password, 0600 (scram-sha-256; no trust auth)
    postgres.log      server log (``pg_ctl -l``)
    start.lock        exclusive flock held while starting/stopping
    users.lock        shared flock held by every process using the cluster
    runtime/<key>/    root only: a world-readable copy of the binaries

Several processes may share one ``data_dir``: the first starts the postmaster, the rest
reuse it, and the last one to stop shuts it down. The kernel drops a crashed process's
flocks, so a crash never leaks a user count (it may leave the postmaster running, and
the next start reuses it). See ``docs/embedded-postgres.md``.
"""

from __future__ import annotations

import errno
import fcntl
import importlib.util
import logging
import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

log = logging.getLogger(__name__)

SUPERUSER = "moderation"
DATABASE = "moderation"
SERVICE_USER = "moderation-pg"
ROOT_DATA_DIR = Path("/var/lib/moderation")

# Every subprocess gets a timeout so a wedged server can never hang the service.
INITDB_TIMEOUT_S = 120.0
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 60
QUERY_TIMEOUT_S = 30.0
LOCK_TIMEOUT_S = 180.0  # a concurrent first start (copy + initdb) holds start.lock this long at most
REUSE_WAIT_S = 30.0
PORT_ATTEMPTS = 5
LOG_ROTATE_BYTES = 10 * 1024 * 1024

# Appended to postgresql.conf at initdb. TCP on loopback only; no unix socket at all, so
# the ~107-byte socket path limit never bites however long data_dir is.
_MANAGED_CONF = """
# --- managed by comment-moderation (service/db/embedded.py) ---
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
password_encryption = 'scram-sha-256'
"""


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be prepared, started, reached or stopped."""


def default_data_dir() -> Path:
    """Default ``data_dir``: ``/var/lib/moderation`` as root, else the user's data dir.

    Root's own data dir (``/root/...``) is mode 700, which the unprivileged server
    account cannot traverse. ``MODERATION_DATA_DIR`` (``Settings.data_dir``) overrides.
    """
    if os.geteuid() == 0:
        return ROOT_DATA_DIR
    import platformdirs

    return Path(platformdirs.user_data_dir("moderation"))


@dataclass(frozen=True)
class _Account:
    """The unprivileged account the server runs as when we are root."""

    name: str
    uid: int
    gid: int


class EmbeddedPostgres:
    """A PostgreSQL cluster under ``data_dir``, shared safely between processes."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir).expanduser().absolute()
        self.pgdata = self.data_dir / "pgdata"
        self.password_file = self.data_dir / "password"
        self.log_file = self.data_dir / "postgres.log"
        self._start_lock = self.data_dir / "start.lock"
        self._users_lock = self.data_dir / "users.lock"
        self._is_root = os.geteuid() == 0
        self._account: _Account | None = None  # set when root
        self._bin: Path | None = None
        self._users_fd: int | None = None
        self._dsn: str | None = None

    # -- public API ---------------------------------------------------------------

    @property
    def dsn(self) -> str | None:
        """The DSN returned by :meth:`start`, or None when not started."""
        return self._dsn

    def start(self) -> str:
        """Start (or join) the cluster and return an asyncpg-compatible DSN."""
        if self._dsn is not None:
            return self._dsn
        t0 = time.monotonic()
        try:
            port, password, joined = self._start()
        except OSError as exc:  # permissions, disk full, ...: name the data dir
            raise EmbeddedPostgresError(f"embedded PostgreSQL in {self.data_dir}: {exc}") from exc
        self._dsn = f"postgresql://{SUPERUSER}:{quote(password, safe='')}@127.0.0.1:{port}/{DATABASE}"
        log.info(
            "embedded PostgreSQL %s on 127.0.0.1:%d (%s, %.2fs)",
            "joined" if joined else "started",
            port,
            self.data_dir,
            time.monotonic() - t0,
        )
        return self._dsn

    def _start(self) -> tuple[int, str, bool]:
        self._prepare_data_dir()
        with self._flock(self._start_lock, fcntl.LOCK_EX):
            # Register as a user first: a failure below then goes through the same
            # "stop only if nobody else uses it" path as a normal stop().
            self._users_fd = self._open_lock(self._users_lock)
            try:
                # Cannot block for long: LOCK_EX on users.lock is only taken under start.lock.
                self._lock_fd(self._users_fd, fcntl.LOCK_SH, self._users_lock)
                self._bin = self._runtime_bin()
                password = self._password(create=not self.pgdata.exists())
                if not self.pgdata.exists():
                    self._initdb(password)
                self._check_version()
                port = self._running_port(password)
                joined = port is not None
                if port is None:
                    port = self._start_postmaster()
                self._ensure_database(port, password)
            except BaseException:
                try:
                    self._release_user()
                except Exception:  # keep the original error; this is best-effort cleanup
                    log.exception("cleanup after a failed start of %s failed", self.data_dir)
                raise
        return port, password, joined

    def stop(self) -> None:
        """Stop using the cluster; shut the postmaster down if no other process uses it."""
        if self._users_fd is None:
            return
        self._dsn = None
        try:
            with self._flock(self._start_lock, fcntl.LOCK_EX):
                self._release_user()
        finally:
            # Even if start.lock timed out, never keep our user count alive.
            if self._users_fd is not None:
                os.close(self._users_fd)
                self._users_fd = None

    def pg_ctl(self, *args: str, timeout: float = STOP_TIMEOUT_S + 15) -> tuple[int, str]:
        """Run ``pg_ctl <args> -D pgdata`` as the server account; (exit code, output).

        For operations and fault-injection tests that stop, crash or restart the postmaster
        behind the back of the processes using it (``start``/``stop`` above keep the user count).
        """
        if self._bin is None:
            raise EmbeddedPostgresError("start() first: the binaries are not located yet")
        return self._run([self._exe("pg_ctl"), *args, "-D", str(self.pgdata)], timeout=timeout)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- data dir and accounts ------------------------------------------------------

    def _prepare_data_dir(self) -> None:
        """Create data_dir privately; as root, make it traversable by the server account only."""
        if self._is_root:
            self._account = self._server_account()
            self._check_parents_traversable(self._account)
        created = not self.data_dir.exists()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        st = self.data_dir.stat()
        if not self._is_root:
            if created:
                os.chmod(self.data_dir, 0o700)
            return
        assert self._account is not None
        # Again, now that missing parents exist: a restrictive umask may have made them 0700.
        self._check_parents_traversable(self._account)
        # 0710 root:<server group>: the server may enter (to reach pgdata/ and runtime/)
        # but not list it or read the root-owned password file.
        if (created or not _can_traverse(st, self._account)) and st.st_uid == 0:
            os.chown(self.data_dir, 0, self._account.gid)
            os.chmod(self.data_dir, 0o710)
        if not _can_traverse(self.data_dir.stat(), self._account):
            raise EmbeddedPostgresError(
                f"{self.data_dir} is not traversable by the server account {self._account.name!r}; "
                "use a data dir owned by root, e.g. MODERATION_DATA_DIR=/var/lib/moderation"
            )

    def _server_account(self) -> _Account:
        """The account to run the server as (root only): pgdata's owner, else moderation-pg."""
        if self.pgdata.exists():
            st = self.pgdata.stat()
            if st.st_uid != 0:
                # Keep running as whoever owns the cluster (e.g. it was created as nobody).
                try:
                    pw = pwd.getpwuid(st.st_uid)
                except KeyError:
                    raise EmbeddedPostgresError(
                        f"{self.pgdata} is owned by uid {st.st_uid}, which no longer exists; "
                        f"chown -R it to {SERVICE_USER}"
                    ) from None
                return _Account(pw.pw_name, pw.pw_uid, pw.pw_gid)
        try:
            pw = pwd.getpwnam(SERVICE_USER)
        except KeyError:
            pw = self._create_service_user()
        return _Account(pw.pw_name, pw.pw_uid, pw.pw_gid)

    def _create_service_user(self) -> pwd.struct_passwd:
        """Create the system user moderation-pg (no home, no login); fall back to nobody."""
        argv = [
            "useradd", "--system", "--user-group", "--no-create-home",
            "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
            "--comment", "comment-moderation embedded PostgreSQL", SERVICE_USER,
        ]  # fmt: skip
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("cannot create user %s (%s); running PostgreSQL as nobody", SERVICE_USER, exc)
            return pwd.getpwnam("nobody")
        try:
            # Also covers a concurrent useradd from another process winning the race.
            return pwd.getpwnam(SERVICE_USER)
        except KeyError:
            log.warning("useradd %s failed (%s); running PostgreSQL as nobody", SERVICE_USER, proc.stderr.strip())
            return pwd.getpwnam("nobody")

    def _check_parents_traversable(self, account: _Account) -> None:
        for parent in reversed(self.data_dir.parents):
            try:
                st = parent.stat()
            except FileNotFoundError:
                return  # we create the rest (as root, with the default umask)
            if not _can_traverse(st, account):
                raise EmbeddedPostgresError(
                    f"the PostgreSQL server runs as the unprivileged user {account.name!r}, which "
                    f"cannot enter {parent} (mode {stat.filemode(st.st_mode)}) on the way to "
                    f"{self.data_dir}; set MODERATION_DATA_DIR=/var/lib/moderation (or another "
                    "directory whose parents are world-traversable)"
                )

    def _password(self, *, create: bool) -> str:
        """Read the superuser password, generating it (0600) before the first initdb."""
        if self.password_file.exists():
            if self.password_file.stat().st_mode & 0o077:
                os.chmod(self.password_file, 0o600)
            password = self.password_file.read_text().strip()
            if not password:
                raise EmbeddedPostgresError(f"{self.password_file} is empty")
            return password
        if not create:
            raise EmbeddedPostgresError(
                f"{self.password_file} is missing but the cluster {self.pgdata} exists; "
                "restore the file or remove the data dir to start afresh"
            )
        # O_EXCL with mode 0600: the secret is never readable by others, not even briefly.
        fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        password = secrets.token_urlsafe(32)
        with os.fdopen(fd, "w") as fh:
            fh.write(password + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        return password

    # -- binaries -------------------------------------------------------------------

    def _runtime_bin(self) -> Path:
        """The bin dir to use: pgserver's own, or (as root) our world-readable copy of it."""
        pkg = _pgserver_dir()
        if not self._is_root:
            return pkg / "pginstall" / "bin"
        assert self._account is not None
        key = f"pgserver-{_pgserver_version()}"
        runtime = self.data_dir / "runtime"
        dest = runtime / key
        if dest.is_dir():
            return dest / "pgserver" / "pginstall" / "bin"
        runtime.mkdir(mode=0o755, exist_ok=True)
        os.chmod(runtime, 0o755)
        tmp = runtime / f".{key}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)  # a copy interrupted by a crash
        # Mirror the wheel's layout: the binaries' RPATH is $ORIGIN/../../../pgserver.libs
        # and postgres finds lib/ and share/ relative to its own bin/.
        for part in ("bin", "lib", "share"):
            shutil.copytree(
                pkg / "pginstall" / part,
                tmp / "pgserver" / "pginstall" / part,
                symlinks=True,
                ignore=shutil.ignore_patterns("*.a", "pkgconfig"),
            )
        if (pkg.parent / "pgserver.libs").is_dir():
            shutil.copytree(pkg.parent / "pgserver.libs", tmp / "pgserver.libs", symlinks=True)
        _make_world_readable(tmp)
        bindir = tmp / "pgserver" / "pginstall" / "bin"
        for exe in ("postgres", "initdb", "pg_ctl"):
            code, out = self._run([str(bindir / exe), "--version"], timeout=30, bindir=bindir)
            if code != 0 or "PostgreSQL" not in out:
                raise EmbeddedPostgresError(f"copied {exe} does not run as {self._account.name}: {out}")
        os.rename(tmp, dest)
        log.info("copied PostgreSQL binaries to %s", dest)
        return dest / "pgserver" / "pginstall" / "bin"

    def _check_version(self) -> None:
        """Refuse a cluster made by another major version (e.g. after a pgserver upgrade)."""
        code, out = self._run([self._exe("postgres"), "--version"], timeout=30)
        if code != 0:
            raise EmbeddedPostgresError(f"postgres does not run: {out.strip()}")
        major = out.split()[-1].split(".")[0]
        try:
            cluster = (self.pgdata / "PG_VERSION").read_text().strip()
        except OSError as exc:
            raise EmbeddedPostgresError(f"{self.pgdata} is not a PostgreSQL cluster: {exc}") from exc
        if cluster != major:
            raise EmbeddedPostgresError(
                f"{self.pgdata} was created by PostgreSQL {cluster}, but the bundled server is {major}; "
                "dump it with the old version and restore, or move the data dir away"
            )

    # -- cluster lifecycle -----------------------------------------------------------

    def _initdb(self, password: str) -> None:
        """Create the cluster in a scratch dir, then rename it: pgdata/ exists only if complete."""
        tmp = self.data_dir / "pgdata.init"
        shutil.rmtree(tmp, ignore_errors=True)  # an initdb interrupted by a crash
        tmp.mkdir(mode=0o700)
        pwfile = self.data_dir / f".initdb-pw-{os.getpid()}"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(password + "\n")
        if self._account is not None:
            os.chown(tmp, self._account.uid, self._account.gid)
            os.chown(pwfile, self._account.uid, self._account.gid)
        try:
            argv = [
                self._exe("initdb"), "-D", str(tmp), "-U", SUPERUSER, f"--pwfile={pwfile}",
                "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-instructions",
            ]  # fmt: skip
            code, out = self._run(argv, timeout=INITDB_TIMEOUT_S)
        finally:
            pwfile.unlink(missing_ok=True)
        if code != 0:
            raise EmbeddedPostgresError(f"initdb failed (exit {code}):\n{_tail(out)}")
        with open(tmp / "postgresql.conf", "a") as fh:
            fh.write(_MANAGED_CONF)
        os.rename(tmp, self.pgdata)
        _fsync_dir(self.data_dir)

    def _running_port(self, password: str) -> int | None:
        """Port of a live postmaster on pgdata that accepts our password, else None."""
        deadline = time.monotonic() + REUSE_WAIT_S
        while True:
            pid, port = _read_pidfile(self.pgdata)
            if pid is None or not _pid_alive(pid):
                return None
            if port is not None and self._query(port, password, "SELECT 1")[0] == 0:
                return port
            # Alive but not (yet) reachable: starting up or recovering after a crash.
            if time.monotonic() > deadline:
                raise EmbeddedPostgresError(
                    f"postmaster (pid {pid}) on {self.pgdata} is running but does not accept "
                    f"connections on 127.0.0.1:{port}\n{self._log_tail()}"
                )
            time.sleep(0.2)

    def _start_postmaster(self) -> int:
        """``pg_ctl start -w`` on a free loopback port; retry another port if it was taken."""
        self._prepare_log()
        last = ""
        for _attempt in range(PORT_ATTEMPTS):
            self._clear_zombie_pidfile()
            port = _free_port()
            offset = self.log_file.stat().st_size
            argv = [
                self._exe("pg_ctl"), "start", "-D", str(self.pgdata), "-l", str(self.log_file),
                "-w", "-t", str(START_TIMEOUT_S), "-o", f"-p {port}",
            ]  # fmt: skip
            code, out = self._run(argv, timeout=START_TIMEOUT_S + 15)
            if code == 0:
                return port
            new_log = _read_from(self.log_file, offset)
            last = f"pg_ctl start failed (exit {code}): {out.strip()}\n{_tail(new_log)}"
            if "Address already in use" in new_log:
                log.info("port %d was taken; retrying with another", port)
                continue
            if "pre-existing shared memory block" in new_log or '"postmaster.pid" already exists' in new_log:
                # Backends of a killed postmaster are still exiting; give them a moment.
                time.sleep(0.5)
                continue
            break
        self._kill_failed_start()
        raise EmbeddedPostgresError(last)

    def _kill_failed_start(self) -> None:
        """After a failed/timed-out ``pg_ctl start``, make sure no half-started server lingers."""
        pid, _ = _read_pidfile(self.pgdata)
        if pid is not None and _pid_alive(pid):
            argv = [self._exe("pg_ctl"), "stop", "-D", str(self.pgdata), "-m", "immediate", "-w", "-t", "10"]
            try:
                self._run(argv, timeout=20)
            except EmbeddedPostgresError:  # the caller raises the start failure itself
                log.exception("could not stop the half-started server on %s", self.pgdata)

    def _stop_postmaster(self) -> None:
        pid, _ = _read_pidfile(self.pgdata)
        if pid is None or not _pid_alive(pid):
            return  # not running (e.g. killed): nothing to stop
        argv = [self._exe("pg_ctl"), "stop", "-D", str(self.pgdata), "-w", "-t", str(STOP_TIMEOUT_S)]
        code, out = self._run([*argv, "-m", "fast"], timeout=STOP_TIMEOUT_S + 15)
        if code == 0 or not _pid_alive(pid):
            return
        # Fast shutdown hung (e.g. a stuck client); immediate skips the checkpoint, and
        # the next start does crash recovery from WAL, so no committed data is lost.
        code, out2 = self._run([*argv, "-m", "immediate"], timeout=STOP_TIMEOUT_S + 15)
        if code != 0 and _pid_alive(pid):
            raise EmbeddedPostgresError(f"pg_ctl stop failed: {out.strip()} / {out2.strip()}\n{self._log_tail()}")

    def _release_user(self) -> None:
        """Drop our shared user lock; stop the postmaster if we were the last user.

        Called with start.lock held, so no other process can join in between.
        """
        if self._users_fd is not None:
            os.close(self._users_fd)
            self._users_fd = None
        probe = self._open_lock(self._users_lock)
        try:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # another process still holds LOCK_SH: leave the server running
            if self._bin is not None:  # None: start failed before anything could run
                self._stop_postmaster()
        finally:
            os.close(probe)

    def _ensure_database(self, port: int, password: str) -> None:
        # DATABASE is a constant identifier; written out literally to keep SQL free of formatting.
        code, out = self._query(port, password, "SELECT 1 FROM pg_database WHERE datname = 'moderation'")
        if code != 0:
            raise EmbeddedPostgresError(f"cannot connect to the embedded server: {out}\n{self._log_tail()}")
        if out.strip() == "1":
            return
        code, out = self._query(port, password, "CREATE DATABASE moderation")
        if code != 0:
            raise EmbeddedPostgresError(f"CREATE DATABASE {DATABASE} failed: {out}\n{self._log_tail()}")

    def _query(self, port: int, password: str, sql: str) -> tuple[int, str]:
        """Run one statement with psql over TCP, as the caller (psql has no root check)."""
        argv = [
            self._exe("psql"), "-X", "-A", "-t", "-q", "-w", "-v", "ON_ERROR_STOP=1",
            "-h", "127.0.0.1", "-p", str(port), "-U", SUPERUSER, "-d", "postgres", "-c", sql,
        ]  # fmt: skip
        env = {"PGPASSWORD": password, "PGCONNECT_TIMEOUT": "5", "PGSSLMODE": "disable"}
        return self._run(argv, timeout=QUERY_TIMEOUT_S, as_server=False, extra_env=env)

    # -- helpers ---------------------------------------------------------------------------

    def _exe(self, name: str) -> str:
        assert self._bin is not None
        return str(self._bin / name)

    def _run(
        self,
        argv: list[str],
        *,
        timeout: float,
        as_server: bool = True,
        extra_env: dict[str, str] | None = None,
        bindir: Path | None = None,
    ) -> tuple[int, str]:
        """Run a PostgreSQL program; as root, as the server account with no extra groups."""
        bindir = bindir or self._bin
        # A fixed environment: no PG* variables or locale settings leak in from the caller,
        # and messages stay in English so we can recognise "Address already in use".
        env = {"PATH": f"{bindir}:/usr/bin:/bin", "LANG": "C", "LC_ALL": "C", **(extra_env or {})}
        kwargs: dict[str, Any] = {}
        if as_server and self._account is not None:
            kwargs = {"user": self._account.uid, "group": self._account.gid, "extra_groups": []}
        # Output goes to a file, not a pipe: a daemonised postmaster that inherited a pipe
        # would keep it open and make us wait for EOF forever.
        with tempfile.TemporaryFile("w+") as out:
            try:
                proc = subprocess.run(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=self.data_dir,
                    timeout=timeout,
                    check=False,
                    **kwargs,
                )
            except subprocess.TimeoutExpired:
                out.seek(0)
                raise EmbeddedPostgresError(
                    f"{Path(argv[0]).name} timed out after {timeout:.0f}s: {_tail(out.read())}\n{self._log_tail()}"
                ) from None
            except OSError as exc:
                raise EmbeddedPostgresError(f"cannot run {argv[0]}: {exc}") from exc
            out.seek(0)
            return proc.returncode, out.read()

    def _prepare_log(self) -> None:
        """Rotate a large log (only while no server writes it) and let the server append."""
        if self.log_file.exists() and self.log_file.stat().st_size > LOG_ROTATE_BYTES:
            os.replace(self.log_file, self.log_file.with_suffix(".log.1"))
        fd = os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.close(fd)
        if self._account is not None:
            os.chown(self.log_file, self._account.uid, self._account.gid)

    def _log_tail(self) -> str:
        try:
            text = _read_from(self.log_file, max(0, self.log_file.stat().st_size - 4096))
        except OSError:
            return "(no server log)"
        return f"server log ({self.log_file}), last lines:\n{_tail(text)}"

    def _clear_zombie_pidfile(self) -> None:
        """Remove postmaster.pid if its process is a zombie.

        Postgres treats a pid that kill(pid, 0) reaches as a live postmaster and refuses
        to start; an unreaped zombie (e.g. under an init that does not reap) is such a pid.
        The shared-memory interlock, keyed on pgdata's inode, still guards against orphaned
        backends, so removing the file is safe.
        """
        pid, _ = _read_pidfile(self.pgdata)
        if pid is not None and _proc_state(pid) in ("Z", "X"):
            (self.pgdata / "postmaster.pid").unlink(missing_ok=True)

    @contextmanager
    def _flock(self, path: Path, op: int) -> Iterator[int]:
        fd = self._open_lock(path)
        try:
            self._lock_fd(fd, op, path)
            yield fd
        finally:
            os.close(fd)  # closing drops the lock

    def _open_lock(self, path: Path) -> int:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    @staticmethod
    def _lock_fd(fd: int, op: int, path: Path) -> None:
        """flock with a deadline (flock itself cannot time out)."""
        deadline = time.monotonic() + LOCK_TIMEOUT_S
        while True:
            try:
                fcntl.flock(fd, op | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise EmbeddedPostgresError(f"timed out after {LOCK_TIMEOUT_S:.0f}s waiting for {path}") from None
                time.sleep(0.05)


# -- module helpers (pure functions, no state) ------------------------------------------


def _pgserver_dir() -> Path:
    """The installed pgserver package dir, found without importing it (its import has side effects)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError("pgserver is not installed (pip install pgserver==0.1.4)")
    path = Path(next(iter(spec.submodule_search_locations)))
    if not (path / "pginstall" / "bin" / "postgres").exists():
        raise EmbeddedPostgresError(f"no PostgreSQL binaries in {path / 'pginstall'}")
    return path


def _pgserver_version() -> str:
    try:
        return metadata.version("pgserver")
    except metadata.PackageNotFoundError:
        st = (_pgserver_dir() / "pginstall" / "bin" / "postgres").stat()
        return f"unknown-{st.st_size}-{int(st.st_mtime)}"


def _can_traverse(st: os.stat_result, account: _Account) -> bool:
    """Whether ``account`` (primary group only: we drop supplementary groups) may enter a dir."""
    if st.st_uid == account.uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid == account.gid:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def _make_world_readable(root: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)
        for name in [*dirnames, *filenames]:
            path = Path(dirpath, name)
            if path.is_symlink() or path.is_dir():
                continue
            executable = path.stat().st_mode & stat.S_IXUSR
            os.chmod(path, 0o755 if executable else 0o644)


def _read_pidfile(pgdata: Path) -> tuple[int | None, int | None]:
    """(pid, port) from postmaster.pid; lines 1 and 4. Either may be None."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except (FileNotFoundError, NotADirectoryError):
        return None, None
    except OSError as exc:
        raise EmbeddedPostgresError(f"cannot read {pgdata / 'postmaster.pid'}: {exc}") from exc

    def field(i: int) -> int | None:
        try:
            return int(lines[i].strip())
        except (IndexError, ValueError):
            return None  # partly written by a starting postmaster

    pid = field(0)
    return (abs(pid) if pid is not None else None), field(3)


def _proc_state(pid: int) -> str | None:
    """Linux process state letter (R, S, Z, ...), or None if unknown."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat_line.rsplit(")", 1)[-1].split()[0]


def _pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a running (non-zombie) process we could signal."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # another user's process: not our postmaster, which runs as us/our account
    except OSError as exc:
        if exc.errno == errno.ESRCH:
            return False
        raise
    return _proc_state(pid) not in ("Z", "X")


def _free_port() -> int:
    """A currently free loopback port (it may be taken before postgres binds: we retry)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _read_from(path: Path, offset: int) -> str:
    with open(path, "rb") as fh:
        fh.seek(offset)
        return fh.read().decode("utf-8", "replace")


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
