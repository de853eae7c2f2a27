"""The scikit-learn pipeline that :mod:`classifier.features` reproduces, built from a model artifact.

Not used for serving. It exists to check (tests/unit/test_featurizer_reference.py) and to time
(bench/bench_scoring.py) the vectorised featurizer against what it replaces: a ``FeatureUnion`` of
two ``TfidfVectorizer`` (word unigrams + bigrams, ``char_wb`` n-grams), each with sublinear tf and
its own L2 norm, given the model's vocabulary and idf, followed by the model's linear layer and
Platt calibration.

The word analyzer needs an explicit ``token_pattern``: scikit-learn's default
``(?u)\\b\\w\\w+\\b`` drops one-character words, counts ``_`` as a letter and splits ``don't``,
while the model's words (``classifier.features._word_mask``) are runs of ASCII letters and digits
and of non-ASCII characters outside punctuation, symbol and emoji blocks, with an apostrophe
allowed between two such characters. :data:`WORD_TOKEN_PATTERN` is that definition as a regex.
The ``char_wb`` analyzer needs nothing special: the text is already normalized (lower case,
whitespace collapsed), so ``lowercase=False``.

When the model marks scopes (``scope_marks`` in the manifest), the word vectorizer's analyzer is
:func:`reference_scoped_words`: the same unigrams and bigrams plus the scope-marked variants,
worked out word by word in plain Python from the cue lists of :mod:`classifier.features`.

The static-embedding block (:mod:`classifier.embedding`), when the artifact has one, is checked
against :func:`reference_wordpiece`: BERT's basic tokenizer and greedy longest-match WordPiece
written out in plain Python after the original BERT code (``tokenization.py``), in the order the
``tokenizers`` normalizer applies them (clean, CJK spacing, strip accents, lower case), and a
plain mean of the tokens' folded weights.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from classifier.embedding import EMBED_CODES, EMBED_COEF, EMBED_IDENTITY_COEF, EMBED_LENGTHS, tokens_from_arrays
from classifier.features import (
    CHAR_NGRAMS,
    NEGATION_CUES,
    NEGATION_MARK,
    REPORT_CUES,
    REPORT_MARK,
    SCOPE_WORDS,
    Vocabulary,
)
from classifier.identity import PLACEHOLDER, UNVERSIONED_TERMS
from classifier.model import ARRAYS_FILE, IDENTITY_COEF, MANIFEST_FILE, prepare_batch
from classifier.window import (
    WINDOW_FILTER_BIAS,
    WINDOW_FILTERS,
    WINDOW_KEYS,
    WINDOW_OUT,
    WINDOW_OUT_BIAS,
    WINDOW_TABLE_SHA256,
    WINDOW_WIDTHS,
    window_vectors,
)

__all__ = [
    "WORD_TOKEN_PATTERN",
    "ReferencePipeline",
    "reference_pipeline",
    "reference_scoped_words",
    "reference_wordpiece",
]

# Code points _word_mask counts as letters: ASCII letters and digits; from U+0080 up, everything
# except Latin-1 punctuation/symbols (U+00A0-U+00BF, U+00D7, U+00F7), General Punctuation through
# Miscellaneous Symbols and Arrows (U+2000-U+2BFF) and U+1F000 onwards (emoji and other symbols).
_LETTER = "a-zA-Z0-9\u0080-\u009f\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u1fff\u2c00-\U0001efff"
WORD_TOKEN_PATTERN = f"[{_LETTER}]+(?:'[{_LETTER}]+)*"
_WORD_RE = re.compile(WORD_TOKEN_PATTERN)
_CLAUSE_END = set(".,;:!?()")
_QUOTE_MARKS = set('"\u201c\u201d\u201e\u00ab\u00bb')


def reference_scoped_words(text: str, kinds: Sequence[str] = ("negation", "report")) -> list[str]:
    """Word unigrams and bigrams of a prepared text, then every word and bigram inside a scope
    again with its mark: after a negation cue (a verb of saying) in the same clause, at most
    ``SCOPE_WORDS`` words on, the nearer cue deciding; between two double quotation marks,
    reported speech. A cue is not marked by its own kind of scope. Only scopes of ``kinds``."""
    words = [(m.group(), m.start(), m.end()) for m in _WORD_RE.finditer(text)]
    out = [w for w, _, _ in words] + [f"{a[0]} {b[0]}" for a, b in zip(words, words[1:], strict=False)]
    quotes = [i for i, ch in enumerate(text) if ch in _QUOTE_MARKS] if "report" in kinds else []
    cue_lists = [(NEGATION_MARK, NEGATION_CUES)] if "negation" in kinds else []
    cue_lists += [(REPORT_MARK, REPORT_CUES)] if "report" in kinds else []
    last_cue: dict[str, int] = {}
    marks: list[str] = []
    for k, (word, start, _end) in enumerate(words):
        mark, nearest = "", -1
        for kind, cues in cue_lists:
            j = last_cue.get(kind)
            if j is None or word in cues or k - j > SCOPE_WORDS:
                continue
            if any(ch in _CLAUSE_END for ch in text[words[j][2] : start]):
                continue
            if j > nearest:
                mark, nearest = kind, j
        before = sum(1 for q in quotes if q < start)
        if before % 2 == 1 and before < len(quotes):
            mark = REPORT_MARK
        marks.append(mark)
        for kind, cues in cue_lists:
            if word in cues:
                last_cue[kind] = k
    out += [mark + w for (w, _, _), mark in zip(words, marks, strict=True) if mark]
    out += [
        f"{m1}{a[0]} {m2}{b[0]}"
        for a, b, m1, m2 in zip(words, words[1:], marks, marks[1:], strict=False)
        if m1 and m1 == m2
    ]
    return out


@dataclass(frozen=True)
class ReferencePipeline:
    """An artifact as stock scikit-learn feature extraction plus its linear layer and calibration."""

    word: TfidfVectorizer
    char: TfidfVectorizer
    features: FeatureUnion
    coef: NDArray[np.float64]
    intercept: NDArray[np.float64]
    calib_slope: NDArray[np.float64]
    calib_bias: NDArray[np.float64]
    identity_mask: bool
    identity_terms: str
    # The identity-conjunction block: a second weight per word unigram that applies in comments
    # mentioning an identity term (their prepared text holds the placeholder); None when absent.
    identity_coef: NDArray[np.float64] | None = None
    # The static-embedding block: token → row of folded per-label weights; None when absent.
    token_index: dict[str, int] | None = None
    token_coef: NDArray[np.float64] | None = None
    # Its identity-conjunction copy: a second weight per token in comments mentioning an identity.
    token_identity_coef: NDArray[np.float64] | None = None
    # The window block's arrays (classifier/window.py), evaluated here as a direct convolution;
    # None when absent.
    window: dict[str, NDArray[np.float64]] | None = None

    def prepare(self, texts: Sequence[str]) -> list[str]:
        """What both featurizers see: the model's normalization and identity folding."""
        return prepare_batch(texts, self.identity_mask, self.identity_terms)

    def score_array(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """Calibrated probabilities, shape ``(len(texts), len(labels))``, as ``Model.score_array``."""
        prepared = self.prepare(texts)
        matrix = self.features.transform(prepared)
        raw = np.asarray(matrix @ self.coef) + self.intercept
        if self.identity_coef is not None:
            rows = [i for i, t in enumerate(prepared) if PLACEHOLDER in t]
            if rows:
                unigrams = matrix[rows][:, : self.identity_coef.shape[0]]
                raw[rows] += np.asarray(unigrams @ self.identity_coef)
        if self.token_index is not None and self.token_coef is not None:
            for i, text in enumerate(prepared):
                tokens = reference_wordpiece(text, self.token_index)
                if tokens:
                    ids = [self.token_index[t] for t in tokens]
                    raw[i] += self.token_coef[ids].mean(axis=0)
                    if self.token_identity_coef is not None and PLACEHOLDER in text:
                        raw[i] += self.token_identity_coef[ids].mean(axis=0)
        if self.token_index is not None and self.window is not None:
            identity = len(self.token_index)
            for i, text in enumerate(prepared):
                parts = text.split(PLACEHOLDER)
                sequence: list[int] = []
                for j, part in enumerate(parts):
                    sequence.extend(self.token_index[t] for t in reference_wordpiece(part, self.token_index))
                    if j < len(parts) - 1:
                        sequence.append(identity)
                raw[i] += reference_window(self.window, sequence)
        z = raw * self.calib_slope + self.calib_bias
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0))))


def reference_window(block: dict[str, NDArray[np.float64]], ids: Sequence[int]) -> NDArray[np.float64]:
    """The window block's logits for one token sequence, written out: every window of each width
    that touches the sequence (zero vectors outside it), its filters' responses, ReLU, the maximum
    over windows, then the output layer."""
    widths = [int(k) for k in block[WINDOW_WIDTHS]]
    bias = block[WINDOW_FILTER_BIAS]
    f = bias.shape[0] // len(widths)
    if not ids:
        return np.asarray(block[WINDOW_OUT_BIAS]).copy()  # no windows: every filter pools to zero
    responses = block["vectors"][list(ids)] @ block[WINDOW_FILTERS]  # (tokens, filters at every offset)
    pooled = []
    col = 0
    for wi, k in enumerate(widths):
        best = np.full(f, -np.inf)
        for q in range(-(k - 1), len(ids)):
            h = bias[wi * f : (wi + 1) * f].copy()
            for j in range(k):
                if 0 <= q + j < len(ids):
                    h += responses[q + j, col + j * f : col + (j + 1) * f]
            best = np.maximum(best, h)
        pooled.append(np.maximum(best, 0.0))
        col += k * f
    return np.concatenate(pooled) @ block[WINDOW_OUT] + block[WINDOW_OUT_BIAS]


def reference_pipeline(artifact: Path, static: NDArray[np.floating] | None = None) -> ReferencePipeline:
    """Build the reference from an artifact directory's arrays and manifest (verify it with
    ``load_model`` first: this reads the files as they are). ``static``: the window block's static
    vectors when they are not a packaged table (test models)."""
    manifest = json.loads((Path(artifact) / MANIFEST_FILE).read_text())
    config = manifest.get("feature_config", {})
    char_ngrams = tuple(config.get("char_ngrams", CHAR_NGRAMS))
    with np.load(Path(artifact) / ARRAYS_FILE, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    vocabulary = Vocabulary(**{name: arrays[f"vocab_{name}"] for name in Vocabulary.__dataclass_fields__})
    strings = vocabulary.strings()
    n_word = vocabulary.n_word
    idf = arrays["idf"].astype(np.float64)
    common = {"lowercase": False, "sublinear_tf": True, "norm": "l2", "dtype": np.float64}
    word_vocabulary = {s: i for i, s in enumerate(strings[:n_word])}
    kinds = tuple(config.get("scope_marks", ()))
    if kinds:
        word = TfidfVectorizer(
            analyzer=lambda text: reference_scoped_words(text, kinds), vocabulary=word_vocabulary, **common
        )
    else:
        word = TfidfVectorizer(
            analyzer="word", token_pattern=WORD_TOKEN_PATTERN, ngram_range=(1, 2), vocabulary=word_vocabulary, **common
        )
    char = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(int(char_ngrams[0]), int(char_ngrams[1])),
        vocabulary={s: i for i, s in enumerate(strings[n_word:])},
        **common,
    )
    # Fixed vocabulary and idf: nothing is fitted, the artifact's numbers are set directly.
    word.idf_ = idf[:n_word]
    char.idf_ = idf[n_word:]
    return ReferencePipeline(
        word=word,
        char=char,
        features=FeatureUnion([("word", word), ("char", char)]),
        coef=arrays["coef"].astype(np.float64),
        intercept=arrays["intercept"].astype(np.float64),
        calib_slope=arrays["calib_slope"].astype(np.float64),
        calib_bias=arrays["calib_bias"].astype(np.float64),
        identity_mask=bool(config.get("identity_mask", False)),
        identity_terms=str(config.get("identity_terms", UNVERSIONED_TERMS)),
        identity_coef=arrays[IDENTITY_COEF].astype(np.float64) if IDENTITY_COEF in arrays else None,
        token_index=_token_index(arrays) if EMBED_COEF in arrays else None,
        token_coef=arrays[EMBED_COEF].astype(np.float64) if EMBED_COEF in arrays else None,
        token_identity_coef=(arrays[EMBED_IDENTITY_COEF].astype(np.float64) if EMBED_IDENTITY_COEF in arrays else None),
        window=_window_block(arrays, static) if WINDOW_FILTERS in arrays else None,
    )


def _window_block(
    arrays: dict[str, NDArray[np.generic]], static: NDArray[np.floating] | None
) -> dict[str, NDArray[np.float64]]:
    """The window block's arrays in float64, with its token vectors as "vectors"."""
    block = {name: arrays[name].astype(np.float64) for name in WINDOW_KEYS if name != WINDOW_TABLE_SHA256}
    block["vectors"] = window_vectors(arrays, static).astype(np.float64)
    return block


def _token_index(arrays: dict[str, NDArray[np.generic]]) -> dict[str, int]:
    tokens = tokens_from_arrays(arrays[EMBED_CODES], arrays[EMBED_LENGTHS])
    return {t: i for i, t in enumerate(tokens)}


def _is_whitespace(ch: str) -> bool:
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _is_control(ch: str) -> bool:
    return ch not in "\t\n\r" and unicodedata.category(ch).startswith("C")


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def reference_wordpiece(text: str, vocab: dict[str, int], max_chars: int = 100) -> list[str]:
    """BERT uncased tokenization of ``text`` into WordPiece tokens of ``vocab`` (plain Python)."""
    cleaned = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or _is_control(ch):
            continue
        if _is_whitespace(ch):
            cleaned.append(" ")
        elif _is_cjk(cp):
            cleaned.append(f" {ch} ")
        else:
            cleaned.append(ch)
    stripped = "".join(c for c in unicodedata.normalize("NFD", "".join(cleaned)) if unicodedata.category(c) != "Mn")
    words: list[str] = []
    for chunk in stripped.lower().split():
        current = ""
        for ch in chunk:
            if _is_punctuation(ch):
                if current:
                    words.append(current)
                words.append(ch)
                current = ""
            else:
                current += ch
        if current:
            words.append(current)
    out: list[str] = []
    for word in words:
        if len(word) > max_chars:
            out.append("[UNK]")
            continue
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in vocab:
                    break
                end -= 1
            if end == start:
                pieces = ["[UNK]"]
                break
            pieces.append(piece)
            start = end
        out.extend(pieces)
    return out
