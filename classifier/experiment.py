"""One fit of a recipe on the fixed split, and the figures the measurement scripts print.

The scripts in ``docs/classifier`` each vary one thing (a weight, a template set, a source) and
compare variants without the full recipe's cost: one fit on the training rows, Platt-calibrated
on the validation rows, no cross-fitting and no thresholds. They share this module so that they
fit, score and measure the same way.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from classifier.evaluate import functional_figures, source_aucs
from classifier.functional import functional_cases
from classifier.labels import LABELS
from classifier.model import Model, linear_logits, prepare_batch
from classifier.train import (
    Recipe,
    Splits,
    calibrated,
    calibrated_logits,
    fit_calibrated,
    raw_logits,
    sample_weights,
)
from classifier.window import WindowScorer, encode_with_identity

__all__ = ["OneFit", "block_logits", "fit_once", "recipe_variant"]

TOXICITY = LABELS.index("toxicity")
CHUNK = 2048


def recipe_variant(base: Recipe, changes: dict[str, Any]) -> Recipe:
    """``base`` with ``changes`` (decoded JSON) applied: objects merge into the field's value
    (``"window"`` into its ``WindowConfig``, ``"source_weights"`` into the dict), lists become
    tuples. Unknown fields are a ValueError."""
    unknown = set(changes) - {f.name for f in fields(Recipe)}
    if unknown:
        raise ValueError(f"not Recipe fields: {', '.join(sorted(unknown))}")
    typed: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "window" and isinstance(value, dict):
            if base.window is None:
                raise ValueError(f"recipe {base.name!r} has no window block to change")
            window: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}
            value = replace(base.window, **window)
        elif isinstance(value, dict):
            value = {**getattr(base, name), **value}
        elif isinstance(value, list):
            value = tuple(value)
        typed[name] = value
    return replace(base, **typed)


@dataclass
class OneFit:
    """A fitted and calibrated variant and the evaluation rows it is measured on."""

    recipe: Recipe
    splits: Splits
    space: Any
    arrays: dict[str, NDArray[Any]]
    sets: dict[str, NDArray[np.int64]]  # "val" and "test" rows of the evaluated sources
    train_rows: NDArray[np.int64]  # the rows it was fitted on (positive weight)
    seconds: float

    def score_prepared(self, prepared: Sequence[str], log_odds: bool = False) -> NDArray[np.float64]:
        """Probabilities (one column per label) of texts already normalized and prepared; with
        ``log_odds``, their calibrated log-odds instead (as :meth:`classifier.Model.logits` gives)."""
        raw = raw_logits(self.arrays, self.space, prepared)
        return calibrated_logits(self.arrays, raw) if log_odds else calibrated(self.arrays, raw)

    def score_texts(self, texts: Sequence[str], log_odds: bool = False) -> NDArray[np.float64]:
        """Probabilities (or log-odds) of raw texts, prepared as the recipe prepares them."""
        prepared = prepare_batch(texts, self.recipe.identity_mask, self.recipe.identity_terms)
        return self.score_prepared(prepared, log_odds)

    def score_rows(self, rows: NDArray[np.int64], log_odds: bool = False) -> NDArray[np.float64]:
        """Probabilities (or log-odds) of rows of the split."""
        return self.score_prepared([self.splits.normalized[i] for i in rows], log_odds)

    def source_aucs(self, set_name: str, sources: Sequence[str]) -> list[float]:
        """Toxicity ROC AUC per source on the ``set_name`` rows (see :func:`classifier.evaluate.source_aucs`)."""
        index = self.sets[set_name]
        return source_aucs(self.splits.data, index, self.score_rows(index)[:, TOXICITY], sources)

    def functional(self) -> dict[str, Any]:
        """The functional suite's figures (:func:`classifier.evaluate.functional_figures`, as the
        report has them, without the counts at a review cut-off: a single fit has none)."""
        cases = functional_cases()
        return functional_figures(cases, self.score_texts([c.text for c in cases]), None)


def fit_once(recipe: Recipe, splits: Splits, eval_sources: Sequence[str] | None = None) -> OneFit:
    """Fit ``recipe`` once on the training rows of its sources (and its templates) in ``splits``
    (from :func:`classifier.train.prepare`), weighted by :func:`classifier.train.sample_weights`,
    calibrated on the validation rows of ``eval_sources`` (default: the recipe's sources)."""
    started = time.perf_counter()
    train = splits.rows("train", sources=(*recipe.sources, "augment"))
    evaluated = recipe.sources if eval_sources is None else eval_sources
    sets = {name: splits.rows(name, sources=evaluated) for name in ("val", "test")}
    weights = sample_weights(splits.data, train, recipe)
    keep = weights > 0
    space, arrays = fit_calibrated(splits, train[keep], weights[keep], sets["val"], recipe)
    return OneFit(recipe, splits, space, arrays, sets, train[keep], time.perf_counter() - started)


def block_logits(
    model: Model, texts: Sequence[str], window: WindowScorer | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """An artifact's uncalibrated logits of prepared ``texts`` split by feature family: the
    n-grams (with the intercept and the identity block), the embedding block's token sum, and the
    window block's (``window``, or the artifact's own when None). Their sum is the artifact's logit."""
    assert model._tokens is not None and model._windows is not None, "the artifact has no window block"
    ngrams, tokens, windows = [], [], []
    block = window or model._windows
    for lo in range(0, len(texts), CHUNK):
        chunk = list(texts[lo : lo + CHUNK])
        batch = model._tokens.tokenizer.encode(chunk)
        matrix = model._features.transform(chunk)
        ngrams.append(linear_logits(matrix, chunk, model._coef, model._intercept, model._identity_coef))
        tokens.append(model._tokens.logits(chunk, batch))
        windows.append(block.logits(block.pool(encode_with_identity(model._tokens.tokenizer, chunk, batch=batch))))
    return np.vstack(ngrams), np.vstack(tokens), np.vstack(windows)
