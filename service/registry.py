"""The model registry: versions stored in PostgreSQL (artifact bytes + manifest + state) so every
instance can load them; upload, activation, rollback and shadow mode.

State machine: ``candidate`` → ``active`` (by activation or a passed gate) → ``retired`` (when
another becomes active); ``candidate`` → ``rejected`` (by the gate, with the reason). Any
retired or candidate version can be activated again (that is the rollback); a rejected one only
with ``force``, so overriding the gate is a deliberate, recorded act. Every activation sends
``NOTIFY model_activated`` inside its transaction, so instances hear of it only once committed.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from service.db import store
from service.domain.types import Principal
from service.errors import Conflict, InvalidModel, NotFound
from service.ml.scorer import ModelLike, load_model_from, model_manifest
from service.settings import Settings

log = logging.getLogger(__name__)

STATES = ("candidate", "active", "retired", "rejected")


class ArtifactError(Exception):
    """A stored or uploaded artifact cannot be used; the message says why."""


@dataclass(frozen=True)
class LoadedArtifact:
    model: ModelLike
    data: bytes
    sha256: str


def load_artifact(data: bytes, expected_sha256: str | None = None) -> LoadedArtifact:
    """Verify, unpack and load an artifact archive (blocking: run it in a thread).

    The archive's hash must match the recorded one; ``load_model`` then checks every file's hash
    against the manifest and smoke-tests the model. The stored form is the canonical re-pack.
    """
    from classifier import ModelLoadError
    from classifier.registry_format import ArchiveError, pack_artifact, unpack_artifact

    if expected_sha256 is not None and hashlib.sha256(data).hexdigest() != expected_sha256:
        raise ArtifactError("artifact bytes do not match the recorded sha256")
    with tempfile.TemporaryDirectory(prefix="moderation-model-") as tmp:
        directory = Path(tmp) / "artifact"
        try:
            unpack_artifact(data, directory)
            model = load_model_from(directory)
        except (ArchiveError, ModelLoadError) as exc:
            raise ArtifactError(str(exc)) from exc
        packed = pack_artifact(directory)
    return LoadedArtifact(model, packed.data, packed.sha256)


def pack_directory(directory: Path) -> tuple[bytes, str]:
    """The registry form of an artifact directory and its sha256."""
    from classifier.registry_format import pack_artifact

    packed = pack_artifact(directory)
    return packed.data, packed.sha256


async def fetch_model(pool: asyncpg.Pool, ref: store.ModelRef) -> ModelLike:
    """Load a registered version from the registry, verifying its hash; raises ArtifactError."""
    async with pool.acquire() as conn:
        found = await store.get_model_artifact(conn, ref.version)
    if found is None or found.artifact is None:
        raise ArtifactError(f"version {ref.version} has no stored artifact")
    loaded = await asyncio.to_thread(load_artifact, found.artifact, found.artifact_sha256)
    if loaded.model.version != ref.version:
        raise ArtifactError(f"artifact of {ref.version} holds model {loaded.model.version}")
    return loaded.model


async def serving_model(pool: asyncpg.Pool, settings: Settings) -> ModelLike:
    """The model an instance starts with: the registry's active version, or the bundled one.

    The bundled model (``settings.model_path`` or the package default) is always registered with
    its artifact, so other instances can load it too; it becomes active only on an empty registry.
    """
    bundled = await asyncio.to_thread(load_model_from, settings.model_path)
    try:
        data, sha = await asyncio.to_thread(pack_directory, _model_directory(settings))
        async with pool.acquire() as conn:
            await store.register_bundled_model_version(conn, bundled.version, model_manifest(bundled), data, sha)
            active = await store.get_active_model_version(conn)
    except (asyncpg.PostgresError, OSError) as exc:  # scoring works without the registry
        log.warning("model registry unavailable (%s); serving the bundled model", exc.__class__.__name__)
        return bundled
    if active is None or active.version == bundled.version:
        return bundled
    try:
        return await fetch_model(pool, active)
    except ArtifactError as exc:
        log.error("active model %s cannot be loaded (%s); serving the bundled %s", active.version, exc, bundled.version)
        return bundled


def _model_directory(settings: Settings) -> Path:
    from classifier import default_model_path

    return settings.model_path or default_model_path()


async def list_models(pool: asyncpg.Pool, version: str | None = None) -> list[store.StoredModelVersion]:
    async with pool.acquire() as conn:
        return await store.list_model_versions(conn, version)


async def get_model(pool: asyncpg.Pool, version: str) -> store.StoredModelVersion:
    found = await list_models(pool, version)
    if not found:
        raise NotFound("no such model version")
    return found[0]


async def upload_model(
    pool: asyncpg.Pool, principal: Principal, data: bytes, *, serving: ModelLike, settings: Settings
) -> store.StoredModelVersion:
    """Validate and smoke-test an uploaded archive, then register it as a candidate.

    The gate's behavioural-canary rule applies (``MODERATION_RETRAIN_CANARIES``), against the
    model this instance serves: an upload that gets a canary wrong that the served model decides
    right, its margin down by more than chance moves it (or more such canaries than chance flips),
    is registered as rejected, with the canaries named, and activating it
    takes ``force``, as for a retrain the gate refused. There are no labels to measure it on.
    """
    from service.retraining import check_upload

    try:
        loaded = await asyncio.to_thread(load_artifact, data)
    except ArtifactError as exc:
        raise InvalidModel(f"artifact refused: {exc}") from None
    gate, evaluation = await asyncio.to_thread(check_upload, loaded.model, serving, settings)
    reason = f"uploaded by {principal.name}" + ("" if gate.passed else f"; {gate.summary()}")
    async with pool.acquire() as conn:
        created = await store.insert_model_version(
            conn,
            version=loaded.model.version,
            state="candidate" if gate.passed else "rejected",
            manifest=model_manifest(loaded.model),
            artifact=loaded.data,
            sha256=loaded.sha256,
            state_reason=reason,
            origin="upload",
            created_by=principal.name,
            evaluation=evaluation,
        )
    if not created:
        raise Conflict(f"version {loaded.model.version} is registered already")
    log.info("model %s %s", loaded.model.version, reason)
    return await get_model(pool, loaded.model.version)


async def activate_in(conn: store.Conn, version: str, reason: str, *, force: bool = False) -> None:
    """Make ``version`` active inside the caller's transaction and notify every instance at commit."""
    locked = await store.lock_model_version(conn, version)
    if locked is None:
        raise NotFound("no such model version")
    if not locked.has_artifact:
        raise Conflict(f"version {version} has no stored artifact and cannot be served")
    if locked.state == "active":
        return
    if locked.state == "rejected" and not force:
        raise Conflict(f"version {version} was rejected by the gate; activate with force to override")
    await store.retire_active_model_version(conn, f"replaced by {version}")
    await store.activate_model_version(conn, version, reason)
    await store.notify_model_activated(conn, version)


async def activate_model(
    pool: asyncpg.Pool, principal: Principal, version: str, *, reason: str | None, force: bool
) -> store.StoredModelVersion:
    """Activate (or roll back to) a registered version."""
    why = reason or f"activated by {principal.name}"
    async with pool.acquire() as conn, conn.transaction():
        await activate_in(conn, version, why, force=force)
    log.info("model %s activated by %s", version, principal.name)
    return await get_model(pool, version)


async def rollback_model(pool: asyncpg.Pool, principal: Principal) -> store.StoredModelVersion:
    """Activate the version that was active before the current one."""
    versions = await list_models(pool)
    previous = sorted(
        (v for v in versions if v.state == "retired" and v.activated_at is not None and v.artifact_bytes),
        key=lambda v: v.activated_at,  # type: ignore[arg-type,return-value]
    )
    if not previous:
        raise Conflict("no earlier active version to roll back to")
    target = previous[-1].version
    return await activate_model(pool, principal, target, reason=f"rollback by {principal.name}", force=False)


async def set_shadow(pool: asyncpg.Pool, version: str, enabled: bool) -> store.StoredModelVersion:
    """Let a version score live traffic beside the active model (one shadow at a time), or stop it."""
    async with pool.acquire() as conn, conn.transaction():
        locked = await store.lock_model_version(conn, version)
        if locked is None:
            raise NotFound("no such model version")
        if enabled:
            if locked.state == "active":
                raise Conflict("the active version cannot also be the shadow")
            if not locked.has_artifact:
                raise Conflict(f"version {version} has no stored artifact")
            await store.clear_shadow_model_version(conn)
            await store.set_shadow_model_version(conn, version)
        else:
            await store.clear_shadow_model_version(conn)
        await store.notify_model_activated(conn, version)
    return await get_model(pool, version)


def describe(v: store.StoredModelVersion) -> dict[str, Any]:
    """The registry entry as the API shows it (manifest summary, gate report, shadow comparison)."""
    manifest = v.manifest
    return {
        "version": v.version,
        "state": v.state,
        "state_reason": v.state_reason,
        "origin": v.origin,
        "created_by": v.created_by,
        "created_at": v.created_at,
        "activated_at": v.activated_at,
        "artifact_sha256": v.artifact_sha256,
        "artifact_bytes": v.artifact_bytes,
        "recipe": manifest.get("recipe"),
        "data_sources": [
            {"name": s.get("name"), "rows": s.get("rows"), "files": s.get("files", [])}
            for s in manifest.get("data_sources", [])
        ],
        "library_versions": manifest.get("library_versions", {}),
        "thresholds": manifest.get("thresholds", {}),
        "metrics": manifest.get("metrics", {}),
        "evaluation": v.evaluation,
        "shadow": v.shadow,
        "shadow_comparison": {
            "compared": v.compared,
            "agreed": v.agreed,
            "agreement": round(v.agreed / v.compared, 4) if v.compared else None,
            "shadow_stricter": v.shadow_stricter,
            "shadow_laxer": v.shadow_laxer,
            "mean_max_score_delta": round(v.mean_max_delta, 4) if v.mean_max_delta is not None else None,
        },
    }
