"""A smoke test of the moderator's page in stock Firefox, driven over WebDriver BiDi.

Playwright needs its own patched Firefox build, which cannot be downloaded here; Firefox 129+
speaks WebDriver BiDi itself, so a websocket is enough. Skips when no Firefox is installed
(``apt-get install firefox-esr``); the Chromium tests are the main browser suite.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.e2e.conftest import ARTIFACTS, free_port
from tests.helpers import HOSTILE, auth, insert_pending

DEADLINE_S = 15.0


def find_firefox() -> str | None:
    for candidate in (os.environ.get("MODERATION_TEST_FIREFOX"), "firefox-esr", "firefox"):
        if candidate and (path := shutil.which(candidate)):
            return path
    return None


class Bidi:
    """The few WebDriver BiDi commands the test needs, on one browsing context."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.context = ""

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        command_id = next(self.ids)
        await self.ws.send_json({"id": command_id, "method": method, "params": params})
        while True:
            message = json.loads((await asyncio.wait_for(self.ws.receive(), DEADLINE_S)).data)
            if message.get("id") == command_id:
                if message.get("type") == "error":
                    raise AssertionError(f"{method}: {message.get('message')}")
                return dict(message["result"])

    async def value(self, expression: str) -> Any:
        result = await self.call(
            "script.evaluate", expression=expression, target={"context": self.context}, awaitPromise=True
        )
        if result.get("type") == "exception":
            raise AssertionError(f"{expression}: {result['exceptionDetails']['text']}")
        return _plain(result["result"])

    async def until(self, expression: str) -> Any:
        """Poll ``expression`` until it is truthy (a condition, not a fixed sleep)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEADLINE_S
        while True:
            value = await self.value(expression)
            if value:
                return value
            if loop.time() > deadline:
                raise AssertionError(f"still falsy after {DEADLINE_S}s: {expression}")
            await asyncio.sleep(0.05)

    async def press(self, key: str) -> None:
        await self.call(
            "input.performActions",
            context=self.context,
            actions=[
                {
                    "type": "key",
                    "id": "kb",
                    "actions": [{"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}],
                }
            ],
        )

    async def screenshot(self, name: str) -> None:
        data = (await self.call("browsingContext.captureScreenshot", context=self.context))["data"]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"{name}.png").write_bytes(base64.b64decode(data))


def _plain(remote: dict[str, Any]) -> Any:
    """A BiDi remote value as a Python value (primitives and arrays, which is all the test reads)."""
    kind = remote["type"]
    if kind in ("undefined", "null"):
        return None
    if kind == "array":
        return [_plain(v) for v in remote["value"]]
    return remote.get("value")


@pytest.fixture
async def firefox(tmp_path: Path) -> AsyncIterator[Bidi]:
    executable = find_firefox()
    if executable is None:
        pytest.skip("no Firefox found (apt-get install firefox-esr); the Chromium tests cover the page")
    port = free_port()
    profile = tmp_path / "profile"
    profile.mkdir()
    process = subprocess.Popen(
        [executable, "--headless", "--no-remote", "--profile", str(profile), "--remote-debugging-port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "MOZ_HEADLESS_WIDTH": "1440", "MOZ_HEADLESS_HEIGHT": "900"},
    )
    try:
        async with aiohttp.ClientSession() as http:
            ws = None
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            while ws is None:
                try:
                    ws = await http.ws_connect(f"ws://127.0.0.1:{port}/session")
                except aiohttp.ClientError:
                    if process.poll() is not None or loop.time() > deadline:
                        raise AssertionError("Firefox did not open its WebDriver BiDi endpoint") from None
                    await asyncio.sleep(0.2)
            bidi = Bidi(ws)
            await bidi.call("session.new", capabilities={})
            bidi.context = (await bidi.call("browsingContext.getTree"))["contexts"][0]["context"]
            yield bidi
            with contextlib.suppress(Exception):
                await bidi.call("session.end")
            await ws.close()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


async def test_firefox_signs_in_shows_highlights_approves_and_keeps_hostile_text_inert(
    firefox: Bidi,
    base_url: str,
    mod_keys: dict[str, str],
    conn: asyncpg.Connection,
) -> None:
    text = "You are a stupid idiot and everyone knows it."
    civil = await insert_pending(
        conn, text=text, author_id="sam", spans=[{"start": 10, "end": 16, "label": "insult", "weight": 0.8}]
    )
    hostile = await insert_pending(conn, text=HOSTILE, author_id="evil")

    await firefox.call("browsingContext.navigate", context=firefox.context, url=f"{base_url}/moderate", wait="complete")
    await firefox.until("!document.getElementById('signin').hidden")
    await firefox.value(
        f"document.getElementById('signin-key').value = {json.dumps(mod_keys['alice'])};"
        " document.getElementById('signin-form').requestSubmit(); true"
    )
    await firefox.until("document.querySelectorAll('#list li').length === 2")
    await firefox.until("document.getElementById('live').dataset.state === 'on'")  # fetch() streaming works
    marks = await firefox.value(
        "[...document.querySelectorAll('#detail .card > .comment-text mark')].map((m) => m.textContent)"
    )
    assert marks == ["stupid"]
    await firefox.screenshot("firefox-01-pending")

    await firefox.press("a")
    await firefox.until(f"!document.querySelector('#list li[data-id=\"{civil.id}\"]')")
    await firefox.until("document.getElementById('toast-text').textContent === 'Approved.'")
    async with aiohttp.ClientSession(base_url) as http:
        async with http.get(f"/v1/comments/{civil.id}", headers=auth(mod_keys["alice"])) as resp:
            assert (await resp.json())["status"] == "approved"

    await firefox.until(f"document.querySelector('#detail .card').dataset.id === '{hostile.id}'")
    shown = await firefox.value("document.querySelector('#detail .card > .comment-text').textContent")
    assert "<script>" in shown and "\u202e" not in shown
    assert await firefox.value("document.querySelectorAll('#detail script, #detail img').length") == 0
    assert await firefox.value("window.__pwned === undefined") is True
    await firefox.screenshot("firefox-02-hostile-inert")
