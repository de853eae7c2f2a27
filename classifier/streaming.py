"""Out-of-core training for large label sets (a million comments on two cores).

The in-memory trainer (:mod:`classifier.train`) builds one sparse matrix of every row — about
700 non-zeros per comment, so 1M comments would need ~8 GB before the solver even starts. This
trainer never holds more than one chunk:

1. the vocabulary (word, bigram and character n-grams hashed to columns, with idf) is chosen on a
   bounded sample (``vocab_rows``), with the same :class:`~classifier.train.NgramTfidf` the
   in-memory recipe uses;
2. the rows stream through in chunks: each chunk is normalized, hashed to its TF-IDF matrix and fed
   to one ``SGDClassifier(loss="log_loss").partial_fit`` per label (rows where that label is not
   annotated are masked, as in :class:`~classifier.train.MaskedMultiLabel`), then dropped;
3. Platt calibration and thresholds are fitted on a held-out calibration set, exactly as the
   in-memory recipe does, and the artifact is written by :func:`classifier.model.save_model` — the
   served model cannot tell which trainer produced it.

Memory is O(vocabulary + one chunk), time is O(rows): one pass over the data.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import SGDClassifier

from classifier.features import CHAR_NGRAMS
from classifier.identity import DEFAULT_TERMS
from classifier.labels import LABELS
from classifier.model import PREPROCESSING_VERSION, DataSource, Model, prepare_batch, save_model
from classifier.thresholds import choose_policy_thresholds
from classifier.train import NgramTfidf, calibrate, calibrated, library_versions, raw_logits

Log = Callable[[str], None]
Chunk = tuple[Sequence[str], NDArray[np.float64], NDArray[np.float64]]  # texts, Y (NaN masked), weights


@dataclass(frozen=True)
class StreamingRecipe:
    name: str = "streaming"
    max_word_features: int = 60_000
    max_char_features: int = 100_000
    min_df_word: int = 3
    min_df_char: int = 5
    alpha: float = 2e-6  # L2 strength per row; one pass over 1M rows needs little regularisation
    identity_mask: bool = True
    identity_terms: str = DEFAULT_TERMS
    approve_error: float = 0.01
    reject_error: float = 0.02
    threshold_confidence: float = 0.95  # see classifier.thresholds
    seed: int = 13


@dataclass
class StreamStats:
    rows: int = 0
    chunks: int = 0
    positives: NDArray[np.int64] = field(default_factory=lambda: np.zeros(len(LABELS), dtype=np.int64))
    seconds_vocabulary: float = 0.0
    seconds_stream: float = 0.0
    seconds_calibrate: float = 0.0


def _prepare(texts: Sequence[str], recipe: StreamingRecipe) -> list[str]:
    return prepare_batch(texts, recipe.identity_mask, recipe.identity_terms)


def train_streaming(
    vocab_texts: Sequence[str],
    chunks: Callable[[], Iterable[Chunk]],
    calib_texts: Sequence[str],
    calib_y: NDArray[np.float64],
    out: Path,
    *,
    recipe: StreamingRecipe = StreamingRecipe(),
    prevalence: NDArray[np.float64] | None = None,
    data_sources: Sequence[DataSource] = (),
    epochs: int = 1,
    threshold_weights: NDArray[np.float64] | None = None,
    log: Log = print,
) -> tuple[Model, StreamStats]:
    """Fit in ``epochs`` passes over ``chunks()`` (one for large data; small sets need several for
    SGD to converge); calibrate on ``calib_*``; save the artifact to ``out``.

    ``prevalence`` (share of positives per label, e.g. from the vocabulary sample) sets balanced
    class weights, as the in-memory recipe's ``class_weight`` does; without it rows weigh alike.
    ``threshold_weights`` weighs the calibration rows in the choice of thresholds (how much each
    stands for on a site); without it they weigh alike.
    """
    stats = StreamStats()
    t0 = time.perf_counter()
    vec = NgramTfidf(recipe.max_word_features, recipe.max_char_features, recipe.min_df_word, recipe.min_df_char)
    vec.fit(_prepare(vocab_texts, recipe))
    space = vec.space_
    stats.seconds_vocabulary = time.perf_counter() - t0
    log(f"vocabulary from {len(vocab_texts)} rows: {space.n_features} features ({stats.seconds_vocabulary:.0f}s)")

    classifiers = [
        SGDClassifier(loss="log_loss", alpha=recipe.alpha, learning_rate="optimal", random_state=recipe.seed)
        for _ in LABELS
    ]
    seen = np.zeros(len(LABELS), dtype=bool)
    t1 = time.perf_counter()
    for texts, Y, weights in (chunk for _ in range(epochs) for chunk in chunks()):
        X = space.transform(_prepare(texts, recipe))
        for j, clf in enumerate(classifiers):
            rows = np.flatnonzero(~np.isnan(Y[:, j]))
            if rows.size == 0:
                continue
            y = Y[rows, j].astype(int)
            w = weights[rows]
            if prevalence is not None and 0 < prevalence[j] < 1:
                w = w * np.where(y == 1, 0.5 / prevalence[j], 0.5 / (1 - prevalence[j]))
            clf.partial_fit(X[rows], y, classes=np.array([0, 1]), sample_weight=w)
            seen[j] = True
            stats.positives[j] += int(y.sum())  # summed over epochs
        stats.rows += len(texts)
        stats.chunks += 1
        if stats.chunks % 10 == 0:
            rate = stats.rows / (time.perf_counter() - t1)
            log(f"  {stats.rows:,} rows streamed ({rate:,.0f} rows/s)")
    stats.seconds_stream = time.perf_counter() - t1

    coef = np.zeros((space.n_features, len(LABELS)), dtype=np.float64)
    intercept = np.full(len(LABELS), -10.0)  # a label never annotated scores (almost) zero
    for j, clf in enumerate(classifiers):
        if seen[j]:
            coef[:, j] = clf.coef_[0]
            intercept[j] = float(clf.intercept_[0])
    arrays: dict[str, NDArray[Any]] = {
        **space.vocabulary.arrays(),
        "idf": vec.idf_,
        "coef": coef.astype(np.float16),
        "intercept": intercept,
    }
    t2 = time.perf_counter()
    calib_prepared = _prepare(calib_texts, recipe)
    logits = raw_logits(arrays, space, calib_prepared)
    calibrate(arrays, logits, calib_y)
    p = calibrated(arrays, logits)
    chosen = choose_policy_thresholds(
        p,
        calib_y,
        np.ones(len(calib_y)) if threshold_weights is None else threshold_weights,
        recipe.approve_error,
        recipe.reject_error,
        recipe.threshold_confidence,
    )
    thresholds = {
        label: {"review": float(chosen.review[j]), "reject": float(chosen.reject[j])} for j, label in enumerate(LABELS)
    }
    stats.seconds_calibrate = time.perf_counter() - t2
    manifest_fields = {
        "created_at": datetime.now(UTC).replace(microsecond=0),
        "recipe": recipe.name,
        "labels": list(LABELS),
        "data_sources": list(data_sources),
        "library_versions": library_versions(),
        "feature_config": {
            "preprocessing_version": PREPROCESSING_VERSION,
            "identity_mask": recipe.identity_mask,
            "identity_terms": recipe.identity_terms,
            "word_ngrams": [1, 2],
            "char_ngrams": list(CHAR_NGRAMS),
            "recipe": asdict(recipe),
            "trainer": "classifier.streaming (one pass, SGD log loss, vocabulary from a sample)",
            "n_train": stats.rows // epochs,
            "epochs": epochs,
            "n_vocabulary_sample": len(vocab_texts),
            "n_val": len(calib_texts),
        },
        "metrics": {},
        "thresholds": thresholds,
    }
    model = save_model(out, arrays=arrays, manifest_fields=manifest_fields)
    return model, stats
