"""Key rotation and revocation through the CLI against a running service: the new secret is printed
alone on the last line, the old one stops working (after an optional grace period), and a running
service sees it within its key cache TTL (MODERATION_KEY_CACHE_TTL_S)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp

from tests.e2e.conftest import run_cli, start_server
from tests.helpers import auth

TTL_S = 1.0


async def status_with(http: aiohttp.ClientSession, url: str, key: str) -> int:
    async with http.post(f"{url}/v1/score", json={"text": "hello"}, headers=auth(key)) as resp:
        return resp.status


async def wait_for_status(http: aiohttp.ClientSession, url: str, key: str, want: int, within_s: float) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < within_s:
        if await status_with(http, url, key) == want:
            return time.monotonic() - t0
        await asyncio.sleep(0.1)
    raise AssertionError(f"key did not get {want} within {within_s}s")


def last_line(out: str) -> str:
    line = out.rstrip("\n").splitlines()[-1]
    assert line.startswith("cm_") and " " not in line
    return line


async def test_rotate_and_revoke_reach_a_running_service_within_the_cache_ttl(data_dir: Path) -> None:
    server = start_server(data_dir, data_dir / "server.log", env={"MODERATION_KEY_CACHE_TTL_S": str(TTL_S)})
    try:
        created = run_cli(data_dir, "keys", "create", "--role", "submitter", "--name", "website")
        old = last_line(created.stdout)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            assert await status_with(http, server.url, old) == 200  # now cached by the service

            rotated = run_cli(data_dir, "keys", "rotate", "--name", "website")
            assert rotated.returncode == 0, rotated.stderr
            new = last_line(rotated.stdout)
            assert new != old and old not in rotated.stdout
            assert await status_with(http, server.url, new) == 200
            # The old key dies within the cache TTL (plus polling slack), never later.
            await wait_for_status(http, server.url, old, 401, within_s=TTL_S + 5)

            graced = run_cli(data_dir, "keys", "rotate", "--name", "website", "--grace-seconds", "3600")
            newest = last_line(graced.stdout)
            assert "works until" in graced.stdout
            assert await status_with(http, server.url, newest) == 200
            assert await status_with(http, server.url, new) == 200, "still inside its grace period"
            listed = run_cli(data_dir, "keys", "list").stdout
            assert "expires " in listed and new not in listed and newest not in listed

            assert run_cli(data_dir, "keys", "revoke", "--name", "website").returncode == 0
            for key in (new, newest):
                await wait_for_status(http, server.url, key, 401, within_s=TTL_S + 5)
        missing = run_cli(data_dir, "keys", "rotate", "--name", "website")
        assert missing.returncode == 1 and "no active key" in missing.stderr
    finally:
        assert server.stop() == 0, server.log()
