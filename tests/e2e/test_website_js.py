"""docs/examples/website.js under ``node``: posting to a live service, verifying webhook signatures.

The signatures are made by the service's own signer (``service.domain.webhooks.sign``): HMAC-SHA256
over ``"{timestamp}.{body}"`` with the site's secret, sent as ``X-Moderation-Signature: t=<ts>,v1=<hex>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.domain import webhooks as domain_webhooks
from service.settings import REPO_ROOT
from tests.e2e.conftest import MODERATION, free_port

SNIPPET = REPO_ROOT / "docs" / "examples" / "website.js"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The service's own signer (what the deliverer sends), checked against the scheme by hand."""
    header = domain_webhooks.sign(secret, timestamp, body)
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert header == f"t={timestamp},v1={mac}"
    return header


def node(script: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    assert NODE is not None
    return subprocess.run(
        [NODE, "-e", script], cwd=SNIPPET.parent, env={**os.environ, **(env or {})},
        capture_output=True, text=True, timeout=60, check=False,
    )


@pytest.fixture
def live(db_dsn: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODERATION_", "PROMETHEUS_"))}
    env.update(MODERATION_DATABASE_URL=db_dsn, MODERATION_PORT=str(port))
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen([MODERATION, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, log_path.read_text()
            try:
                with urllib.request.urlopen(url + "/readyz", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.3)
        yield url, env
    finally:
        server.terminate()
        server.wait(30)


def test_post_comment_against_a_live_service(live: tuple[str, dict[str, str]]) -> None:
    url, env = live
    made = subprocess.run(
        [MODERATION, "keys", "create", "--role", "submitter", "--name", "website"],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )
    key = made.stdout.strip().splitlines()[-1]
    script = """
    const { postComment } = require("./website.js");
    (async () => {
      const args = { baseUrl: process.env.MODERATION_URL, apiKey: process.env.MODERATION_KEY,
                     articleId: "js-1", authorId: "reader-js", text: "Thanks, a useful summary.",
                     externalId: "js-c-1" };
      const first = await postComment(args);
      const again = await postComment(args);
      let problem = null;
      try { await postComment({ ...args, apiKey: "cm_wrong" }); } catch (err) { problem = err.problem; }
      console.log(JSON.stringify({ first, again, problem }));
    })().catch((err) => { console.error(err); process.exit(1); });
    """
    done = node(script, {"MODERATION_URL": url, "MODERATION_KEY": key})
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["first"]["status"] == 201 and out["again"]["status"] == 200
    assert out["first"]["comment"]["id"] == out["again"]["comment"]["id"]
    assert out["first"]["comment"]["status"] in ("approved", "rejected", "pending")
    assert out["problem"]["code"] == "unauthorized" and out["problem"]["request_id"]

    cli = subprocess.run(
        [NODE or "node", str(SNIPPET), "Another thoughtful piece."],
        env={**os.environ, "MODERATION_URL": url, "MODERATION_KEY": key},
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.split()[0] == "201"


def test_verify_webhook_signature() -> None:
    secret = "whsec_test_secret"
    body = json.dumps({"type": "comment.approved", "comment": {"id": "c-1", "status": "approved"}}).encode()
    now = int(time.time())
    cases = {
        "good": (sign(secret, now, body), body, True),
        "tampered_body": (sign(secret, now, body), body.replace(b"approved", b"rejected"), False),
        "wrong_secret": (sign("other", now, body), body, False),
        "replayed": (sign(secret, now - 3600, body), body, False),
        "garbage": ("t=abc,v1=zz", body, False),
        "missing_v1": (f"t={now}", body, False),
    }
    payload = {name: [header, raw.decode()] for name, (header, raw, _) in cases.items()}
    script = f"""
    const {{ verifyWebhookSignature }} = require("./website.js");
    const cases = {json.dumps(payload)};
    const out = {{}};
    for (const [name, [header, raw]] of Object.entries(cases)) {{
      out[name] = verifyWebhookSignature({json.dumps(secret)}, header, Buffer.from(raw, "utf8"));
    }}
    out.missing_header = verifyWebhookSignature("s", undefined, Buffer.from("x"));
    console.log(JSON.stringify(out));
    """
    done = node(script)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert results == {**{name: want for name, (_, _, want) in cases.items()}, "missing_header": False}


def test_snippet_is_valid_javascript() -> None:
    assert NODE is not None
    done = subprocess.run([NODE, "--check", str(SNIPPET)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
