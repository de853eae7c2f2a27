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

from service.batching import MicroBatcher
from service.domain.policy import merge_thresholds
from service.domain.types import LabelThresholds

log = logging.getLogger(__name__)


class SpanLike(Protocol):
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def label(self) -> str: ...
    @property
    def weight(self) -> float: ...


class ThresholdsLike(Protocol):
    @property
    def review(self) -> float: ...
    @property
    def reject(self) -> float: ...


class ModelLike(Protocol):
    """What the service needs of a classifier model (see ``classifier.model``)."""

    @property
    def version(self) -> str: ...
    @property
    def labels(self) -> Sequence[str]: ...
    @property
    def thresholds(self) -> Mapping[str, ThresholdsLike]: ...

    def score_explain_and_name(
        self, texts: Sequence[str], top_k: int = 8
    ) -> tuple[list[dict[str, float]], Sequence[Sequence[SpanLike] | None], list[bool]]: ...

    def explain_many(
        self, texts: Sequence[str], scores: Sequence[dict[str, float]] | None = None, top_k: int = 8
    ) -> Sequence[Sequence[SpanLike]]: ...

    def score_array_and_name(self, texts: Sequence[str]) -> tuple[Any, Any]: ...


@dataclass(frozen=True)
class Scored:
    scores: dict[str, float]
    spans: list[dict[str, Any]]
    model_version: str
    # The model flagged the text itself and explained it while scoring: ``spans`` are what
    # ``Scorer.explain`` would give. False: no spans yet (they are computed when needed).
    explained: bool = False
    # The text names an identity group (the model's finding; the policy holds such rejections).
    names_group: bool = False


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
        self._batcher: tuple[asyncio.AbstractEventLoop, MicroBatcher[str, Scored]] | None = None

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

    async def score_many(self, texts: Sequence[str]) -> list[Scored]:
        """Scores of many texts in one model call, all from the same model; the texts the model
        flags itself come explained (most of them are held, and explained anyway: this saves
        featurizing them twice and a second trip to the scoring thread)."""
        if not texts:
            return []
        model = self._model
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        rows, explained, named = await loop.run_in_executor(self._executor, model.score_explain_and_name, list(texts))
        if self._on_batch is not None:
            self._on_batch(len(texts), time.perf_counter() - started)
        return [
            Scored(_rounded(scores), [], model.version, names_group=group)
            if spans is None
            else Scored(_rounded(scores), _span_dicts(spans), model.version, explained=True, names_group=group)
            for scores, spans, group in zip(rows, explained, named, strict=True)
        ]

    async def score(self, text: str) -> Scored:
        """Scores of one text (no spans). Concurrent callers share model calls (micro-batching)."""
        return await self._coalescer().submit(text)

    def _coalescer(self) -> MicroBatcher[str, Scored]:
        # One per event loop: the batcher's futures and semaphore belong to the loop that made them.
        loop = asyncio.get_running_loop()
        if self._batcher is None or self._batcher[0] is not loop:
            self._batcher = (loop, MicroBatcher(self.score_many, max_batch=256, max_concurrent=1))
        return self._batcher[1]

    async def explain(self, text: str, scored: Scored) -> list[dict[str, Any]]:
        """The character spans that drove the scores, from the same model that scored them."""
        (spans,) = await self.explain_many([(text, scored)])
        return spans

    async def explain_many(self, items: Sequence[tuple[str, Scored]]) -> list[list[dict[str, Any]]]:
        """Spans for many (text, scores) pairs in one trip to the scoring thread."""
        model = self._model
        wanted = [(i, text, scored) for i, (text, scored) in enumerate(items) if scored.model_version == model.version]
        out: list[list[dict[str, Any]]] = [[] for _ in items]
        if not wanted:
            return out

        def run() -> Sequence[Sequence[SpanLike]]:
            return model.explain_many([text for _, text, _ in wanted], [scored.scores for _, _, scored in wanted])

        loop = asyncio.get_running_loop()
        for (i, _, _), spans in zip(wanted, await loop.run_in_executor(self._executor, run), strict=True):
            out[i] = _span_dicts(spans)
        return out

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=False)


def _span_dicts(spans: Sequence[SpanLike]) -> list[dict[str, Any]]:
    return [{"start": s.start, "end": s.end, "label": s.label, "weight": round(float(s.weight), 4)} for s in spans]


def _rounded(scores: Mapping[str, float]) -> dict[str, float]:
    return {label: round(float(p), 4) for label, p in scores.items()}
