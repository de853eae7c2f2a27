"""Keeps a running instance on the registry's active model, and runs the shadow model.

Each instance LISTENs on ``model_activated`` over a dedicated connection (reconnected when it
drops) and also polls every ``model_poll_s`` seconds, so a lost notification or a listener outage
delays a switch by one poll at most. A new version is fetched, hash-checked, unpacked, loaded and
smoke-tested in a thread; only then does ``Scorer.swap`` replace one reference, so requests in
flight finish on the old model and no request ever sees a half-loaded one. A version that fails
to load is logged and remembered (by version and hash) so it is not retried on every poll; the
old model keeps serving.

The shadow model (at most one) scores comments the active model has just decided, after the
fact, in its own thread: it can never change or delay a decision. Its opinion goes to
``model_shadow_scores``; the registry shows the comparison.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from typing import Any

import asyncpg

from service import registry
from service.db import store
from service.domain.policy import PolicyInput, decide, merge_thresholds
from service.domain.types import LabelThresholds
from service.ml.scorer import ModelLike, Scorer

log = logging.getLogger(__name__)

CHANNEL = "model_activated"
_EPOCH = (dt.datetime(1970, 1, 1, tzinfo=dt.UTC), uuid.UUID(int=0))


class ModelSync:
    """The background task that follows activations and feeds the shadow model."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        dsn: str,
        scorer: Scorer,
        *,
        poll_s: float,
        shadow_batch: int = 50,
        threshold_overrides: dict[str, dict[str, float]] | None = None,
    ) -> None:
        self._pool = pool
        self._dsn = dsn
        self._scorer = scorer
        self._poll_s = poll_s
        self._shadow_batch = shadow_batch
        self._overrides = threshold_overrides or {}
        self._wake = asyncio.Event()
        self._listener: asyncpg.Connection | None = None
        self._failed: set[tuple[str, str | None]] = set()
        self._shadow: ModelLike | None = None
        self._shadow_ref: store.ModelRef | None = None
        self._shadow_cursor: tuple[dt.datetime, uuid.UUID] = _EPOCH
        self._task: asyncio.Task[None] | None = None
        self.swaps = 0

    @property
    def shadow_model(self) -> ModelLike | None:
        return self._shadow

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="model-sync")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close_listener()

    async def _run(self) -> None:
        while True:
            await self._ensure_listener()
            try:
                await self.sync_once()
                await self.score_shadow()
            except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError) as exc:
                log.warning("model sync: database unavailable (%s); retrying", exc.__class__.__name__)
            except Exception:  # never let the follower die: the instance would silently stop switching
                log.exception("model sync: unexpected error")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_s)
            self._wake.clear()

    async def _ensure_listener(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            return
        await self._close_listener()
        try:
            conn = await asyncpg.connect(self._dsn, timeout=5.0)
            await conn.add_listener(CHANNEL, self._notified)
            conn.add_termination_listener(lambda _conn: self._wake.set())
        except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError, TimeoutError) as exc:
            log.warning("model sync: cannot LISTEN (%s); polling every %ss", exc.__class__.__name__, self._poll_s)
            return
        self._listener = conn

    async def _close_listener(self) -> None:
        conn, self._listener = self._listener, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), timeout=5.0)

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        log.info("model sync: notified of %s", payload)
        self._wake.set()

    def wake(self) -> None:
        """Check the registry now (tests and operators; notifications do the same)."""
        self._wake.set()

    async def sync_once(self) -> None:
        """Switch to the registry's active model and load its shadow model, if they changed."""
        async with self._pool.acquire() as conn:
            active = await store.get_active_model_version(conn)
            shadow = await store.get_shadow_model_version(conn)
        if active is not None and active.version != self._scorer.model.version:
            model = await self._load(active)
            if model is not None:
                previous = self._scorer.model.version
                self._scorer.swap(model)
                self.swaps += 1
                log.info("model sync: now serving %s (was %s)", model.version, previous)
        if shadow != self._shadow_ref:
            self._shadow = await self._load(shadow) if shadow is not None else None
            self._shadow_ref = shadow if self._shadow is not None else None
            if self._shadow is not None:
                # Compare on traffic from now on; history was decided by other models' rules.
                async with self._pool.acquire() as conn:
                    self._shadow_cursor = await store.latest_comment_cursor(conn) or _EPOCH
                log.info("model sync: shadow model %s scoring live traffic", self._shadow.version)

    async def _load(self, ref: store.ModelRef) -> ModelLike | None:
        key = (ref.version, ref.artifact_sha256)
        if key in self._failed:
            return None
        try:
            return await registry.fetch_model(self._pool, ref)
        except registry.ArtifactError as exc:
            self._failed.add(key)
            log.error("model sync: version %s refused, keeping %s: %s", ref.version, self._scorer.model.version, exc)
            return None

    async def score_shadow(self) -> None:
        shadow, ref = self._shadow, self._shadow_ref
        if shadow is None or ref is None:
            return
        active = self._scorer.model.version
        async with self._pool.acquire() as conn:
            batch = await store.list_comments_after(conn, self._shadow_cursor, active, self._shadow_batch)
        if not batch:
            return
        texts = [c.text for c in batch]
        probs, named = await asyncio.to_thread(shadow.score_array_and_name, texts)
        thresholds = _thresholds(shadow, self._overrides)
        async with self._pool.acquire() as conn:
            for comment, row, group in zip(batch, probs, named, strict=True):
                rounded = {label: round(float(p), 4) for label, p in zip(shadow.labels, row, strict=True)}
                decision = decide(PolicyInput(scores=rounded, thresholds=thresholds, names_group=bool(group)))
                delta = max(
                    (abs(rounded.get(label, 0.0) - comment.scores.get(label, 0.0)) for label in rounded), default=0.0
                )
                await store.insert_shadow_score(
                    conn,
                    model_version=ref.version,
                    comment_id=comment.id,
                    active_version=comment.model_version,
                    active_status=comment.status,
                    shadow_status=decision.status.value,
                    active_scores=comment.scores,
                    shadow_scores=rounded,
                    max_score_delta=delta,
                )
        self._shadow_cursor = (batch[-1].created_at, batch[-1].id)
        if len(batch) == self._shadow_batch:
            self._wake.set()  # more to catch up on


def _thresholds(model: ModelLike, overrides: dict[str, dict[str, float]]) -> dict[str, LabelThresholds]:
    base = {
        label: LabelThresholds(review=float(t.review), reject=float(t.reject)) for label, t in model.thresholds.items()
    }
    return merge_thresholds(base, overrides)
