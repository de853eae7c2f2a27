"""``moderation serve`` as a real process on the embedded PostgreSQL, driven over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from pydantic import SecretStr

from service.app import create_app
from service.domain.types import Role
from service.keys import create_key
from service.settings import REPO_ROOT, Settings
from tests.helpers import server_dir

MODERATION = str(Path(sys.executable).with_name("moderation"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli_env(data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODERATION_")}
    env["MODERATION_DATA_DIR"] = str(data_dir)
    env["MODERATION_LOG_LEVEL"] = "INFO"
    env.update(extra or {})
    return env


def run_cli(
    data_dir: Path, *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MODERATION, *args], env=cli_env(data_dir, env), capture_output=True, text=True, timeout=timeout, check=False
    )


@dataclass
class Server:
    url: str
    data_dir: Path
    process: subprocess.Popen[str]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode


# free_port() closes its socket before the server binds: another process's outgoing connection
# (a test's database client) may take the port in between. The server then exits at once.
PORT_TAKEN = "address already in use"


def start_server(
    data_dir: Path, log_path: Path, timeout: float = 90, env: dict[str, str] | None = None
) -> Server:
    """``moderation serve`` on a free port; ``env`` adds MODERATION_* settings (e.g. a DATABASE_URL).
    A port taken between choosing and binding it is chosen again (three tries)."""
    for _retry in range(2):
        try:
            return _start_server_once(data_dir, log_path, timeout, env)
        except PortTaken:
            continue
    return _start_server_once(data_dir, log_path, timeout, env)


class PortTaken(AssertionError):
    """The server could not bind the port chosen for it."""


def _start_server_once(data_dir: Path, log_path: Path, timeout: float, env: dict[str, str] | None) -> Server:
    port = free_port()
    start = log_path.stat().st_size if log_path.exists() else 0
    log = log_path.open("a")
    process = subprocess.Popen(
        [MODERATION, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=cli_env(data_dir, env),
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = Server(f"http://127.0.0.1:{port}", data_dir, process, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            if PORT_TAKEN in server.log()[start:]:
                raise PortTaken(f"port {port} was taken before the server bound it:\n{server.log()}")
            raise AssertionError(f"server exited with {process.returncode}:\n{server.log()}")
        try:
            with urllib.request.urlopen(server.url + "/readyz", timeout=2) as resp:
                if resp.status == 200:
                    return server
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    raise AssertionError(f"server not ready in {timeout}s:\n{server.log()}")


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """The service's MODERATION_DATA_DIR: its embedded PostgreSQL lives here."""
    with server_dir("e2e") as path:
        path.mkdir()
        yield path


@pytest.fixture
def server(data_dir: Path) -> Iterator[Server]:
    srv = start_server(data_dir, data_dir / "server.log")
    try:
        yield srv
    finally:
        srv.stop()


# The moderator page's browser tests (Chromium and Firefox) share these.
ARTIFACTS = REPO_ROOT / "test-artifacts" / "moderator-page"


@pytest.fixture
async def base_url(db_dsn: str) -> AsyncIterator[str]:
    """The whole app (create_app, as in production) served on a real port."""
    settings = Settings(database_url=SecretStr(db_dsn), review_lease_s=120, queue_snapshot_interval_s=0)
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def mod_keys(conn: asyncpg.Connection) -> dict[str, str]:
    return {
        name: (await create_key(conn, name=name, role=role)).secret
        for name, role in [
            ("alice", Role.MODERATOR),
            ("bob", Role.MODERATOR),
            ("ops", Role.ADMIN),
            ("website", Role.SUBMITTER),
        ]
    }
