"""The model registry over HTTP: roles, upload validation, activation, rollback, hot swap under
load, a broken artifact never swapped in, and shadow mode."""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import numpy as np
import pytest
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from service.app import create_app
from service.appkeys import MODEL_SYNC
from service.domain.types import Role
from service.settings import RateLimit, Settings
from tests.helpers import CIVIL, Keys, assert_problem, auth
from tests.learning_fixtures import TEST_THRESHOLDS, train_base_model, write_base_table

TAR = {"Content-Type": "application/x-tar"}


@pytest.fixture(scope="session")
def site_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, bytes]:
    """A second loadable model (trained on the small generated base set): version and archive."""
    workdir = tmp_path_factory.mktemp("site-model")
    return train_base_model(workdir, write_base_table(workdir / "base.jsonl"))


@pytest.fixture
async def client(db_dsn: str, aiohttp_client: Callable[..., Awaitable[TestClient]]) -> TestClient:
    # The swap-under-load test posts as fast as it can through one key: lift that key's rate
    # limit (per-key limits are tested in test_rate_limits.py), or it measures 429s instead of swaps.
    # These tests are about the registry's mechanics, with a toy second model that gets dozens of
    # behavioural canaries wrong: the canary check on uploads is off here and tested on its own.
    unlimited = {Role.SUBMITTER: RateLimit(per_second=1e6, burst=1_000_000)}
    settings = Settings(
        database_url=SecretStr(db_dsn),
        thresholds=TEST_THRESHOLDS,
        model_poll_s=30.0,
        rate_limits=unlimited,
        retrain_canaries=False,
    )
    return await aiohttp_client(create_app(settings))


@pytest.fixture
async def checked_client(db_dsn: str, aiohttp_client: Callable[..., Awaitable[TestClient]]) -> TestClient:
    """Uploads checked against the behavioural canaries, as shipped, on a site's own cut-offs (both
    models decide on them; on its own, the toy model sends nearly everything to review)."""
    settings = Settings(database_url=SecretStr(db_dsn), thresholds=TEST_THRESHOLDS, model_poll_s=30.0)
    return await aiohttp_client(create_app(settings))


async def serving(client: TestClient) -> str:
    return str((await (await client.get("/readyz")).json())["model_version"])


async def wait_serving(client: TestClient, version: str, deadline_s: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    while await serving(client) != version:
        assert loop.time() < end, f"never switched to {version}"
        await asyncio.sleep(0.05)


async def upload(client: TestClient, key: str, archive: bytes) -> tuple[int, dict]:
    resp = await client.post("/v1/models", data=archive, headers={**auth(key), **TAR})
    return resp.status, await resp.json()


async def activate(client: TestClient, key: str, version: str, **body: object) -> tuple[int, dict]:
    resp = await client.post(f"/v1/models/{version}/activate", json=body, headers=auth(key))
    return resp.status, await resp.json()


def tar_of(members: dict[str, bytes], symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
        if symlink:
            info = tarfile.TarInfo(symlink)
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            tar.addfile(info)
    return buffer.getvalue()


async def test_registry_lists_the_bundled_model_as_active_for_trainers_and_admins(
    client: TestClient, keys: Keys
) -> None:
    for key in (keys.trainer, keys.admin):
        resp = await client.get("/v1/models", headers=auth(key))
        assert resp.status == 200
        body = await resp.json()
        (active,) = [m for m in body["items"] if m["state"] == "active"]
        assert active["origin"] == "bundled" and active["artifact_bytes"] > 0
        assert len(active["artifact_sha256"]) == 64 and active["thresholds"] and active["library_versions"]
        assert body["serving"] == active["version"]
    for key in (keys.moderator, keys.submitter):
        resp = await client.get("/v1/models", headers=auth(key))
        assert_problem(resp.status, resp.content_type, await resp.json(), 403, "forbidden")


@pytest.mark.parametrize(
    ("archive", "why"),
    [
        (b"not an archive at all", "not a tar or zip"),
        (tar_of({"../manifest.json": b"{}", "arrays.npz": b""}), "leaves the archive"),
        (tar_of({"/etc/manifest.json": b"{}", "arrays.npz": b""}), "absolute"),
        (tar_of({"manifest.json": b"{}"}, symlink="arrays.npz"), "not a regular file"),
        (tar_of({"manifest.json": b"{}", "arrays.npz": b"", "model.pkl": b"x"}), "unexpected member"),
        (tar_of({"manifest.json": b"{}", "arrays.npz": b""}), "invalid manifest"),
    ],
)
async def test_uploads_are_validated_before_anything_is_stored(
    client: TestClient, keys: Keys, conn: asyncpg.Connection, archive: bytes, why: str
) -> None:
    status, body = await upload(client, keys.trainer, archive)
    assert_problem(status, "application/problem+json", body, 422, "invalid_model")
    assert why in body["detail"]
    assert await conn.fetchval("SELECT count(*) FROM model_versions WHERE origin = 'upload'") == 0


async def test_upload_activate_rollback_and_roles(
    client: TestClient, keys: Keys, site_model: tuple[str, bytes], conn: asyncpg.Connection
) -> None:
    version, archive = site_model
    bundled = await serving(client)
    status, body = await upload(client, keys.moderator, archive)
    assert status == 403
    status, body = await upload(client, keys.trainer, archive)
    assert status == 201, body
    assert (body["state"], body["origin"], body["created_by"]) == ("candidate", "upload", "trainer")
    status, body = await upload(client, keys.trainer, archive)
    assert_problem(status, "application/problem+json", body, 409, "conflict")

    status, body = await activate(client, keys.trainer, version, reason="better on our comments")
    assert status == 200 and body["state"] == "active" and body["state_reason"] == "better on our comments"
    await wait_serving(client, version)
    states = dict(await conn.fetch("SELECT version, state FROM model_versions"))
    assert states == {version: "active", bundled: "retired"}

    resp = await client.post("/v1/models/rollback", headers=auth(keys.admin))
    assert resp.status == 200 and (await resp.json())["version"] == bundled
    await wait_serving(client, bundled)
    # Rollback to any earlier version: activate it by name.
    status, _ = await activate(client, keys.admin, version)
    assert status == 200
    await wait_serving(client, version)
    status, body = await activate(client, keys.admin, "no-such-version")
    assert_problem(status, "application/problem+json", body, 404, "not_found")


async def test_an_upload_that_breaks_canaries_the_served_model_keeps_needs_force(
    checked_client: TestClient, keys: Keys, site_model: tuple[str, bytes]
) -> None:
    """The toy model (trained on the 1,000-row generated table) approves attacks the bundled
    default holds for a human: it is registered, as rejected, with the canaries named."""
    client = checked_client
    version, archive = site_model
    status, body = await upload(client, keys.trainer, archive)
    assert status == 201, body
    assert body["state"] == "rejected"
    assert body["state_reason"].startswith(
        "uploaded by trainer; gate failed: behavioural canaries the active model gets right, the candidate gets "
        "wrong (their margin down by 1.0 or more in log-odds): "
    )
    canaries = body["evaluation"]["canaries"]
    assert len(canaries["candidate"]) > 10 and canaries["active"] is not None
    assert "an attack approved (threat): 'I will beat you to death.'" in canaries["candidate"]
    assert body["evaluation"]["gate"]["passed"] is False
    status, body = await activate(client, keys.trainer, version)
    assert_problem(status, "application/problem+json", body, 409, "conflict")
    assert "force" in body["detail"]
    assert await serving(client) != version
    status, body = await activate(client, keys.trainer, version, force=True, reason="we know")
    assert status == 200 and body["state"] == "active"
    await wait_serving(client, version)


async def test_an_upload_that_keeps_the_canaries_is_a_candidate(
    checked_client: TestClient, keys: Keys, tmp_path: Path
) -> None:
    """The bundled default with one cut-off moved a hair (so another version) passes the check."""
    from classifier import default_model_path, load_model
    from classifier.model import ARRAYS_FILE, save_model
    from classifier.registry_format import pack_artifact

    bundled = load_model(default_model_path())
    with np.load(default_model_path() / ARRAYS_FILE, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    fields = bundled.manifest.model_dump(exclude={"version", "files", "smoke_scores"})
    fields["thresholds"]["spam"]["review"] += 1e-6
    copy = save_model(tmp_path / "copy", arrays=arrays, manifest_fields=fields)
    assert copy.version != bundled.version
    status, body = await upload(checked_client, keys.trainer, pack_artifact(tmp_path / "copy").data)
    assert status == 201, body
    assert (body["state"], body["state_reason"]) == ("candidate", "uploaded by trainer")
    canaries = body["evaluation"]["canaries"]
    assert canaries["candidate"] == canaries["active"] and body["evaluation"]["gate"]["passed"] is True


async def test_no_request_fails_while_versions_are_swapped_back_and_forth(
    client: TestClient, keys: Keys, site_model: tuple[str, bytes]
) -> None:
    version, archive = site_model
    bundled = await serving(client)
    assert (await upload(client, keys.trainer, archive))[0] == 201
    stop = asyncio.Event()
    results: list[tuple[int, str | None]] = []

    async def keep_posting(worker: int) -> None:
        i = 0
        while not stop.is_set():
            resp = await client.post(
                "/v1/comments",
                json={"article_id": "a1", "author_id": f"w{worker}-{i}", "text": f"{CIVIL} ({worker}-{i})"},
                headers=auth(keys.submitter),
            )
            results.append((resp.status, (await resp.json()).get("model_version")))
            i += 1

    workers = [asyncio.create_task(keep_posting(w)) for w in range(4)]
    try:
        for target in (version, bundled, version, bundled, version):
            assert (await activate(client, keys.trainer, target))[0] == 200
            await wait_serving(client, target)
            await asyncio.sleep(0.2)  # let traffic run on this version
    finally:
        stop.set()
        await asyncio.gather(*workers)
    assert results and all(status == 201 for status, _ in results), {s for s, _ in results}
    assert {v for _, v in results} == {version, bundled}
    assert client.app[MODEL_SYNC].swaps == 5


async def test_a_broken_artifact_is_never_swapped_in(
    client: TestClient, keys: Keys, site_model: tuple[str, bytes], conn: asyncpg.Connection, caplog
) -> None:
    version, archive = site_model
    bundled = await serving(client)
    assert (await upload(client, keys.trainer, archive))[0] == 201
    # Corrupt the stored bytes (a disk or replication fault): the hash no longer matches.
    await conn.execute("UPDATE model_versions SET artifact = artifact || '\\x00'::bytea WHERE version = $1", version)
    assert (await activate(client, keys.admin, version))[0] == 200
    await client.app[MODEL_SYNC].sync_once()
    assert await serving(client) == bundled
    assert "refused" in caplog.text and version in caplog.text
    resp = await client.post(
        "/v1/comments", json={"article_id": "a1", "author_id": "r", "text": CIVIL}, headers=auth(keys.submitter)
    )
    assert resp.status == 201 and (await resp.json())["model_version"] == bundled


async def test_shadow_model_scores_live_traffic_without_changing_decisions(
    client: TestClient, keys: Keys, site_model: tuple[str, bytes]
) -> None:
    version, archive = site_model
    bundled = await serving(client)
    assert (await upload(client, keys.trainer, archive))[0] == 201
    resp = await client.post(f"/v1/models/{version}/shadow", json={"enabled": True}, headers=auth(keys.trainer))
    assert resp.status == 200 and (await resp.json())["shadow"] is True
    sync = client.app[MODEL_SYNC]
    await sync.sync_once()
    assert sync.shadow_model is not None and sync.shadow_model.version == version
    for i in range(5):
        resp = await client.post(
            "/v1/comments",
            json={"article_id": "a1", "author_id": "r", "text": f"{CIVIL} {i}"},
            headers=auth(keys.submitter),
        )
        assert (await resp.json())["model_version"] == bundled
    await sync.sync_once()
    await sync.score_shadow()
    resp = await client.get(f"/v1/models/{version}", headers=auth(keys.trainer))
    comparison = (await resp.json())["shadow_comparison"]
    assert comparison["compared"] == 5 and comparison["agreement"] is not None
    assert await serving(client) == bundled
    resp = await client.post(f"/v1/models/{bundled}/shadow", json={"enabled": True}, headers=auth(keys.trainer))
    assert resp.status == 409  # the active version cannot also be the shadow


async def test_the_listener_reconnects_after_its_connection_is_killed(
    client: TestClient, keys: Keys, site_model: tuple[str, bytes], conn: asyncpg.Connection
) -> None:
    version, archive = site_model
    assert (await upload(client, keys.trainer, archive))[0] == 201
    killed = await conn.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE datname = current_database() AND query LIKE 'LISTEN %model_activated%'"
    )
    assert killed == 1
    # Polling is 30 s in these tests: a prompt switch proves the listener came back.
    assert (await activate(client, keys.trainer, version))[0] == 200
    await wait_serving(client, version, deadline_s=20.0)


async def test_registry_bodies_never_get_a_500(client: TestClient, keys: Keys) -> None:
    bodies: list[object] = [None, [], "x", 1, {"force": "yes"}, {"reason": 5}, {"enabled": None}, {"extra": 1}]
    for path in ("/v1/models/v1/activate", "/v1/models/v1/shadow"):
        for payload in bodies:
            resp = await client.post(
                path, data=json.dumps(payload), headers={**auth(keys.trainer), "Content-Type": "application/json"}
            )
            assert 400 <= resp.status < 500, (path, payload, resp.status)
    resp = await client.post("/v1/models", data=b"", headers={**auth(keys.trainer), **TAR})
    assert resp.status == 400
    resp = await client.post("/v1/models", data=b"{}", headers={**auth(keys.trainer), "Content-Type": "text/plain"})
    assert resp.status == 415
