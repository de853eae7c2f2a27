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
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from classifier.features import CHAR_NGRAMS, Vocabulary
from classifier.identity import prepare_text
from classifier.model import ARRAYS_FILE, MANIFEST_FILE, MAX_CHARS

__all__ = ["WORD_TOKEN_PATTERN", "ReferencePipeline", "reference_pipeline"]

# Code points _word_mask counts as letters: ASCII letters and digits; from U+0080 up, everything
# except Latin-1 punctuation/symbols (U+00A0-U+00BF, U+00D7, U+00F7), General Punctuation through
# Miscellaneous Symbols and Arrows (U+2000-U+2BFF) and U+1F000 onwards (emoji and other symbols).
_LETTER = "a-zA-Z0-9\u0080-\u009f\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u1fff\u2c00-\U0001efff"
WORD_TOKEN_PATTERN = f"[{_LETTER}]+(?:'[{_LETTER}]+)*"


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

    def prepare(self, texts: Sequence[str]) -> list[str]:
        """What both featurizers see: the model's normalization and identity folding."""
        return [prepare_text(t[:MAX_CHARS], self.identity_mask) for t in texts]

    def score_array(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """Calibrated probabilities, shape ``(len(texts), len(labels))``, as ``Model.score_array``."""
        matrix = self.features.transform(self.prepare(texts))
        z = (np.asarray(matrix @ self.coef) + self.intercept) * self.calib_slope + self.calib_bias
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0))))


def reference_pipeline(artifact: Path) -> ReferencePipeline:
    """Build the reference from an artifact directory's arrays and manifest (verify it with
    ``load_model`` first: this reads the files as they are)."""
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
    word = TfidfVectorizer(
        analyzer="word",
        token_pattern=WORD_TOKEN_PATTERN,
        ngram_range=(1, 2),
        vocabulary={s: i for i, s in enumerate(strings[:n_word])},
        **common,
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
    )
