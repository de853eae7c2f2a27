"""The scoring model: a verified, code-free artifact turned into fast numpy scoring.

An artifact is a directory with ``manifest.json`` and the files it lists (``arrays.npz``), each
checked against its sha256 before anything is parsed. Arrays are loaded with
``allow_pickle=False``: loading a model cannot execute code. Inference uses the plain arrays
(vocabulary hashes → column, idf, coefficients, intercepts, Platt calibration) with numpy/scipy;
no scikit-learn object exists at serving time, so there is no per-call input validation cost and
no pickle compatibility problem across library upgrades.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from classifier.embedding import EMBED_CODES, EMBED_COEF, EMBED_IDENTITY_COEF, EMBED_LENGTHS, TokenBatch, TokenScorer
from classifier.features import CHAR_NGRAMS, FeatureSpace, Hits, Vocabulary
from classifier.identity import (
    UNVERSIONED_TERMS,
    identity_pattern,
    mentions_identity,
    prepare_text,
    prepare_text_with_offsets,
)
from classifier.labels import LABELS
from classifier.window import (
    WINDOW_KEYS,
    WINDOW_OUT,
    WINDOW_OUT_BIAS,
    WINDOW_SCALE,
    WINDOW_TABLE_SHA256,
    WINDOW_WIDTHS,
    Pooled,
    WindowScorer,
    encode_with_identity,
)

__all__ = [
    "ARRAYS_FILE",
    "DataSource",
    "LabelThresholds",
    "Manifest",
    "Model",
    "ModelLoadError",
    "Span",
    "default_model_path",
    "linear_logits",
    "load_model",
    "sha256_file",
]

MANIFEST_FILE = "manifest.json"
ARRAYS_FILE = "arrays.npz"
FORMAT_VERSION = 1
# Comments longer than this are scored on their first MAX_CHARS characters: it bounds the latency
# of a single request (cost is linear in length) and toxic comments are rarely that long.
MAX_CHARS = 10_000


def prepare_batch(texts: Sequence[str], identity_mask: bool, identity_terms: str) -> list[str]:
    """What the features see of ``texts``: each cut at :data:`MAX_CHARS`, normalized and, with
    ``identity_mask``, its identity terms folded (:func:`~classifier.identity.prepare_text`). Training
    and scoring prepare alike through this."""
    return [prepare_text(t[:MAX_CHARS], identity_mask, identity_terms) for t in texts]

# score_and_explain works through larger batches in pieces of this many comments.
EXPLAIN_CHUNK = 64
# Fixed texts scored at load time; the manifest stores what training saw, so a library upgrade
# that changed the numbers is caught before the model serves.
SMOKE_TEXTS: tuple[str, ...] = (
    "Thanks for the thoughtful article, I learned a lot.",
    "you are a stupid idiot",
    "As a gay man I disagree with this article.",  # exercises identity folding
    "f u c k  y0u",  # exercises normalization
)
# Bumped whenever normalization, identity folding or feature hashing change what a text becomes:
# an artifact built by other preprocessing would score garbage, so it is refused.
PREPROCESSING_VERSION = 3  # 3: typographic apostrophes normalize to "'"
_SMOKE_TOLERANCE = 1e-3
# A word joins an explanation only if it pushed the label at least this fraction as hard as the
# strongest word (chosen on toxic-spans training posts, see the evaluation report).
EXPLAIN_RELATIVE_FLOOR = 0.5

_REQUIRED_ARRAYS = {
    "vocab_unigram_codes": np.integer,
    "vocab_unigram_lengths": np.integer,
    "vocab_bigram_codes": np.integer,
    "vocab_bigram_lengths": np.integer,
    "vocab_char_codes": np.integer,
    "vocab_char_lengths": np.integer,
    "idf": np.floating,
    "coef": np.floating,
    "intercept": np.floating,
    "calib_slope": np.floating,
    "calib_bias": np.floating,
}


class ModelLoadError(Exception):
    """The artifact is missing, altered, malformed or fails its smoke test."""


@dataclass(frozen=True, slots=True)
class LabelThresholds:
    """Per-label policy cut-offs: ``score >= review`` → human review, ``score >= reject`` → reject."""

    review: float
    reject: float


@dataclass(frozen=True, slots=True)
class Span:
    """Characters ``text[start:end]`` of the original comment that pushed ``label`` up by ``weight``
    (in log-odds of the calibrated score)."""

    start: int
    end: int
    label: str
    weight: float


class FileHash(BaseModel):
    """One file of a data source and its content hash."""

    model_config = ConfigDict(frozen=True)
    path: str
    sha256: str


class DataSource(BaseModel):
    """A dataset the model was trained or evaluated on."""

    model_config = ConfigDict(frozen=True)
    name: str
    license: str
    citation: str = ""
    files: list[FileHash] = Field(default_factory=list)
    rows: int = 0
    used_for: str = "train"  # "train" or "evaluation only"
    label_mapping: str = ""


class ThresholdPair(BaseModel):
    """Serialised :class:`LabelThresholds`."""

    model_config = ConfigDict(frozen=True)
    review: float = Field(ge=0.0, le=1.0)
    reject: float = Field(ge=0.0, le=1.0)


class Manifest(BaseModel):
    """Everything that travels with a model: identity, provenance, metrics and policy thresholds."""

    model_config = ConfigDict(frozen=True)
    format_version: int = FORMAT_VERSION
    version: str
    created_at: datetime
    recipe: str
    labels: list[str]
    files: dict[str, str]  # artifact file name -> sha256
    data_sources: list[DataSource]
    library_versions: dict[str, str]
    feature_config: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    thresholds: dict[str, ThresholdPair]
    smoke_scores: list[dict[str, float]] = Field(default_factory=list)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_model_path() -> Path:
    """The committed default artifact (package data ``classifier/models/default``)."""
    return Path(str(resources.files("classifier") / "models" / "default"))


_TOKEN_RE = re.compile(r"\S+")

# Optional array: per-label weights of the identity-conjunction block, one row per unigram column.
IDENTITY_COEF = "coef_identity"


def identity_coefficients(coef_identity: NDArray[Any] | None, n_features: int) -> NDArray[np.float32] | None:
    """The identity block's weights padded to every feature column (zero past the unigrams)."""
    if coef_identity is None:
        return None
    full = np.zeros((n_features, coef_identity.shape[1]), dtype=np.float32)
    full[: coef_identity.shape[0]] = coef_identity
    return full


def _sigmoid(z: NDArray[np.float64]) -> NDArray[np.float64]:
    z = np.clip(z, -50.0, 50.0)
    return 1.0 / (1.0 + np.exp(-z))


def linear_logits(
    matrix: Any,
    texts: Sequence[str],
    coef: NDArray[np.float32],
    intercept: NDArray[np.float64],
    identity_coef: NDArray[np.float32] | None = None,
) -> NDArray[np.float64]:
    """Uncalibrated logits of TF-IDF rows ``matrix`` of prepared ``texts``.

    The identity-conjunction block (when the model has one) gives a word a second weight that
    applies only in comments mentioning an identity term: "vermin" next to a group is an attack in
    a way it is not elsewhere, while the identity term itself still carries no weight. Only those
    rows pay for the second product.
    """
    raw = np.asarray(matrix @ coef, dtype=np.float64) + intercept
    if identity_coef is not None:
        rows = np.flatnonzero(mentions_identity(texts))
        if rows.size:
            raw[rows] += np.asarray(matrix[rows] @ identity_coef, dtype=np.float64)
    return raw


class Model:
    """A loaded model. Immutable after construction; safe to share between requests."""

    def __init__(self, manifest: Manifest, arrays: dict[str, NDArray[Any]]) -> None:
        self.manifest = manifest
        self.labels: tuple[str, ...] = tuple(manifest.labels)
        self.version: str = manifest.version
        self.thresholds: dict[str, LabelThresholds] = {
            label: LabelThresholds(t.review, t.reject) for label, t in manifest.thresholds.items()
        }
        vocabulary = Vocabulary(**{name: arrays[f"vocab_{name}"] for name in Vocabulary.__dataclass_fields__})
        char_ngrams = manifest.feature_config.get("char_ngrams", CHAR_NGRAMS)
        self._features = FeatureSpace(
            vocabulary,
            arrays["idf"].astype(np.float32),
            (char_ngrams[0], char_ngrams[1]),
            scopes=tuple(manifest.feature_config.get("scope_marks", ())),
        )
        self._vocab: list[str] | None = None
        self._identity_mask = bool(manifest.feature_config.get("identity_mask", False))
        self._identity_terms = str(manifest.feature_config.get("identity_terms", UNVERSIONED_TERMS))
        identity_pattern(self._identity_terms)  # ValueError for a set this code does not know
        self._coef = np.ascontiguousarray(arrays["coef"], dtype=np.float32)
        self._identity_coef = identity_coefficients(arrays.get(IDENTITY_COEF), self._coef.shape[0])
        self._intercept = arrays["intercept"].astype(np.float64)
        # The static-embedding block (optional): folded per-token weights and their tokenizer.
        self._tokens = TokenScorer(arrays) if TokenScorer.present(arrays) else None
        # The window block (optional, needs the embedding block's tokenizer): a convolution over
        # the tokens in order (classifier/window.py).
        self._windows: WindowScorer | None = None
        if WindowScorer.present(arrays):
            if self._tokens is None:
                raise ValueError("the window block needs the embedding block's tokens")
            self._windows = WindowScorer(arrays, self._tokens.tokenizer.n_tokens)
        self._slope = arrays["calib_slope"].astype(np.float64)
        self._bias = arrays["calib_bias"].astype(np.float64)

    # -- scoring -------------------------------------------------------------------------------

    def logits(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """Calibrated log-odds, shape ``(len(texts), len(labels))``."""
        return self._prepared_logits(prepare_batch(texts, self._identity_mask, self._identity_terms))

    def _prepared_logits(self, normalized: Sequence[str]) -> NDArray[np.float64]:
        return self._logits(normalized, self._features.transform(normalized))

    def _logits(
        self,
        normalized: Sequence[str],
        matrix: Any,
        tokens: TokenBatch | None = None,
        windows: Pooled | None = None,
    ) -> NDArray[np.float64]:
        """Calibrated log-odds from the batch's n-gram matrix (and, when the caller has them, its
        embedding tokens and pooled window block)."""
        raw = linear_logits(matrix, normalized, self._coef, self._intercept, self._identity_coef)
        if self._tokens is not None:
            if tokens is None:
                tokens = self._tokens.tokenizer.encode(normalized)
            raw += self._tokens.logits(normalized, tokens)
            if self._windows is not None:
                if windows is None:
                    windows = self._window_pool(normalized, tokens, locate=False)
                raw += self._windows.logits(windows)
        return raw * self._slope + self._bias

    def _window_pool(self, normalized: Sequence[str], tokens: TokenBatch | None, locate: bool) -> Pooled:
        """The window block's pooling of a batch; its tokens (identity placeholders kept) come from
        the embedding block's ``tokens`` when given (with offsets when located)."""
        assert self._tokens is not None and self._windows is not None
        batch = encode_with_identity(self._tokens.tokenizer, normalized, offsets=locate, batch=tokens)
        return self._windows.pool(batch, locate=locate)

    def score_array(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """Calibrated probabilities, shape ``(len(texts), len(labels))``."""
        if not texts:
            return np.zeros((0, len(self.labels)))
        return _sigmoid(self.logits(texts))

    def score_array_and_name(self, texts: Sequence[str]) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        """:meth:`score_array` and :meth:`names_group` (as an array) from one preparation of the
        batch: what the offline mirrors of the service's decision need."""
        if not texts:
            return np.zeros((0, len(self.labels))), np.zeros(0, dtype=bool)
        normalized = prepare_batch(texts, self._identity_mask, self._identity_terms)
        return _sigmoid(self._prepared_logits(normalized)), self._named(texts, normalized)

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """One dict per text with a calibrated probability for every label."""
        probs = self.score_array(texts)
        return [dict(zip(self.labels, map(float, row), strict=True)) for row in probs]

    def names_group(self, texts: Sequence[str]) -> list[bool]:
        """Which texts name an identity group: hold a term of the model's identity set ("Muslims",
        "gay", "black people"...), found as scoring finds it. The model ranks these comments less
        reliably (``REPORT.md``, "Comments that mention an identity group"), so the service's
        default policy does not reject them on scores alone."""
        return self._named(texts).tolist()

    def _named(self, texts: Sequence[str], normalized: Sequence[str] | None = None) -> NDArray[np.bool_]:
        """:meth:`names_group` of ``texts``; ``normalized``, their preparation for scoring, is
        reused when this model folds identity terms (then it is the same preparation)."""
        if normalized is None or not self._identity_mask:
            normalized = prepare_batch(texts, True, self._identity_terms)
        return mentions_identity(normalized)

    def score_and_explain(
        self, texts: Sequence[str], top_k: int = 8
    ) -> tuple[list[dict[str, float]], list[list[Span] | None]]:
        """:meth:`score`, plus :meth:`explain` of the texts the model flags itself (a label at or
        above its review threshold), from one featurization of the batch.

        A text the model does not flag gets None: whether it needs spans depends on the rest of
        the policy (it may be held for other reasons), and :meth:`explain_many` gives them, the
        same as they would be here. Flags are read on scores rounded to 4 decimals, as the
        service stores them and as :meth:`explain_many` reads them.
        """
        scores, spans, _named = self.score_explain_and_name(texts, top_k)
        return scores, spans

    def score_explain_and_name(
        self, texts: Sequence[str], top_k: int = 8
    ) -> tuple[list[dict[str, float]], list[list[Span] | None], list[bool]]:
        """:meth:`score_and_explain` and :meth:`names_group` from one preparation of the batch:
        the service's scoring call."""
        if len(texts) > EXPLAIN_CHUNK:
            # Explanations lay contributions over the whole batch string, per label: in pieces,
            # a large batch costs per comment what a service-sized one does.
            parts = [
                self.score_explain_and_name(texts[lo : lo + EXPLAIN_CHUNK], top_k)
                for lo in range(0, len(texts), EXPLAIN_CHUNK)
            ]
            return (
                [row for part in parts for row in part[0]],
                [s for part in parts for s in part[1]],
                [g for part in parts for g in part[2]],
            )
        texts = [t[:MAX_CHARS] for t in texts]
        if not texts:
            return [], [], []
        normalized = prepare_batch(texts, self._identity_mask, self._identity_terms)
        named = self._named(texts, normalized).tolist()
        matrix, hits = self._features.featurize(normalized)
        # One tokenization, with offsets, serves the scores and the explanations.
        tokens = None if self._tokens is None else self._tokens.tokenizer.encode(normalized, offsets=True)
        # So does one pooling of the window block, located.
        windows = None if self._windows is None else self._window_pool(normalized, tokens, locate=True)
        probs = _sigmoid(self._logits(normalized, matrix, tokens, windows))
        scores = [dict(zip(self.labels, map(float, row), strict=True)) for row in probs]
        spans: list[list[Span] | None] = [None] * len(texts)
        rounded = [{lb: round(p, 4) for lb, p in row.items()} for row in scores]
        flagged = [d for d, row in enumerate(rounded) if self._over_review(row)]
        if flagged:
            norms = {d: prepare_text_with_offsets(texts[d], self._identity_mask, self._identity_terms) for d in flagged}
            # The offsets must describe the very text that was featurized (they always do; a text
            # where they did not would be explained on its own by explain_many instead).
            flagged = [d for d in flagged if norms[d].text == normalized[d]]
            labels = {self.labels.index(lb) for d in flagged for lb in self._over_review(rounded[d])}
            per_char = self._per_char(hits, matrix, normalized, flagged, labels, tokens, windows)
            for d in flagged:
                spans[d] = self._spans(texts[d], norms[d], rounded[d], per_char[d], top_k)
        return scores, spans, named

    # -- explanations --------------------------------------------------------------------------

    def explain(self, text: str, scores: dict[str, float] | None = None, top_k: int = 8) -> list[Span]:
        """Character spans of ``text`` that pushed each flagged label up most.

        Labels explained: those at or above their review threshold, or the highest-scoring label
        when none is. Each n-gram's contribution (its TF-IDF value × the label's calibrated
        coefficient) and each embedding token's (its folded weight / the number of tokens) is
        spread over its characters, summed per word, and the ``top_k`` words with a positive total
        become spans; overlapping or adjacent spans are merged.
        """
        return self.explain_many([text], None if scores is None else [scores], top_k)[0]

    def explain_many(
        self, texts: Sequence[str], scores: Sequence[dict[str, float]] | None = None, top_k: int = 8
    ) -> list[list[Span]]:
        """:meth:`explain` for many texts, featurized together (much cheaper per text than one by one)."""
        texts = [t[:MAX_CHARS] for t in texts]
        if not texts:
            return []
        if scores is None:
            scores = self.score(texts)
        labels = {lb for text_scores in scores for lb in self._flagged(text_scores)}
        return [
            self._spans(text, norm, text_scores, per_char, top_k)
            for text, text_scores, (norm, per_char) in zip(
                texts, scores, self.char_contributions_many(texts, labels), strict=True
            )
        ]

    def _over_review(self, scores: dict[str, float]) -> list[str]:
        """The labels at or above their review threshold."""
        return [lb for lb in self.labels if scores.get(lb, 0.0) >= self.thresholds[lb].review]

    def _flagged(self, scores: dict[str, float]) -> list[str]:
        """The labels to explain: those at or above their review threshold, else the top one."""
        return self._over_review(scores) or [max(self.labels, key=lambda lb: scores.get(lb, 0.0))]

    def _spans(
        self, text: str, norm: Any, scores: dict[str, float], per_char: NDArray[np.float64], top_k: int
    ) -> list[Span]:
        """The spans of one text for its flagged labels (the top label when none is flagged)."""
        spans: list[Span] = []
        words = _words(norm.text)
        for label in self._flagged(scores):
            contrib = per_char[:, self.labels.index(label)]
            spans.extend(_top_word_spans(text, norm, words, contrib, label, top_k))
        return spans

    def char_contributions(self, text: str) -> tuple[Any, NDArray[np.float64]]:
        """Per normalized character, its share of each label's calibrated log-odds."""
        return self.char_contributions_many([text])[0]

    def char_contributions_many(
        self, texts: Sequence[str], labels: Iterable[str] | None = None
    ) -> list[tuple[Any, NDArray[np.float64]]]:
        """:meth:`char_contributions` of many texts from one featurization of the batch; only the
        columns of ``labels`` (default: all) are computed, the others are 0."""
        norms = [prepare_text_with_offsets(t[:MAX_CHARS], self._identity_mask, self._identity_terms) for t in texts]
        if not norms:
            return []
        normalized = [n.text for n in norms]
        matrix, hits = self._features.featurize(normalized)
        columns = None if labels is None else [self.labels.index(lb) for lb in labels]
        per_char = self._per_char(hits, matrix, normalized, range(len(norms)), columns)
        return [(norm, per_char[d]) for d, norm in enumerate(norms)]

    def _per_char(
        self,
        hits: Hits,
        matrix: Any,
        normalized: Sequence[str],
        docs: Iterable[int],
        labels: Iterable[int] | None = None,
        tokens: TokenBatch | None = None,
        windows: Pooled | None = None,
    ) -> dict[int, NDArray[np.float64]]:
        """For each document of ``docs``, per character of its normalized text, its share of each
        label's calibrated log-odds: every n-gram occurrence's weight spread over its characters.
        Only the label columns ``labels`` (default: all) are filled; the others stay 0."""
        docs = sorted(set(docs))
        wanted_labels = np.array(sorted(set(range(len(self.labels)) if labels is None else labels)), dtype=np.int64)
        # Each document's normalized text sits at [offset + 1, offset + 1 + len) of the batch
        # string (after a padding space); contributions are laid out over the whole batch string.
        text_start = hits.doc_offset + 1
        text_end = text_start + np.fromiter((len(t) for t in normalized), dtype=np.int64, count=len(normalized))
        length = len(hits.batch)
        total = np.zeros((length, len(self.labels)))
        if not wanted_labels.size:
            return {d: total[int(text_start[d]) : int(text_end[d])] for d in docs}
        pieces: list[tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]] = []
        wanted = np.zeros(len(normalized), dtype=bool)
        wanted[docs] = True
        keep = wanted[hits.doc]
        if keep.any():
            doc, col = hits.doc[keep], hits.col[keep].astype(np.int64)
            # The matrix rows of these documents hold one value per distinct (document, column), in
            # (document, column) order: exactly the sorted distinct keys of their occurrences. An
            # n-gram seen k times in a document gets its value split over its k occurrences.
            keys = doc * self._features.n_features + col
            _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
            indptr = matrix.indptr
            rows = np.concatenate([np.arange(indptr[d], indptr[d + 1]) for d in docs])
            value = matrix.data[rows].astype(np.float64) / counts
            coef = self._coef[col][:, wanted_labels].astype(np.float64)
            if self._identity_coef is not None:
                # Comments that mention an identity term also carry the identity block's weights.
                mentions = np.asarray(mentions_identity(normalized), dtype=bool)[doc]
                coef[mentions] += self._identity_coef[col[mentions]][:, wanted_labels]
            weight = value[inverse][:, None] * coef * self._slope[wanted_labels]
            # Clip each occurrence to its document's text (n-grams may cover the padding spaces).
            starts = np.maximum(hits.start[keep], text_start[doc])
            ends = np.minimum(hits.end[keep], text_end[doc])
            inside = ends > starts
            pieces.append((starts[inside], ends[inside], weight[inside]))
        if self._tokens is not None and docs:
            # Embedding tokens: offsets are into each prepared text, shifted to the batch string.
            batch, token_weight = self._tokens.contributions(
                [normalized[d] for d in docs], None if tokens is None else tokens.select(docs)
            )
            if batch.ids.size:
                assert batch.start is not None and batch.end is not None
                shift = np.repeat(text_start[docs], batch.counts)
                starts, ends = batch.start + shift, batch.end + shift
                inside = ends > starts
                weight = token_weight[inside][:, wanted_labels] * self._slope[wanted_labels]
                pieces.append((starts[inside], ends[inside], weight))
            if self._windows is not None:
                # Each filter's share belongs to the window of tokens it pooled, spread over them:
                # from ``windows``, the whole batch's located pooling when the caller has it.
                doc_of = np.asarray(docs, dtype=np.int64)  # a pooled row's document
                pooled_rows: Sequence[int] = range(len(docs))
                if windows is None or windows.where is None:
                    subset = [normalized[d] for d in docs]
                    pooled = self._window_pool(subset, None if tokens is None else tokens.select(docs), locate=True)
                else:
                    pooled, pooled_rows, doc_of = windows, docs, np.arange(len(normalized), dtype=np.int64)
                token, share = self._windows.contributions(pooled, pooled_rows, wanted_labels)
                doc = doc_of[np.searchsorted(pooled.batch.indptr, token, side="right") - 1]
                wbatch = pooled.batch
                assert wbatch.start is not None and wbatch.end is not None
                if token.size:
                    shift = text_start[doc]
                    starts, ends = wbatch.start[token] + shift, wbatch.end[token] + shift
                    inside = ends > starts
                    weight = share[inside] * self._slope[wanted_labels]
                    pieces.append((starts[inside], ends[inside], weight))
        if pieces:
            starts = np.concatenate([piece[0] for piece in pieces])
            ends = np.concatenate([piece[1] for piece in pieces])
            per_char = np.concatenate([piece[2] for piece in pieces]) / (ends - starts)[:, None]
            # Spread each occurrence evenly over its characters: +w at its start, -w at its end,
            # and a running sum (a difference array: one pass whatever the number of n-grams).
            bounds = np.concatenate((starts, ends))
            for k, j in enumerate(wanted_labels.tolist()):
                delta = np.bincount(bounds, np.concatenate((per_char[:, k], -per_char[:, k])), minlength=length + 1)
                total[:, j] = np.cumsum(delta[:length])
        return {d: total[int(text_start[d]) : int(text_end[d])] for d in docs}

    def vocabulary_entry(self, column: int) -> str:
        """The n-gram text of a feature column (for reports and debugging)."""
        if self._vocab is None:
            self._vocab = self._features.vocabulary.strings()
        return self._vocab[column]

    @property
    def identity_terms(self) -> str:
        """The set of identity terms this artifact folds (classifier.identity.IDENTITY_TERM_SETS)."""
        return self._identity_terms

    @property
    def n_features(self) -> int:
        return self._features.n_features

    @property
    def embedding_tokens(self) -> int:
        """Size of the static-embedding block's token vocabulary (0 without the block)."""
        return 0 if self._tokens is None else self._tokens.tokenizer.n_tokens

    @property
    def coefficients(self) -> NDArray[np.float32]:
        """Read-only view of the (n_features, n_labels) coefficient matrix."""
        view = self._coef.view()
        view.flags.writeable = False
        return view


def _words(text: str) -> tuple[list[tuple[int, int]], NDArray[np.int64]]:
    """The words of a normalized text: each one's span without the punctuation at its edges (the
    whole token when it is only punctuation), and the token bounds ``[s0, e0, s1, e1, ...]``."""
    spans: list[tuple[int, int]] = []
    bounds: list[int] = []
    for m in _TOKEN_RE.finditer(text):
        s0, e0 = m.span()
        a, b = s0, e0
        # Trim punctuation at the edges so spans cover the word, not the comma after it.
        while a < b and not text[a].isalnum():
            a += 1
        while b > a and not text[b - 1].isalnum():
            b -= 1
        spans.append((a, b) if b > a else (s0, e0))
        bounds += (s0, e0)
    return spans, np.array(bounds, dtype=np.int64)


def _top_word_spans(
    text: str,
    norm: Any,
    words: tuple[list[tuple[int, int]], NDArray[np.int64]],
    contrib: NDArray[np.float64],
    label: str,
    top_k: int,
) -> list[Span]:
    spans, bounds = words
    if not spans:
        return []
    # Each token's total contribution: sums over [s0, e0), [s1, e1), ... (every other segment).
    totals = np.add.reduceat(np.append(contrib, 0.0), bounds)[::2]
    positive = np.flatnonzero(totals > 0)
    candidates = [(float(totals[k]), *norm.original_span(*spans[k])) for k in positive.tolist()]
    candidates.sort(reverse=True)
    # Words far weaker than the strongest one are context, not the reason: showing them dilutes
    # the explanation (and measurably lowers span F1 on the toxic-spans data).
    floor = candidates[0][0] * EXPLAIN_RELATIVE_FLOOR if candidates else 0.0
    chosen = sorted((c for c in candidates[:top_k] if c[0] >= floor), key=lambda c: c[1])
    merged: list[list[float]] = []
    for weight, start, end in chosen:
        if merged and start <= merged[-1][1] + 1 and text[int(merged[-1][1]) : start].strip() == "":
            merged[-1][1] = max(merged[-1][1], end)
            merged[-1][2] += weight
        else:
            merged.append([start, end, weight])
    return [Span(int(s), int(e), label, round(float(w), 4)) for s, e, w in merged]


# -- loading ------------------------------------------------------------------------------------


def load_model(path: Path) -> Model:
    """Load and verify an artifact directory; raise :class:`ModelLoadError` on any problem."""
    path = Path(path)
    manifest_path = path / MANIFEST_FILE
    if not manifest_path.is_file():
        raise ModelLoadError(f"no {MANIFEST_FILE} in {path}")
    try:
        manifest = Manifest.model_validate_json(manifest_path.read_bytes())
    except ValidationError as exc:
        raise ModelLoadError(f"invalid manifest in {path}: {exc.error_count()} error(s)") from exc
    if manifest.format_version != FORMAT_VERSION:
        raise ModelLoadError(f"unsupported artifact format {manifest.format_version}")
    if tuple(manifest.labels) != LABELS:
        raise ModelLoadError(f"artifact labels {manifest.labels} differ from {list(LABELS)}")
    if set(manifest.files) != {ARRAYS_FILE}:
        raise ModelLoadError(f"manifest must list exactly {ARRAYS_FILE}, got {sorted(manifest.files)}")
    if set(manifest.thresholds) != set(LABELS):
        raise ModelLoadError("manifest thresholds must cover every label")
    for name, expected in manifest.files.items():
        file_path = path / name
        if not file_path.is_file():
            raise ModelLoadError(f"artifact file {name} is missing")
        actual = sha256_file(file_path)
        if actual != expected:
            raise ModelLoadError(f"sha256 mismatch for {name}: manifest {expected[:12]}…, file {actual[:12]}…")
    built_with = manifest.feature_config.get("preprocessing_version")
    if built_with != PREPROCESSING_VERSION:
        raise ModelLoadError(
            f"artifact was built with preprocessing version {built_with}, this code uses "
            f"{PREPROCESSING_VERSION}: retrain it with `moderation train`"
        )
    arrays = _read_arrays(path / ARRAYS_FILE, len(LABELS))
    try:
        model = Model(manifest, arrays)
    except ValueError as exc:
        raise ModelLoadError(f"cannot build the model: {exc}") from exc
    _smoke_test(model)
    return model


def _read_arrays(path: Path, n_labels: int) -> dict[str, NDArray[Any]]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (ValueError, OSError) as exc:  # pickled object arrays raise ValueError here
        raise ModelLoadError(f"cannot read {path.name}: {exc}") from exc
    for name, kind in _REQUIRED_ARRAYS.items():
        if name not in arrays:
            raise ModelLoadError(f"{path.name} lacks array {name}")
        if not np.issubdtype(arrays[name].dtype, kind):
            raise ModelLoadError(f"array {name} has dtype {arrays[name].dtype}")
    n_feat = (
        arrays["vocab_unigram_lengths"].shape[0]
        + arrays["vocab_bigram_lengths"].shape[0]
        + arrays["vocab_char_lengths"].shape[0]
    )
    lengths = {"unigram": (-1,), "bigram": (-1, 2), "char": (-1,)}
    for block, shape in lengths.items():
        codes, lens = arrays[f"vocab_{block}_codes"], arrays[f"vocab_{block}_lengths"]
        if codes.ndim != 1 or lens.ndim != len(shape) or (lens.ndim == 2 and lens.shape[1] != 2):
            raise ModelLoadError(f"vocabulary arrays for {block} have the wrong shape")
        if int(lens.sum()) != codes.shape[0] or (lens.size and int(lens.min()) < 1):
            raise ModelLoadError(f"vocabulary lengths for {block} do not match its code points")
        if codes.size and int(codes.max()) > 0x10FFFF:
            raise ModelLoadError(f"vocabulary for {block} holds invalid code points")
    shapes = {
        "idf": (n_feat,),
        "coef": (n_feat, n_labels),
        "intercept": (n_labels,),
        "calib_slope": (n_labels,),
        "calib_bias": (n_labels,),
    }
    if IDENTITY_COEF in arrays:
        if not np.issubdtype(arrays[IDENTITY_COEF].dtype, np.floating):
            raise ModelLoadError(f"array {IDENTITY_COEF} has dtype {arrays[IDENTITY_COEF].dtype}")
        shapes[IDENTITY_COEF] = (arrays["vocab_unigram_lengths"].shape[0], n_labels)
    embed = [name for name in (EMBED_CODES, EMBED_LENGTHS, EMBED_COEF) if name in arrays]
    if embed:
        if len(embed) != 3:
            raise ModelLoadError(f"embedding block incomplete: has only {', '.join(embed)}")
        codes, lens, coef = arrays[EMBED_CODES], arrays[EMBED_LENGTHS], arrays[EMBED_COEF]
        if not (np.issubdtype(codes.dtype, np.integer) and np.issubdtype(lens.dtype, np.integer)):
            raise ModelLoadError("embedding vocabulary arrays must be integers")
        if not np.issubdtype(coef.dtype, np.floating):
            raise ModelLoadError(f"array {EMBED_COEF} has dtype {coef.dtype}")
        if codes.ndim != 1 or lens.ndim != 1 or int(lens.sum()) != codes.shape[0] or int(lens.min()) < 1:
            raise ModelLoadError("embedding vocabulary lengths do not match its code points")
        if codes.size and int(codes.max()) > 0x10FFFF:
            raise ModelLoadError("embedding vocabulary holds invalid code points")
        shapes[EMBED_COEF] = (lens.shape[0], n_labels)
    if EMBED_IDENTITY_COEF in arrays:
        if not embed:
            raise ModelLoadError(f"array {EMBED_IDENTITY_COEF} without the embedding block")
        if not np.issubdtype(arrays[EMBED_IDENTITY_COEF].dtype, np.floating):
            raise ModelLoadError(f"array {EMBED_IDENTITY_COEF} has dtype {arrays[EMBED_IDENTITY_COEF].dtype}")
        shapes[EMBED_IDENTITY_COEF] = shapes[EMBED_COEF]
    window = [name for name in WINDOW_KEYS if name in arrays]
    if window:
        if len(window) != len(WINDOW_KEYS):
            raise ModelLoadError(f"window block incomplete: has only {', '.join(window)}")
        if not embed:
            raise ModelLoadError("window block without the embedding block")
        widths = arrays[WINDOW_WIDTHS]
        if not np.issubdtype(widths.dtype, np.integer) or widths.ndim != 1 or not widths.size:
            raise ModelLoadError(f"array {WINDOW_WIDTHS} must be a list of integers")
        if int(widths.min()) < 1 or int(widths.max()) > 8:
            raise ModelLoadError(f"window widths {widths.tolist()} out of range 1..8")
        digest = arrays[WINDOW_TABLE_SHA256]
        if digest.dtype != np.uint8 or digest.shape != (32,):
            raise ModelLoadError(f"array {WINDOW_TABLE_SHA256} must be 32 bytes")
        for name in window:
            if name in (WINDOW_WIDTHS, WINDOW_TABLE_SHA256):
                continue
            if not np.issubdtype(arrays[name].dtype, np.floating):
                raise ModelLoadError(f"array {name} has dtype {arrays[name].dtype}")
            shapes[name] = arrays[name].shape  # checked against each other by WindowScorer
        shapes[WINDOW_OUT] = (arrays[WINDOW_OUT].shape[0], n_labels)
        shapes[WINDOW_OUT_BIAS] = (n_labels,)
        shapes[WINDOW_SCALE] = (1,)
        if not float(arrays[WINDOW_SCALE].reshape(-1)[0]) > 0:
            raise ModelLoadError(f"array {WINDOW_SCALE} must be positive")
    for name, shape in shapes.items():
        if arrays[name].shape != shape:
            raise ModelLoadError(f"array {name} has shape {arrays[name].shape}, expected {shape}")
        if not np.all(np.isfinite(arrays[name])):
            raise ModelLoadError(f"array {name} has non-finite values")
    return arrays


def _smoke_test(model: Model) -> None:
    scores = model.score(list(SMOKE_TEXTS))
    for row in scores:
        for label, p in row.items():
            if not (math.isfinite(p) and 0.0 <= p <= 1.0):
                raise ModelLoadError(f"smoke test: {label} score {p} is not a probability")
    expected = model.manifest.smoke_scores
    if expected:
        if len(expected) != len(scores):
            raise ModelLoadError("smoke test: the manifest records scores for different texts")
        for got, want in zip(scores, expected, strict=True):
            for label in model.labels:
                if abs(got[label] - want[label]) > _SMOKE_TOLERANCE:
                    raise ModelLoadError(
                        f"smoke test: {label} score {got[label]:.4f} differs from the trained {want[label]:.4f}"
                    )


def save_model(
    path: Path,
    *,
    arrays: dict[str, NDArray[Any]],
    manifest_fields: dict[str, Any],
) -> Model:
    """Write ``arrays.npz`` and ``manifest.json`` to ``path`` and return the reloaded model.

    ``manifest_fields`` holds every manifest field except ``files``, ``version`` (derived from
    the date and a hash of the arrays and the thresholds when absent) and ``smoke_scores``
    (computed here).
    """
    path.mkdir(parents=True, exist_ok=True)
    arrays_path = path / ARRAYS_FILE
    np.savez_compressed(arrays_path, **arrays)  # type: ignore[arg-type]
    digest = sha256_file(arrays_path)
    fields = dict(manifest_fields)
    fields["files"] = {ARRAYS_FILE: digest}
    provisional = Manifest(**{"version": "", **fields}, smoke_scores=[])
    if "version" not in fields:
        # The arrays and the cut-offs: two models that score alike but decide differently (a
        # retrain's thresholds chosen another way) must not share a name.
        policy = json.dumps(provisional.model_dump(mode="json")["thresholds"], sort_keys=True)
        identity = hashlib.sha256(f"{digest}\n{policy}".encode()).hexdigest()
        fields["version"] = f"{provisional.created_at:%Y.%m.%d}-{identity[:8]}"
        provisional = provisional.model_copy(update={"version": fields["version"]})
    model = Model(provisional, {k: np.asarray(v) for k, v in arrays.items()})
    smoke = model.score(list(SMOKE_TEXTS))
    manifest = Manifest(**fields, smoke_scores=smoke)
    (path / MANIFEST_FILE).write_text(json.dumps(manifest.model_dump(mode="json"), indent=2) + "\n")
    return load_model(path)
