"""Retraining on a site's moderator labels: base data + site labels → candidate artifact; and the
evaluation both the candidate and the active model go through. No database here (the service's
``service/retraining.py`` fetches labels and talks to the registry).

The base data comes from one of two places:

* ``recipe:<name>`` — the shared datasets through :func:`classifier.train.prepare` (the committed
  default recipe; minutes on two cores);
* a CSV/JSONL table read by :func:`classifier.data.load_table` — a bounded base set, e.g. a cached
  sample of the shared data or a site's own seed set. The end-to-end test uses a small generated
  table so the whole retrain takes seconds.

Either way the base rows get a fixed train/validation/test split (a seeded hash of each row's
group), and the base test rows are the *fixed evaluation set*: the same rows for every candidate
and the active model, so their metrics are comparable run after run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import roc_auc_score

from classifier.data import Dataset, load_table, split_of
from classifier.evaluate import MIN_CLASS_ROWS
from classifier.labels import LABELS
from classifier.model import DataSource, Model, prepare_batch, sha256_file
from classifier.thresholds import cutoffs, decisions
from classifier.train import (
    RECIPES,
    Recipe,
    Splits,
    fit_and_save,
    prepare,
    sample_weights,
    site_threshold_rows,
    site_weights,
)

Log = Callable[[str], None]

SITE_SOURCE = "site"
# A bounded base table is small: keep every n-gram seen twice, with a compact vocabulary.
TABLE_RECIPE = Recipe(
    name="retrain-table",
    augment=False,
    max_word_features=30_000,
    max_char_features=40_000,
    min_df_word=2,
    min_df_char=2,
    source_weights={},
)


@dataclass(frozen=True)
class SiteLabel:
    """One moderator label: the comment text and per-label targets (None: not said)."""

    text: str
    labels: Mapping[str, float | None]
    cursor: int


@dataclass
class BaseData:
    recipe: Recipe
    train: Dataset
    val: Dataset
    test: Dataset
    sources: list[DataSource]


def load_base(spec: str, data_dir: Path | None, log: Log = print) -> BaseData:
    """The base data named by ``spec`` (``recipe:<name>`` or a table path), split."""
    if spec.startswith("recipe:"):
        from classifier.data import default_data_dir

        recipe = RECIPES[spec.removeprefix("recipe:")]
        splits = prepare(recipe, data_dir or default_data_dir(), log)
        data = splits.data
        parts = {
            name: data.subset(splits.rows(name, sources=(*recipe.sources, "augment") if name == "train" else None))
            for name in ("train", "val", "test")
        }
        # Evaluation-only sources stay out of training but belong to the fixed evaluation set.
        return BaseData(recipe, parts["train"], parts["val"], parts["test"], splits.infos)
    path = Path(spec)
    table = load_table(path, source="base")
    split = np.array([split_of(g) for g in table.group])
    info = DataSource(
        name=f"base:{path.name}",
        license="site-provided",
        files=[{"path": path.name, "sha256": sha256_file(path)}],  # type: ignore[list-item]
        rows=len(table),
        used_for="train",
        label_mapping="columns named like the labels",
    )
    parts = {name: table.subset(np.flatnonzero(split == name)) for name in ("train", "val", "test")}
    log(f"base table {path.name}: {len(table)} rows ({', '.join(f'{k} {len(v)}' for k, v in parts.items())})")
    return BaseData(TABLE_RECIPE, parts["train"], parts["val"], parts["test"], [info])


def load_fixed_eval(path: Path) -> Dataset:
    """A fixed evaluation table's test split (same seeded split as a base table, so a base table and
    a relabelled copy of it never share rows between training and evaluation)."""
    table = load_table(Path(path), source="eval")
    return table.subset(np.flatnonzero(np.array([split_of(g) for g in table.group]) == "test"))


def _target(value: float | None) -> float:
    return np.nan if value is None else float(value)


def site_dataset(labels: Sequence[SiteLabel]) -> Dataset:
    """Site labels as a :class:`Dataset` (NaN where a decision says nothing about a label)."""
    y = np.array([[_target(lab.labels.get(name)) for name in LABELS] for lab in labels], dtype=np.float64).reshape(
        len(labels), len(LABELS)
    )
    return Dataset(
        [lab.text for lab in labels],
        y,
        [SITE_SOURCE] * len(labels),
        [f"site:{lab.cursor}" for lab in labels],
        np.ones(len(labels), dtype=bool),
    )


def threshold_weights(base: BaseData) -> NDArray[np.float64] | None:
    """How much each base validation row counts when the candidate's thresholds are chosen.

    As ``moderation train`` does for the committed default: the validation rows weighted like a
    site (Wikipedia comments at their natural balance plus the recipe's share of spam,
    :func:`classifier.train.site_weights`); every row alike (None) when the base has no such rows
    (a site's own table). Without this, a ``recipe:default`` retrain chose its thresholds on every
    source's validation rows at their own balance (Davidson is 83% toxic) and approved 4.9% of the
    threshold rows automatically, against the default's 70%. The batch trainer adds out-of-fold
    rows as the default does (:func:`_threshold_rows`); the streaming trainer uses these alone.
    """
    both = Dataset.concat([base.train, base.val])
    val_rows = np.arange(len(base.train), len(both))
    weights = site_weights(both, val_rows, np.arange(len(both)), base.recipe.site_spam_share)
    return weights if weights.sum() > 0 else None


def _threshold_rows(
    base: BaseData, train: Dataset, prep: list[str], val: list[str], weights: NDArray[np.float64], log: Log
) -> dict[str, Any]:
    """``fit_and_save``'s threshold arguments for a batch candidate: with a recipe base, the
    validation rows weighted like a site plus, as for the default, out-of-fold scores of the
    training rows (``recipe.threshold_folds`` more fits, the site labels weighted as in the
    candidate); with a table base, every validation row alike."""
    if threshold_weights(base) is None:
        return {}
    both = Dataset.concat([train, base.val])
    split = np.array(["train"] * len(train) + ["val"] * len(base.val))
    val_weights, oof = site_threshold_rows(
        Splits(both, [*prep, *val], split, []),
        np.arange(len(train)),
        np.arange(len(train), len(both)),
        base.recipe,
        log,
        row_weights=np.concatenate((weights, np.zeros(len(base.val)))),
    )
    return {"threshold_weights": val_weights, "threshold_extra": oof}


def train_candidate(
    base: BaseData, site: Sequence[SiteLabel], site_weight: float, out: Path, log: Log = print
) -> Model:
    """Fit a candidate on the base training rows plus the site's labels (weighted up); save to ``out``."""
    started = time.perf_counter()
    recipe = base.recipe
    site_ds = site_dataset(site)
    train = Dataset.concat([base.train, site_ds])
    rows = np.arange(len(train))
    weights = sample_weights(train, rows, recipe)
    weights[len(base.train) :] *= site_weight
    prep = prepare_batch(train.texts, recipe.identity_mask, recipe.identity_terms)
    val = prepare_batch(base.val.texts, recipe.identity_mask, recipe.identity_terms)
    sources = [*base.sources, _site_source(len(site_ds), site_weight)]
    log(f"training on {len(base.train)} base rows + {len(site_ds)} site labels (weight ×{site_weight})")
    model = fit_and_save(
        prep,
        train.y,
        weights,
        val,
        base.val.y,
        replace(recipe, name=f"retrain:{recipe.name}"),
        out,
        sources,
        log=log,
        **_threshold_rows(base, train, prep, val, weights, log),
    )
    log(f"candidate {model.version} trained in {time.perf_counter() - started:.1f}s")
    return model


def train_candidate_streaming(
    base: BaseData,
    site: Sequence[SiteLabel],
    site_weight: float,
    out: Path,
    *,
    chunk_rows: int = 10_000,
    vocab_rows: int = 30_000,
    log: Log = print,
) -> Model:
    """Like :func:`train_candidate`, with the out-of-core trainer (:mod:`classifier.streaming`):
    for label sets too large to hold as one matrix. Every site label's text joins the vocabulary
    sample, so a pattern only moderators have seen (a new slur) gets its n-grams."""
    from classifier.streaming import StreamingRecipe, train_streaming

    started = time.perf_counter()
    site_ds = site_dataset(site)
    train = Dataset.concat([base.train, site_ds])
    weights = sample_weights(train, np.arange(len(train)), base.recipe)
    weights[len(base.train) :] *= site_weight
    rng = np.random.default_rng(base.recipe.seed)
    order = rng.permutation(len(train))  # site labels spread over every chunk, not bunched at the end
    sample = rng.choice(len(base.train), size=min(vocab_rows, len(base.train)), replace=False)
    vocab_texts = [base.train.texts[i] for i in sample] + site_ds.texts
    prevalence = np.nanmean(np.where(np.isnan(train.y), np.nan, train.y), axis=0)

    def chunks() -> Any:
        for lo in range(0, len(order), chunk_rows):
            rows = order[lo : lo + chunk_rows]
            yield [train.texts[i] for i in rows], train.y[rows], weights[rows]

    model, _ = train_streaming(
        vocab_texts,
        chunks,
        base.val.texts,
        base.val.y,
        out,
        recipe=StreamingRecipe(
            name=f"retrain-streaming:{base.recipe.name}",
            identity_mask=base.recipe.identity_mask,
            identity_terms=base.recipe.identity_terms,
        ),
        prevalence=np.nan_to_num(prevalence, nan=0.0),
        data_sources=[*base.sources, _site_source(len(site_ds), site_weight)],
        # One pass suffices for millions of rows; a small set needs more for SGD to converge.
        epochs=min(20, max(1, 200_000 // max(len(train), 1))),
        threshold_weights=threshold_weights(base),
        log=log,
    )
    log(f"candidate {model.version} trained (streaming) in {time.perf_counter() - started:.1f}s")
    return model


def _site_source(rows: int, site_weight: float) -> DataSource:
    return DataSource(
        name=SITE_SOURCE,
        license="this site's moderator decisions",
        rows=rows,
        used_for="train",
        label_mapping=f"approved → all labels 0; rejected → the label its reason names (else toxicity); "
        f"weight ×{site_weight}",
    )


@dataclass(frozen=True)
class SetMetrics:
    """How a model does on one evaluation set."""

    rows: int
    roc_auc: dict[str, float]  # labels with both classes present only
    auto_decided: int
    auto_errors: int

    @property
    def auto_error_rate(self) -> float:
        return self.auto_errors / self.auto_decided if self.auto_decided else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "roc_auc": {k: round(v, 4) for k, v in self.roc_auc.items()},
            "auto_decided": self.auto_decided,
            "auto_errors": self.auto_errors,
            "auto_error_rate": round(self.auto_error_rate, 4),
        }


def evaluate(
    model: Model,
    texts: Sequence[str],
    Y: NDArray[np.float64],
    threshold_overrides: Mapping[str, Mapping[str, float]] | None = None,
) -> SetMetrics:
    """Per-label ROC AUC and the error rate of the model's automatic decisions on one set.

    A label's ROC AUC is measured only with at least ``MIN_CLASS_ROWS`` rows of each class, as in
    the evaluation report: on fewer (the recent labels often hold a handful of threats) it moves
    by more than the gate's margin from one run to the next, and refused candidates by chance.

    Automatic decisions follow the service's post-moderation policy on the thresholds the service
    would use (the model's own, overridden per label by ``threshold_overrides`` as the service's
    ``MODERATION_THRESHOLDS`` does): reject when any label reaches its reject cut-off, approve
    when every label is below its review cut-off, otherwise a human reviews (not counted). A
    rejection is an error when the comment is fine (every annotated label 0); an approval when
    any label is 1.
    """
    if not len(texts):
        return SetMetrics(0, {}, 0, 0)
    chunks = [model.score_array_and_name(list(texts[lo : lo + 2000])) for lo in range(0, len(texts), 2000)]
    p = np.vstack([scores for scores, _ in chunks])
    named = np.concatenate([names for _, names in chunks])
    aucs: dict[str, float] = {}
    for j, label in enumerate(LABELS):
        rows = ~np.isnan(Y[:, j])
        y = Y[rows, j]
        if y.size and MIN_CLASS_ROWS <= y.sum() <= y.size - MIN_CLASS_ROWS:
            aucs[label] = float(roc_auc_score(y, p[rows, j]))
    approved, rejected = decisions(p, *cutoffs(model.thresholds, threshold_overrides), named)
    bad = np.nan_to_num(Y, nan=0.0).max(axis=1) >= 0.5
    annotated = ~np.isnan(Y).all(axis=1)
    errors = int((rejected & annotated & ~bad).sum() + (approved & bad).sum())
    decided = int(((rejected | approved) & annotated).sum())
    return SetMetrics(len(texts), aucs, decided, errors)
