"""Acceptance: the service learns a new kind of abuse from its moderators, without a restart.

The running app (aiohttp test client, on a real database) serves a model trained on a small
generated base set; moderators reject a few dozen comments using a slur that model has never
seen; ``moderation retrain`` runs as a real process; the candidate passes the gate and is
promoted; the running app switches on NOTIFY, and a fresh comment of that kind is held or rejected
with the new version on its record. The second test: a deliberately worse candidate (trained on a
rogue moderator's inverted decisions, weighted up) is refused with its reason recorded, and the
active model stays.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from service.app import create_app
from service.domain.types import Role
from service.settings import RateLimit, Settings
from tests.helpers import Keys, auth
from tests.learning_fixtures import (
    FRESH_SLUR_COMMENT,
    TEST_THRESHOLDS,
    civil_comments,
    slur_comments,
    train_base_model,
    write_base_table,
)


@pytest.fixture
async def client(db_dsn: str, aiohttp_client: Callable[..., Awaitable[TestClient]]) -> TestClient:
    # Scripted moderators decide as fast as they can: lift the per-key limits (tested elsewhere).
    unlimited = {role: RateLimit(per_second=1e6, burst=1_000_000) for role in Role}
    settings = Settings(
        database_url=SecretStr(db_dsn), thresholds=TEST_THRESHOLDS, model_poll_s=30.0, rate_limits=unlimited
    )
    return await aiohttp_client(create_app(settings))


@pytest.fixture
def base_table(tmp_path: Path) -> Path:
    return write_base_table(tmp_path / "base.jsonl")


async def serving(client: TestClient) -> str:
    resp = await client.get("/readyz")
    return str((await resp.json())["model_version"])


async def wait_serving(client: TestClient, version: str, deadline_s: float = 60.0) -> None:
    """Poll until the running app serves ``version`` (a generous bound, not a timing assertion)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    while await serving(client) != version:
        assert loop.time() < end, f"the service never switched to {version}"
        await asyncio.sleep(0.1)


async def activate_base_model(client: TestClient, keys: Keys, tmp_path: Path, table: Path) -> str:
    version, archive = await asyncio.to_thread(train_base_model, tmp_path, table)
    resp = await client.post(
        "/v1/models", data=archive, headers={**auth(keys.trainer), "Content-Type": "application/x-tar"}
    )
    assert resp.status == 201, await resp.text()
    # The toy model approves attacks the bundled default holds for a human, so the upload's canary
    # check registers it as rejected (tests/api/test_models.py); the site operator overrides it.
    assert (await resp.json())["state"] == "rejected"
    resp = await client.post(
        f"/v1/models/{version}/activate", json={"reason": "site base", "force": True}, headers=auth(keys.admin)
    )
    assert resp.status == 200, await resp.text()
    await wait_serving(client, version)
    return version


async def post(client: TestClient, keys: Keys, article: str, author: str, text: str) -> dict:
    resp = await client.post(
        "/v1/comments",
        json={"article_id": article, "author_id": author, "text": text},
        headers=auth(keys.submitter),
    )
    assert resp.status == 201, await resp.text()
    return dict(await resp.json())


async def moderate(client: TestClient, keys: Keys, rejected: list[str], approved: list[str]) -> None:
    """Moderators see these comments in a premod queue and decide them."""
    await client.put("/v1/articles/a-premod", json={"mode": "premod"}, headers=auth(keys.admin))
    verdict = {}
    # Interleaved, as a real queue is: the newest labels (held out for evaluation) hold both kinds.
    mixed = [(t, "reject") for t in rejected] + [(t, "approve") for t in approved]
    random.Random(5).shuffle(mixed)
    for i, (text, decision) in enumerate(mixed):
        body = await post(client, keys, "a-premod", f"reader-{i}", text)
        if body["status"] == "pending":  # the model may already reject a few itself
            verdict[body["id"]] = decision
    assert len(verdict) >= 0.8 * (len(rejected) + len(approved))
    resp = await client.post("/v1/review/claim", json={"limit": 100}, headers=auth(keys.moderator))
    items = (await resp.json())["items"]
    assert {i["id"] for i in items} == set(verdict)
    for comment_id, decision in verdict.items():
        resp = await client.post(
            f"/v1/review/{comment_id}/decision",
            json={"decision": decision, "reason": "slur" if decision == "reject" else None},
            headers=auth(keys.moderator),
        )
        assert resp.status == 200, await resp.text()


def retrain(db_dsn: str, table: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MODERATION_")}
    environment.update(
        {
            "MODERATION_DATABASE_URL": db_dsn,
            "MODERATION_RETRAIN_BASE": str(table),
            # The same policy thresholds as the service: the gate judges its automatic decisions.
            "MODERATION_THRESHOLDS": json.dumps(TEST_THRESHOLDS),
            **env,
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "service", "retrain"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize("trainer", ["batch", "streaming"])
async def test_moderators_teach_a_new_slur_and_the_running_service_learns_it(
    client: TestClient, keys: Keys, base_table: Path, tmp_path: Path, db_dsn: str, trainer: str
) -> None:
    base_version = await activate_base_model(client, keys, tmp_path, base_table)
    # The service does not know the new slur: a fresh comment using it is approved.
    before = await post(client, keys, "a-post", "reader-x", FRESH_SLUR_COMMENT)
    assert (before["status"], before["model_version"]) == ("approved", base_version)

    await moderate(client, keys, rejected=slur_comments(36), approved=civil_comments(36))
    # The generated base set (~1,000 rows) is too small to know English: the base model and its
    # candidate get 27 and 40 of the behavioural canaries wrong (the candidate rejects "The judge
    # deserves credit for a careful ruling."), so the canary rule, tested below, refuses it. This
    # test is about learning; the other rules of the gate stay on.
    done = await asyncio.to_thread(
        retrain, db_dsn, base_table, MODERATION_RETRAIN_TRAINER=trainer, MODERATION_RETRAIN_CANARIES="false"
    )
    print(done.stderr)  # the run's log, shown with -s or on failure
    assert done.returncode == 0, done.stdout + done.stderr
    assert "promoted" in done.stdout and "gate: passed" in done.stderr

    resp = await client.get("/v1/models", headers=auth(keys.trainer))
    models = {m["version"]: m for m in (await resp.json())["items"]}
    (new_version,) = [v for v, m in models.items() if m["origin"] == "retrain"]
    new = models[new_version]
    assert new["state"] == "active" and new["evaluation"]["gate"]["passed"]
    assert new["evaluation"]["active_version"] == base_version
    # On the held-out recent labels the old model's automatic decisions let the slur through.
    recent = {who: new["evaluation"][who]["recent_labels"] for who in ("candidate", "active")}
    assert recent["active"]["auto_error_rate"] > recent["candidate"]["auto_error_rate"]
    assert models[base_version]["state"] == "retired"
    assert any(s["name"] == "site" and s["rows"] > 0 for s in new["data_sources"])

    # The running app (never restarted) follows the activation and now holds or rejects the slur.
    await wait_serving(client, new_version)
    after = await post(client, keys, "a-post", "reader-y", FRESH_SLUR_COMMENT)
    assert after["status"] in ("pending", "rejected"), after
    assert after["model_version"] == new_version
    civil = await post(client, keys, "a-post", "reader-z", "Thanks for the reporting on the ferry timetable.")
    assert civil["status"] == "approved"

    # A second run right away has no new labels: nothing to do, a distinct exit code.
    again = await asyncio.to_thread(retrain, db_dsn, base_table)
    assert again.returncode == 5, again.stdout + again.stderr


async def test_a_worse_candidate_is_refused_and_the_active_model_stays(
    client: TestClient, keys: Keys, base_table: Path, tmp_path: Path, db_dsn: str, conn: asyncpg.Connection
) -> None:
    base_version = await activate_base_model(client, keys, tmp_path, base_table)
    await moderate(client, keys, rejected=slur_comments(36), approved=civil_comments(36))
    # A broken data pipeline scrambled the base labels: the candidate is measurably worse on the
    # fixed evaluation set (the clean table's test split), whatever it learned from moderators.
    scrambled = write_base_table(tmp_path / "scrambled.jsonl", scramble_labels=True)
    done = await asyncio.to_thread(retrain, db_dsn, scrambled, MODERATION_RETRAIN_EVAL=str(base_table))
    assert done.returncode == 3, done.stdout + done.stderr

    resp = await client.get("/v1/models", headers=auth(keys.trainer))
    models = {m["version"]: m for m in (await resp.json())["items"]}
    (worse,) = [m for m in models.values() if m["origin"] == "retrain"]
    assert worse["state"] == "rejected"
    assert worse["state_reason"].startswith("retrain run") and "gate failed" in worse["state_reason"]
    assert any("fixed_eval" in r and "ROC AUC" in r for r in worse["evaluation"]["gate"]["reasons"])
    assert models[base_version]["state"] == "active"
    assert await serving(client) == base_version
    run = await conn.fetchrow("SELECT outcome, candidate_version, message FROM retrain_runs ORDER BY id DESC LIMIT 1")
    assert (run["outcome"], run["candidate_version"]) == ("not_promoted", worse["version"])
    assert "gate failed" in run["message"]

    # The gate can be overridden only deliberately.
    resp = await client.post(f"/v1/models/{worse['version']}/activate", json={}, headers=auth(keys.trainer))
    assert resp.status == 409


async def test_a_candidate_that_breaks_canaries_the_active_model_keeps_is_refused(
    client: TestClient, keys: Keys, base_table: Path, db_dsn: str
) -> None:
    """The bundled default is active. A site points the job at a small base table: the candidate
    ranks that table's test split as well as the default does (the AUC rule passes) but approves
    attacks and rejects ordinary comments the default decides right, so it is refused."""
    bundled = await serving(client)
    await moderate(client, keys, rejected=slur_comments(36), approved=civil_comments(36))
    done = await asyncio.to_thread(retrain, db_dsn, base_table)
    print(done.stderr)
    assert done.returncode == 3, done.stdout + done.stderr

    resp = await client.get("/v1/models", headers=auth(keys.trainer))
    models = {m["version"]: m for m in (await resp.json())["items"]}
    (toy,) = [m for m in models.values() if m["origin"] == "retrain"]
    assert toy["state"] == "rejected"
    (reason,) = [r for r in toy["evaluation"]["gate"]["reasons"] if r.startswith("behavioural canaries")]
    assert "an attack approved" in reason or "a benign comment rejected" in reason
    # The report lists what each model gets wrong, and which of the candidate's wrong ones moved by
    # less than the margin (flipped by chance); its other wrong canaries are what the rule refuses.
    canaries = toy["evaluation"]["canaries"]
    spared = set(canaries["active"]) | set(canaries["within_margin"])
    broken = [c for c in canaries["candidate"] if c not in spared]
    assert broken and f"in log-odds): {broken[0]}" in reason
    assert set(canaries["margins"]) == set(canaries["candidate"])
    for c in broken:
        moved = canaries["margins"][c]
        assert moved["candidate"] < 0 <= moved["active"] and moved["active"] - moved["candidate"] >= 1.0
    # And it flips more than the two canaries chance flips. The canary rules were the only failed
    # ones: without them the toy model would have replaced the default.
    flipped = [c for c in canaries["candidate"] if c not in canaries["active"]]
    count = (
        f"{len(flipped)} behavioural canaries the active model gets right, the candidate gets wrong, more than the 2"
    )
    assert len(flipped) > 2 and count in toy["evaluation"]["gate"]["reasons"][1]
    assert len(toy["evaluation"]["gate"]["reasons"]) == 2 and toy["evaluation"]["gate"]["reasons"][0] == reason
    assert models[bundled]["state"] == "active"
    assert await serving(client) == bundled


async def test_a_second_concurrent_run_exits_at_once(db_dsn: str, base_table: Path, conn: asyncpg.Connection) -> None:
    from service.retraining import EXIT_LOCKED, RETRAIN_LOCK_KEY

    assert await conn.fetchval("SELECT pg_try_advisory_lock($1)", RETRAIN_LOCK_KEY)
    done = await asyncio.to_thread(retrain, db_dsn, base_table)
    assert done.returncode == EXIT_LOCKED, done.stdout + done.stderr
    await conn.fetchval("SELECT pg_advisory_unlock($1)", RETRAIN_LOCK_KEY)
    done = await asyncio.to_thread(retrain, db_dsn, base_table)
    assert done.returncode == 5, done.stdout + done.stderr  # no labels at all yet
