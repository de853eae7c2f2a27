"""Scoring off the event loop, with the current model held behind one swappable reference."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from service.domain.policy import merge_thresholds
from service.domain.types import LabelThresholds

log = logging.getLogger(__name__)


class SpanLike(Protocol):
    start: int
    end: int
    label: str
    weight: float


class ThresholdsLike(Protocol):
    review: float
    reject: float


class ModelLike(Protocol):
    """What the service needs of a classifier model (see ``classifier.model``)."""

    version: str
    labels: Sequence[str]

    @property
    def thresholds(self) -> Mapping[str, ThresholdsLike]: ...

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]: ...

    def explain(
        self, text: str, scores: dict[str, float] | None = None, top_k: int = 8
    ) -> Sequence[SpanLike]: ...


@dataclass(frozen=True)
class Scored:
    scores: dict[str, float]
    spans: list[dict[str, Any]]
    model_version: str


def load_model_from(path: Path | None) -> ModelLike:
    """Load the model at ``path`` (default: the bundled default model); raises on any problem."""
    from classifier import default_model_path, load_model

    return load_model(path or default_model_path())


def model_manifest(model: ModelLike) -> dict[str, Any]:
    manifest = getattr(model, "manifest", None)
    if manifest is None:
        return {"version": model.version}
    dump = getattr(manifest, "model_dump", None)
    return dump(mode="json") if dump else dict(manifest)


class Scorer:
    """Holds the current model; scores in a worker thread so the event loop keeps serving."""

    def __init__(
        self,
        model: ModelLike,
        *,
        threshold_overrides: Mapping[str, Mapping[str, float]] | None = None,
        workers: int = 1,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        self._model = model
        self._on_batch = on_batch  # metrics hook: (texts in the batch, seconds the model took)
        self._overrides = dict(threshold_overrides or {})
        self._thresholds = self._merge(model)
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scorer")

    def _merge(self, model: ModelLike) -> dict[str, LabelThresholds]:
        base = {
            label: LabelThresholds(review=float(t.review), reject=float(t.reject))
            for label, t in model.thresholds.items()
        }
        return merge_thresholds(base, self._overrides)

    @property
    def model(self) -> ModelLike:
        return self._model

    @property
    def thresholds(self) -> dict[str, LabelThresholds]:
        return self._thresholds

    def swap(self, model: ModelLike) -> None:
        """Make ``model`` current. One reference assignment: requests see the old or the new, never a mix."""
        thresholds = self._merge(model)
        self._model, self._thresholds = model, thresholds

    async def score(self, text: str) -> Scored:
        """Scores of one text (no spans)."""
        model = self._model
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        (scores,) = await loop.run_in_executor(self._executor, model.score, [text])
        if self._on_batch is not None:
            self._on_batch(1, time.perf_counter() - started)
        return Scored(_rounded(scores), [], model.version)

    async def explain(self, text: str, scored: Scored) -> list[dict[str, Any]]:
        """The character spans that drove the scores, from the same model that scored them."""
        model = self._model
        if model.version != scored.model_version:
            return []
        loop = asyncio.get_running_loop()
        spans = await loop.run_in_executor(self._executor, model.explain, text, scored.scores)
        return [
            {"start": s.start, "end": s.end, "label": s.label, "weight": round(float(s.weight), 4)}
            for s in spans
        ]

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=False)


def _rounded(scores: Mapping[str, float]) -> dict[str, float]:
    return {label: round(float(p), 4) for label, p in scores.items()}
