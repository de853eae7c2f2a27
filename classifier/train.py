"""Training: data → normalized text → n-gram TF-IDF → per-label linear models → calibration.

The scikit-learn pipeline used for fitting is ``Pipeline([("features", NgramTfidf), ("clf",
MaskedMultiLabel)])``: the vectorizer is a thin estimator around :mod:`classifier.features` (the
same code the served model runs), and each label gets its own logistic regression fitted only on
rows whose source annotated that label. With ``nb_ensemble`` each label's logit is the mean of a
plain logistic regression and an NB-LR (Wang & Manning 2012: features scaled by the naive-Bayes
log-count ratio); both are linear in the same features, so the ensemble folds into one
coefficient vector and costs nothing extra at inference.

Probabilities are Platt-calibrated on the validation split, thresholds chosen there too, and
metrics computed on the test split, which training never sees.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.decomposition import TruncatedSVD
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from classifier.data import SOURCES, Dataset, deduplicate, load_source, load_table, split_of
from classifier.features import (
    CHAR_BLOCK,
    CHAR_NGRAMS,
    WORD_BLOCK,
    FeatureSpace,
    Vocabulary,
    document_frequencies,
    ngram_texts,
)
from classifier.identity import is_placeholder_only, prepare_text
from classifier.labels import LABELS
from classifier.model import MAX_CHARS, PREPROCESSING_VERSION, DataSource, FileHash, Model, save_model, sha256_file

__all__ = [
    "Recipe",
    "RECIPES",
    "NgramTfidf",
    "MaskedMultiLabel",
    "fit_arrays",
    "fit_and_save",
    "train",
    "Splits",
    "prepare",
]

Log = Callable[[str], None]


@dataclass(frozen=True)
class Recipe:
    """Everything that defines a training run; stored in the manifest."""

    name: str
    sources: tuple[str, ...] = ("jigsaw", "civil", "davidson", "olid", "stormfront", "youtube")
    eval_only_sources: tuple[str, ...] = ("ethos",)
    augment: bool = True
    max_word_features: int = 60_000
    max_char_features: int = 140_000
    min_df_word: int = 2
    min_df_char: int = 3
    char_ngrams: tuple[int, int] = CHAR_NGRAMS
    C: float = 2.0
    nb_ensemble: bool = True
    lsa_components: int = 0
    seed: int = 13
    # Down-weight sources whose label definition or domain is far from news comments, so they add
    # vocabulary without dominating (Davidson is 83% "offensive", mostly slang on Twitter).
    source_weights: dict[str, float] = field(default_factory=lambda: {"davidson": 0.5, "olid": 0.7, "augment": 3.0})
    identity_mask: bool = True  # fold identity terms into one placeholder (classifier/identity.py)
    approve_error: float = 0.01  # at most 1% of auto-approved comments may carry the label
    reject_error: float = 0.02  # at most 2% of auto-rejected comments may be fine


RECIPES: dict[str, Recipe] = {
    "default": Recipe(name="default"),
    "baseline": Recipe(name="baseline", augment=False, nb_ensemble=False, identity_mask=False, source_weights={}),
    "small": Recipe(name="small", max_word_features=20_000, max_char_features=40_000),
}


class NgramTfidf(BaseEstimator, TransformerMixin):  # type: ignore[misc]
    """scikit-learn wrapper of :class:`FeatureSpace` over already-normalized text."""

    def __init__(
        self,
        max_word_features: int = 60_000,
        max_char_features: int = 140_000,
        min_df_word: int = 2,
        min_df_char: int = 3,
        char_ngrams: tuple[int, int] = CHAR_NGRAMS,
    ) -> None:
        self.max_word_features = max_word_features
        self.max_char_features = max_char_features
        self.min_df_word = min_df_word
        self.min_df_char = min_df_char
        self.char_ngrams = char_ngrams

    def fit(self, texts: Sequence[str], y: object = None) -> NgramTfidf:
        texts = list(texts)
        hashes, df, block = document_frequencies(texts, char_ngrams=self.char_ngrams)
        n_docs = len(texts)
        chosen = np.concatenate(
            (
                _top(df, block == WORD_BLOCK, self.min_df_word, self.max_word_features),
                _top(df, block == CHAR_BLOCK, self.min_df_char, self.max_char_features),
            )
        )
        text_of = ngram_texts(texts, hashes[chosen], char_ngrams=self.char_ngrams)
        entries = [(text_of.get(int(hashes[i]), ""), int(hashes[i]), int(df[i]), int(block[i])) for i in chosen]
        # Very long entries are URLs or junk; they bloat the artifact and never generalise. An
        # identity placeholder on its own must carry no weight, so it never becomes a feature.
        entries = [e for e in entries if 0 < len(e[0]) <= 40 and not is_placeholder_only(e[0])]
        unigrams = sorted(e for e in entries if e[3] == WORD_BLOCK and " " not in e[0])
        bigrams = sorted(e for e in entries if e[3] == WORD_BLOCK and " " in e[0])
        chars = sorted(e for e in entries if e[3] == CHAR_BLOCK)
        ordered = unigrams + bigrams + chars
        vocab = Vocabulary.from_strings([e[0] for e in unigrams + bigrams], [e[0] for e in chars])
        # Keep only entries whose stored text hashes back to the hash seen in the data, so the
        # artifact's vocabulary reproduces the training features exactly.
        ok = vocab.hashes() == np.array([e[1] for e in ordered], dtype=np.uint64)
        if not ok.all():
            ordered = [e for e, good in zip(ordered, ok, strict=True) if good]
            n_word = sum(1 for e in ordered if e[3] == WORD_BLOCK)
            vocab = Vocabulary.from_strings([e[0] for e in ordered[:n_word]], [e[0] for e in ordered[n_word:]])
        doc_freq = np.array([e[2] for e in ordered], dtype=np.float64)
        self.vocabulary_ = vocab
        self.idf_ = (np.log((1.0 + n_docs) / (1.0 + doc_freq)) + 1.0).astype(np.float32)
        self.space_ = FeatureSpace(vocab, self.idf_, self.char_ngrams)
        return self

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        out = [self.space_.transform(list(texts[lo : lo + 4000])) for lo in range(0, len(texts), 4000)]
        return sp.vstack(out).tocsr() if out else sp.csr_matrix((0, self.space_.n_features))


def _top(df: NDArray[np.int64], mask: NDArray[np.bool_], min_df: int, limit: int) -> NDArray[np.int64]:
    idx = np.flatnonzero(mask & (df >= min_df))
    order = np.lexsort((idx, -df[idx]))  # by df descending, ties by hash: deterministic
    return np.sort(idx[order[:limit]])


class MaskedMultiLabel(BaseEstimator, ClassifierMixin):  # type: ignore[misc]
    """One linear model per label, each fitted on the rows where that label is annotated (not NaN)."""

    def __init__(self, C: float = 4.0, nb_ensemble: bool = True, lsa_components: int = 0, seed: int = 13) -> None:
        self.C = C
        self.nb_ensemble = nb_ensemble
        self.lsa_components = lsa_components
        self.seed = seed

    def fit(
        self,
        X: sp.csr_matrix,
        Y: NDArray[np.float64],
        sample_weight: NDArray[np.float64] | None = None,
        log: Log | None = None,
    ) -> MaskedMultiLabel:
        n_labels = Y.shape[1]
        self.coef_ = np.zeros((X.shape[1], n_labels), dtype=np.float64)
        self.intercept_ = np.zeros(n_labels)
        weights = np.ones(X.shape[0]) if sample_weight is None else sample_weight
        components = None
        if self.lsa_components:
            # Latent semantic features: n-grams that occur in similar comments share weight, so a
            # word seen rarely in attacks borrows from its neighbours. The projection is linear,
            # so the fitted model folds back into one coefficient per n-gram (no inference cost).
            t0 = time.perf_counter()
            svd = TruncatedSVD(self.lsa_components, algorithm="randomized", n_iter=4, random_state=self.seed)
            Z_all = svd.fit_transform(X)
            components = svd.components_
            scale = Z_all.std(axis=0) + 1e-9
            if log:
                log(f"  LSA: {self.lsa_components} components in {time.perf_counter() - t0:.1f}s")
        for j in range(n_labels):
            rows = np.flatnonzero(~np.isnan(Y[:, j]))
            y = Y[rows, j].astype(int)
            if rows.size == 0 or y.min() == y.max():
                if log:
                    log(f"  {LABELS[j]}: no usable rows, constant model")
                self.intercept_[j] = -10.0 if rows.size == 0 or y.max() == 0 else 10.0
                continue
            t0 = time.perf_counter()
            Xj, wj = X[rows], weights[rows]
            coef, intercept = self._fit_one(Xj, y, wj)
            members = [(coef, intercept)]
            if self.nb_ensemble:
                r = _nb_ratio(Xj, y)
                nb_coef, nb_intercept = self._fit_one(Xj @ sp.diags(r), y, wj)
                members.append((nb_coef * r, nb_intercept))
            if components is not None:
                lsa = LogisticRegression(C=1.0, max_iter=500)
                lsa.fit(Z_all[rows] / scale, y, sample_weight=wj * _balanced(y))
                members.append((components.T @ (lsa.coef_[0] / scale), float(lsa.intercept_[0])))
            # Averaging logits of linear models is itself linear: one coefficient vector.
            coef = np.mean([m[0] for m in members], axis=0)
            intercept = float(np.mean([m[1] for m in members]))
            self.coef_[:, j] = coef
            self.intercept_[j] = intercept
            if log:
                log(f"  {LABELS[j]}: {rows.size} rows, {int(y.sum())} positive, {time.perf_counter() - t0:.1f}s")
        return self

    def _fit_one(self, X: sp.csr_matrix, y: NDArray[np.int64], w: NDArray[np.float64]) -> tuple[Any, float]:
        clf = LogisticRegression(C=self.C, solver="liblinear", max_iter=200, random_state=self.seed)
        clf.fit(X, y, sample_weight=w * _balanced(y))
        return clf.coef_[0], float(clf.intercept_[0])

    def decision_function(self, X: sp.csr_matrix) -> NDArray[np.float64]:
        return np.asarray(X @ self.coef_) + self.intercept_


def _balanced(y: NDArray[np.int64]) -> NDArray[np.float64]:
    """Balanced class weights: rare labels (threat) would otherwise get almost no signal;
    Platt calibration afterwards restores honest probabilities."""
    pos = max(int(y.sum()), 1)
    neg = max(int((1 - y).sum()), 1)
    return np.where(y == 1, len(y) / (2 * pos), len(y) / (2 * neg))


def _nb_ratio(X: sp.csr_matrix, y: NDArray[np.int64], alpha: float = 1.0) -> NDArray[np.float64]:
    """Naive-Bayes log-count ratio of every feature between positives and negatives."""
    p = np.asarray(X[y == 1].sum(axis=0)).ravel() + alpha
    q = np.asarray(X[y == 0].sum(axis=0)).ravel() + alpha
    r = np.log((p / p.sum()) / (q / q.sum()))
    # Bounded so a feature seen in a handful of positives cannot dominate.
    return np.clip(r, -3.0, 3.0)


# -- calibration and thresholds -------------------------------------------------------------------


def platt(z: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[float, float]:
    """Slope and bias of a 1-D logistic fit of labels on raw logits (Platt scaling)."""
    if y.size == 0 or y.min() == y.max():
        return 1.0, 0.0
    lr = LogisticRegression(C=1e4, solver="lbfgs")
    lr.fit(z.reshape(-1, 1), y.astype(int))
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def choose_thresholds(
    p: NDArray[np.float64],
    y: NDArray[np.float64],
    approve_error: float,
    reject_error: float,
    min_support: int = 20,
    max_review: float = 0.5,
    weights: NDArray[np.float64] | None = None,
) -> tuple[float, float]:
    """Review and reject cut-offs for one label on validation scores ``p`` with labels ``y``.

    review: the highest cut-off such that, among comments scored below it (auto-approved as far
    as this label goes), at most ``approve_error`` carry the label; never above ``max_review``,
    so a rare label cannot skip review for confident-looking scores. reject: the lowest cut-off
    such that among comments at or above it at most ``reject_error`` lack the label, with at least
    ``min_support`` comments above it; 1.0 (never) when no cut-off achieves that. ``weights``
    reweight rows (e.g. to a site's class balance) in both error rates.
    """
    order = np.argsort(p, kind="stable")
    ps, ys = p[order], y[order]
    w = np.ones_like(ps) if weights is None else weights[order]
    n = len(ps)
    k = np.arange(n + 1)
    # A cut at k splits the sorted scores into [0, k) and [k, n); it is only realisable as a
    # threshold (t = ps[k]) where ps[k-1] < ps[k], otherwise tied scores would fall on both sides.
    cut_value = np.concatenate((ps, [1.0]))
    valid = np.ones(n + 1, dtype=bool)
    valid[1:n] = ps[:-1] < ps[1:]
    if n:
        valid[n] = ps[-1] < 1.0
    w_below = np.concatenate(([0.0], np.cumsum(w)))
    pos_below = np.concatenate(([0.0], np.cumsum(w * ys)))
    fo_rate = np.where(k > 0, pos_below / np.maximum(w_below, 1e-12), 0.0)
    ok = np.flatnonzero(valid & (fo_rate <= approve_error) & (cut_value <= max_review))
    review = float(cut_value[ok.max()]) if ok.size else 0.0
    w_above = w_below[-1] - w_below
    neg_above = w_above - (pos_below[-1] - pos_below)
    count_above = n - k
    fd_rate = np.where(count_above > 0, neg_above / np.maximum(w_above, 1e-12), 1.0)
    good = np.flatnonzero(valid & (fd_rate <= reject_error) & (count_above >= min_support) & (cut_value >= review))
    reject = float(cut_value[good.min()]) if good.size else 1.0
    return review, reject


# -- the run ----------------------------------------------------------------------------------


@dataclass
class Splits:
    """The deduplicated data and its fixed split, normalized once."""

    data: Dataset
    normalized: list[str]
    split: NDArray[np.str_]
    infos: list[DataSource]

    def rows(self, name: str, sources: Sequence[str] | None = None, exclude: str | None = None) -> NDArray[np.int64]:
        mask = self.split == name
        src = np.array(self.data.source)
        if sources is not None:
            mask &= np.isin(src, list(sources))
        if exclude is not None:
            mask &= src != exclude
        return np.flatnonzero(mask)


def prepare(recipe: Recipe, data_dir: Path, log: Log = print, extra: Sequence[Path] = ()) -> Splits:
    """Load every source of the recipe, add augmentation, deduplicate, split and normalize.

    ``extra`` are CSV/JSONL files in :func:`~classifier.data.load_table`'s format (a ``text``
    column and columns named like our labels), e.g. moderator decisions exported by the service;
    each becomes a training source named ``extra:<file stem>`` and is split like the others.
    """
    parts: list[Dataset] = []
    infos: list[DataSource] = []
    for path in extra:
        ds = load_table(Path(path), source=extra_source_name(Path(path)))
        parts.append(ds)
        infos.append(
            DataSource(
                name=extra_source_name(Path(path)),
                license="site data (see its owner)",
                files=[FileHash(path=Path(path).name, sha256=sha256_file(Path(path)))],
                rows=len(ds),
                used_for="train",
                label_mapping="columns named like the labels; empty cells masked",
            )
        )
        log(f"loaded {path}: {len(ds)} rows")
    for spec in SOURCES:
        if spec.name not in recipe.sources and spec.name not in recipe.eval_only_sources:
            continue
        if not spec.train and spec.name in recipe.sources:
            raise ValueError(f"{spec.name} is evaluation-only")
        ds, info = load_source(spec, data_dir)
        if spec.name in recipe.eval_only_sources:
            info = info.model_copy(update={"used_for": "evaluation only"})
        parts.append(ds)
        infos.append(info)
        log(f"loaded {spec.name}: {len(ds)} rows")
    if recipe.augment:
        from classifier.augment import augmentation_dataset

        aug = augmentation_dataset(seed=recipe.seed)
        parts.append(aug)
        infos.append(
            DataSource(
                name="augment",
                license="Apache-2.0 (written for this project)",
                rows=len(aug),
                used_for="train",
                label_mapping="templated sentences, see classifier/augment.py",
            )
        )
        log(f"generated {len(aug)} templated augmentation rows")
    data = deduplicate(Dataset.concat(parts))
    split = np.array([split_of(g, seed=recipe.seed) for g in data.group])
    # Templates are training material only; their held-out counterpart is the functional suite.
    split[np.array(data.source) == "augment"] = "train"
    log(f"{len(data)} rows after deduplication; normalizing")
    normalized = [prepare_text(t[:MAX_CHARS], recipe.identity_mask) for t in data.texts]
    return Splits(data, normalized, split, infos)


def fit_arrays(
    texts: Sequence[str], Y: NDArray[np.float64], weights: NDArray[np.float64], recipe: Recipe, log: Log = print
) -> tuple[Pipeline, dict[str, NDArray[Any]]]:
    """Fit the pipeline and return it with the plain arrays the artifact stores (uncalibrated)."""
    pipe = Pipeline(
        [
            (
                "features",
                NgramTfidf(
                    recipe.max_word_features,
                    recipe.max_char_features,
                    recipe.min_df_word,
                    recipe.min_df_char,
                    recipe.char_ngrams,
                ),
            ),
            (
                "clf",
                MaskedMultiLabel(
                    C=recipe.C, nb_ensemble=recipe.nb_ensemble, lsa_components=recipe.lsa_components, seed=recipe.seed
                ),
            ),
        ]
    )
    t0 = time.perf_counter()
    vec: NgramTfidf = pipe.named_steps["features"]
    X = vec.fit(texts).transform(texts)
    log(
        f"vocabulary: {vec.vocabulary_.n_word} words/bigrams + "
        f"{vec.vocabulary_.n_features - vec.vocabulary_.n_word} char n-grams "
        f"({time.perf_counter() - t0:.1f}s)"
    )
    pipe.named_steps["clf"].fit(X, Y, sample_weight=weights, log=log)
    clf: MaskedMultiLabel = pipe.named_steps["clf"]
    arrays: dict[str, NDArray[Any]] = {
        **vec.vocabulary_.arrays(),
        "idf": vec.idf_,
        # float16 halves the artifact; its ~3 significant digits move a logit by well under 0.01.
        "coef": clf.coef_.astype(np.float16),
        "intercept": clf.intercept_.astype(np.float64),
    }
    return pipe, arrays


def sample_weights(data: Dataset, rows: NDArray[np.int64], recipe: Recipe) -> NDArray[np.float64]:
    """Per-row training weight from the recipe's source weights."""
    return np.array([recipe.source_weights.get(data.source[i], 1.0) for i in rows])


def calibrate(arrays: dict[str, NDArray[Any]], X_logits: NDArray[np.float64], Y: NDArray[np.float64]) -> None:
    """Fit Platt scaling per label on validation logits; adds ``calib_*`` arrays in place."""
    slopes, biases = [], []
    for j in range(Y.shape[1]):
        rows = ~np.isnan(Y[:, j])
        a, b = platt(X_logits[rows, j], Y[rows, j])
        slopes.append(a)
        biases.append(b)
    arrays["calib_slope"] = np.array(slopes)
    arrays["calib_bias"] = np.array(biases)


def library_versions() -> dict[str, str]:
    """Versions that produced the artifact (reported in the manifest)."""
    out = {"python": platform.python_version()}
    for pkg in ("numpy", "scipy", "scikit-learn", "pydantic"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def raw_logits(arrays: dict[str, NDArray[Any]], space: FeatureSpace, texts: Sequence[str]) -> NDArray[np.float64]:
    """Uncalibrated logits of already-normalized texts."""
    out = []
    for lo in range(0, len(texts), 4000):
        X = space.transform(list(texts[lo : lo + 4000]))
        out.append(np.asarray(X @ arrays["coef"].astype(np.float32), dtype=np.float64) + arrays["intercept"])
    return np.vstack(out) if out else np.zeros((0, len(LABELS)))


def fit_and_save(
    train_texts: Sequence[str],
    train_y: NDArray[np.float64],
    train_w: NDArray[np.float64],
    val_texts: Sequence[str],
    val_y: NDArray[np.float64],
    recipe: Recipe,
    out: Path,
    data_sources: Sequence[DataSource],
    log: Log = print,
    extra_metrics: Callable[[dict[str, NDArray[Any]], FeatureSpace], dict[str, Any]] | None = None,
    threshold_weights: dict[str, NDArray[np.float64]] | None = None,
) -> Model:
    """Fit on normalized ``train_texts``, calibrate and choose thresholds on ``val_texts``, save.

    This is the whole recipe minus data loading, so a model can also be trained from any
    :class:`~classifier.data.Dataset` (e.g. labels exported from the service, or test fixtures).
    Texts must already be prepared with ``prepare_text(text, recipe.identity_mask)``.
    ``threshold_weights`` gives, per label, a weight for every validation row in the threshold
    choice (0 leaves a row out); by default every annotated row counts once.
    """
    pipe, arrays = fit_arrays(train_texts, train_y, train_w, recipe, log)
    space: FeatureSpace = pipe.named_steps["features"].space_
    val_logits = raw_logits(arrays, space, val_texts)
    calibrate(arrays, val_logits, val_y)
    val_p = 1.0 / (1.0 + np.exp(-(val_logits * arrays["calib_slope"] + arrays["calib_bias"])))
    thresholds = {}
    for j, label in enumerate(LABELS):
        rows = ~np.isnan(val_y[:, j])
        w = np.ones(len(val_y))
        if threshold_weights is not None and label in threshold_weights:
            w = threshold_weights[label]
            rows &= w > 0
        review, reject = choose_thresholds(
            val_p[rows, j], val_y[rows, j], recipe.approve_error, recipe.reject_error, weights=w[rows]
        )
        thresholds[label] = {"review": review, "reject": reject}
        log(f"  threshold {label}: review {review}, reject {reject}")
    metrics = extra_metrics(arrays, space) if extra_metrics else {}
    manifest_fields = {
        "created_at": datetime.now(UTC).replace(microsecond=0),
        "recipe": recipe.name,
        "labels": list(LABELS),
        "data_sources": list(data_sources),
        "library_versions": library_versions(),
        "feature_config": {
            "preprocessing_version": PREPROCESSING_VERSION,
            "identity_mask": recipe.identity_mask,
            "word_ngrams": [1, 2],
            "char_ngrams": list(recipe.char_ngrams),
            "recipe": asdict(recipe),
            "split": "sha256(seed:group) → 70% train / 15% val / 15% test",
            "n_train": len(train_texts),
            "n_val": len(val_texts),
        },
        "metrics": metrics,
        "thresholds": thresholds,
    }
    return save_model(out, arrays=arrays, manifest_fields=manifest_fields)


def _threshold_weights(data: Dataset, val_rows: NDArray[np.int64], fit_rows: NDArray[np.int64]) -> dict[str, Any]:
    """Per-label row weights that make the validation rows look like a real site.

    Error rates among auto-decided comments depend on the share of bad comments, and most
    sources are skewed samples (Davidson is 83% toxic, the Jigsaw pools are a third toxic).
    The toxicity labels use the Jigsaw validation rows reweighted to the label's prevalence in
    the natural Jigsaw sample (about 10% toxic, measured on non-test rows); spam, with no
    natural sample, uses every annotated row as is.
    """
    src = np.array(data.source)
    natural = fit_rows[(src[fit_rows] == "jigsaw") & data.natural[fit_rows]]
    wiki = src[val_rows] == "jigsaw"
    out: dict[str, Any] = {}
    for j, label in enumerate(LABELS):
        if label == "spam":
            continue
        target = float(np.nanmean(data.y[natural, j]))
        y = data.y[val_rows, j]
        sample = float(np.nanmean(y[wiki])) if wiki.any() else 0.0
        w = np.zeros(len(val_rows))
        if 0 < sample < 1:
            w[wiki & (y == 1)] = target / sample
            w[wiki & (y == 0)] = (1 - target) / (1 - sample)
        out[label] = w
    return out


def extra_source_name(path: Path) -> str:
    """Source name of an extra training file."""
    return f"extra:{path.stem}"


def train(
    recipe_name: str,
    data_dir: Path,
    out: Path,
    log: Log = print,
    evaluate: bool = True,
    extra: Sequence[Path] = (),
) -> Model:
    """Run a recipe end to end on the shared data (plus ``extra`` files) and write the artifact."""
    recipe = RECIPES[recipe_name]
    started = time.perf_counter()
    splits = prepare(recipe, data_dir, log, extra)
    data = splits.data
    sources = (*recipe.sources, *(extra_source_name(Path(p)) for p in extra))
    train_rows = splits.rows("train", sources=(*sources, "augment"))
    val_rows = splits.rows("val", sources=sources)
    test_rows = splits.rows("test", sources=sources)
    log(f"training on {len(train_rows)} rows, calibrating on {len(val_rows)}")

    def test_metrics(arrays: dict[str, NDArray[Any]], space: FeatureSpace) -> dict[str, Any]:
        from classifier.evaluate import heldout_metrics

        z = raw_logits(arrays, space, [splits.normalized[i] for i in test_rows])
        p = 1.0 / (1.0 + np.exp(-(z * arrays["calib_slope"] + arrays["calib_bias"])))
        metrics = heldout_metrics(p, data.y[test_rows], [data.source[i] for i in test_rows])
        for label in LABELS:
            m = metrics["per_label"][label]
            log(
                f"  test {label}: ROC AUC {m.get('roc_auc', float('nan')):.4f}  "
                f"PR AUC {m.get('pr_auc', float('nan')):.4f}"
            )
        return {"test_split": metrics}

    model = fit_and_save(
        [splits.normalized[i] for i in train_rows],
        data.y[train_rows],
        sample_weights(data, train_rows, recipe),
        [splits.normalized[i] for i in val_rows],
        data.y[val_rows],
        recipe,
        out,
        splits.infos,
        log,
        extra_metrics=test_metrics if evaluate else None,
        threshold_weights=_threshold_weights(data, val_rows, np.concatenate((train_rows, val_rows))),
    )
    log(f"wrote {out} (version {model.version}) in {time.perf_counter() - started:.0f}s")
    return model


def with_overrides(recipe: Recipe, **changes: Any) -> Recipe:
    """A copy of ``recipe`` with some fields changed (used by cross-dataset evaluation)."""
    return replace(recipe, **changes)
