"""The vectorised featurizer scores like the scikit-learn pipeline it replaces (issue 7).

The reference (:mod:`classifier.sklearn_reference`) is a ``FeatureUnion`` of two stock
``TfidfVectorizer`` (word 1-2 grams and ``char_wb`` n-grams, sublinear tf, L2 per block) given
the artifact's vocabulary and idf, followed by the artifact's linear layer and calibration. Every
calibrated score of the served model must be within 0.001 of the reference's, for the committed
default model and for a model whose vocabulary comes from a small generated corpus mixing scripts,
digits, apostrophes and symbols (with random weights, so every n-gram moves the scores). Where a
model has the static-embedding block (the default model; the generated one, with random per-token
weights so every WordPiece token moves the scores), the reference tokenizes with a plain-Python
BERT WordPiece (``reference_wordpiece``) instead of the ``tokenizers`` wheel the model uses.
Where it has the window block (the default model; the generated scoped one, with random filters),
the reference evaluates the convolution window by window (``reference_window``) instead of the
model's token × filter lookup.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier import Model, default_model_path, load_model
from classifier.data import default_data_dir, load_civil_spans
from classifier.embedding import (
    EMBED_CODES,
    EMBED_COEF,
    EMBED_IDENTITY_COEF,
    EMBED_LENGTHS,
    load_static_vectors,
    static_vectors_path,
    token_arrays,
)
from classifier.identity import prepare_text
from classifier.labels import LABELS
from classifier.model import IDENTITY_COEF, PREPROCESSING_VERSION, save_model, sha256_file
from classifier.sklearn_reference import ReferencePipeline, reference_pipeline
from classifier.testing import train_tiny_model
from classifier.train import NgramTfidf, library_versions
from classifier.window import (
    WINDOW_FILTER_BIAS,
    WINDOW_FILTERS,
    WINDOW_IDENTITY,
    WINDOW_OUT,
    WINDOW_OUT_BIAS,
    WINDOW_SCALE,
    WINDOW_TABLE_SHA256,
    WINDOW_WIDTHS,
)
from tests.helpers import ABUSIVE, CIVIL

TOLERANCE = 1e-3

# Edge cases: empty and blank texts, one- and two-letter words (scikit-learn's char_wb counts a
# padded word shorter than n once), apostrophes, underscores, other scripts, combining marks,
# emoji, invisible and odd whitespace, URLs and e-mail addresses, very long texts (cut at
# MAX_CHARS), and the kinds of text under a news article (../shared/seed/article.md).
EDGE_TEXTS = [
    "",
    " ",
    "   \t\n  ",
    "a",
    "I",
    "ab",
    "a b c d e",
    "x" * 60,
    "don't won't can't",
    "'quoted' ''double'' x' 'x rock'n'roll l'été",
    "snake_case_word __init__",
    "naïve café Ünïcödé",
    "Erdoğan, Selçuk Bayraktaroğlu and Rəcəp Tayyip",
    "Москва не сразу строилась",
    "東京は大きい都市です",
    "مرحبا بالعالم",
    "😀😀 ok 👍🏽 fine🙂yes",
    "e\u0301 combining, ﬁ ligature, Ⅻ, ß, İstanbul, ǅ",
    "zero\u200bwidth soft\u00adhyphen",
    "\u00a0nbsp\u00a0and\u3000ideographic\u2028line\u2029para",
    "nul\x00inside\x1fcontrol\x85next",
    "f u c k  y0u",
    "sh1t @ss b!tch f*ck sh**",
    "YOU ARE AN IDIOT!!!",
    "you are a stupid idiot",
    "I am a gay man and a proud Muslim woman",
    "Mail team@thekootneeti.com or see https://courses.thekootneeti.in/join?x=1",
    "(+91) 120 4565994 — 93 per cent, $100, 1/2, 50%",
    "*“Several countries have missiles with nuclear warheads, not one or two.”*",
    "**CERTIFICATE COURSE IN INTERNATIONAL RELATIONS** JOIN TODAY!",
    "Turkey-Pakistan High-Level Military Dialogue Group (**HLMDG**)",
    "a—b–c-d…e",
    "word " * 3000,
]

# Pieces of the generated corpus: several scripts, digits, apostrophes, symbols.
_SYLLABLES = [
    "ka", "ro", "mi", "tel", "an", "sh", "ö", "ğa", "çe", "ə", "ñ", "ß", "ло", "ви", "на", "東", "京",
    "'s", "n't", "9", "42", "x", "y", "é", "ü", "\ue000",
]  # fmt: skip
_JOINERS = [" ", " ", " ", ", ", ". ", "! ", " - ", "  ", "'", " 😀 ", "_", "/"]


# Scope cues, quotation marks and identity terms, for the model that marks negation and reported
# speech and has both identity-conjunction blocks.
_CUES = ["not", "never", "don't", "isnt", "nobody", "saying", "called", "claims", "wrote", "told"]
_IDENTITIES = ["muslims", "gay", "women", "Jewish", "immigrants"]
_QUOTE_JOINERS = [' "', '" ', " \u201c", "\u201d ", " \u00ab", "\u00bb "]


def _generated_corpus(n: int, seed: int, scoped: bool = False) -> list[str]:
    rng = random.Random(seed)
    words = ["".join(rng.choices(_SYLLABLES, k=rng.randint(1, 4))) for _ in range(300)]
    joiners = _JOINERS
    if scoped:
        words += (_CUES + _IDENTITIES) * 10
        joiners = _JOINERS + _QUOTE_JOINERS
    texts = []
    for _ in range(n):
        k = rng.randint(0, 25)
        parts = [rng.choice(words) + (rng.choice(joiners) if i < k - 1 else "") for i in range(k)]
        texts.append("".join(parts))
    return texts


def _generated_model(out: Path, scoped: bool = False) -> Model:
    """A model whose vocabulary and idf come from the generated corpus, with random weights;
    ``scoped``: with scope-marked words (cues and quotation marks in the corpus), identity folding
    and random weights for both identity-conjunction blocks (n-grams and tokens)."""
    corpus = [prepare_text(t, scoped) for t in _generated_corpus(500, seed=7, scoped=scoped)]
    vec = NgramTfidf(
        max_word_features=5000,
        max_char_features=20000,
        min_df_word=1,
        min_df_char=1,
        scopes=("negation", "report") if scoped else (),
    ).fit(corpus)
    rng = np.random.default_rng(7)
    n = vec.vocabulary_.n_features
    codes, lengths = token_arrays(load_static_vectors(static_vectors_path("minilm_l6_static")).tokens)
    arrays = {
        EMBED_CODES: codes,
        EMBED_LENGTHS: lengths,
        EMBED_COEF: rng.normal(0.0, 3.0, size=(lengths.shape[0], len(LABELS))).astype(np.float32),
        **vec.vocabulary_.arrays(),
        "idf": vec.idf_,
        "coef": rng.normal(0.0, 3.0, size=(n, len(LABELS))).astype(np.float16),
        "intercept": rng.normal(0.0, 1.0, size=len(LABELS)),
        "calib_slope": np.ones(len(LABELS)),
        "calib_bias": np.zeros(len(LABELS)),
    }
    if scoped:
        # A window block with random weights, so every filter moves the scores.
        table = static_vectors_path("minilm_l6_static")
        dims = load_static_vectors(table).vectors.shape[1]
        widths, filters = (1, 2, 3), 8
        arrays.update(
            {
                WINDOW_TABLE_SHA256: np.frombuffer(bytes.fromhex(sha256_file(table)), dtype=np.uint8).copy(),
                WINDOW_SCALE: np.array([1.0]),
                WINDOW_IDENTITY: rng.normal(0.0, 0.3, dims).astype(np.float16),
                WINDOW_FILTERS: rng.normal(0.0, 0.2, (dims, filters * sum(widths))).astype(np.float32),
                WINDOW_FILTER_BIAS: rng.normal(0.0, 0.1, filters * len(widths)).astype(np.float32),
                WINDOW_OUT: rng.normal(0.0, 1.0, (filters * len(widths), len(LABELS))).astype(np.float32),
                WINDOW_OUT_BIAS: rng.normal(0.0, 0.5, len(LABELS)),
                WINDOW_WIDTHS: np.array(widths),
            }
        )
        n_unigram = vec.vocabulary_.unigram_lengths.shape[0]
        arrays[IDENTITY_COEF] = rng.normal(0.0, 3.0, size=(n_unigram, len(LABELS))).astype(np.float16)
        arrays[EMBED_IDENTITY_COEF] = rng.normal(0.0, 3.0, size=(lengths.shape[0], len(LABELS))).astype(np.float32)
    fields = {
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
        "recipe": "generated-reference-test",
        "labels": list(LABELS),
        "data_sources": [],
        "library_versions": library_versions(),
        "feature_config": {
            "preprocessing_version": PREPROCESSING_VERSION,
            "identity_mask": scoped,
            "identity_conjunctions": scoped,
            "scope_marks": ["negation", "report"] if scoped else [],
        },
        "thresholds": {label: {"review": 0.5, "reject": 0.9} for label in LABELS},
    }
    return save_model(out, arrays=arrays, manifest_fields=fields)


def _news_comments() -> list[str]:
    root = default_data_dir() / "civil_comments_toxic_spans"
    return load_civil_spans(root).texts[:1500] if root.is_dir() else []


@pytest.fixture(scope="module", params=["default", "tiny", "generated", "scoped"])
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Model, ReferencePipeline]:
    if request.param == "default":
        path = default_model_path()
        model = load_model(path)
    else:
        path = tmp_path_factory.mktemp(request.param) / "model"
        if request.param == "tiny":
            model = train_tiny_model(path)
        else:
            model = _generated_model(path, scoped=request.param == "scoped")
    return model, reference_pipeline(path)


def _assert_same_scores(model: Model, reference: ReferencePipeline, texts: list[str]) -> None:
    fast = model.score_array(texts)
    ref = reference.score_array(texts)
    diff = np.abs(fast - ref).max(axis=1)
    worst = int(np.argmax(diff))
    assert diff[worst] <= TOLERANCE, f"{diff[worst]:.5f} apart on {texts[worst][:80]!r}"


def test_the_reference_has_the_models_vocabulary(pair: tuple[Model, ReferencePipeline]) -> None:
    model, reference = pair
    assert len(reference.word.vocabulary) + len(reference.char.vocabulary) == model.n_features


def test_the_embedding_block_is_checked_where_the_model_has_one(pair: tuple[Model, ReferencePipeline]) -> None:
    model, reference = pair
    assert (reference.token_coef is not None) == (model.embedding_tokens > 0)


def test_the_window_block_is_checked_where_the_model_has_one(pair: tuple[Model, ReferencePipeline]) -> None:
    model, reference = pair
    assert (reference.window is not None) == (model._windows is not None)


def test_edge_texts_score_like_the_reference(pair: tuple[Model, ReferencePipeline]) -> None:
    model, reference = pair
    _assert_same_scores(model, reference, EDGE_TEXTS)


def test_generated_and_news_texts_score_like_the_reference(pair: tuple[Model, ReferencePipeline]) -> None:
    model, reference = pair
    # Real sentences at both ends of the scale too, so the check below holds without ../shared/data.
    texts = _generated_corpus(1000, seed=11) + _generated_corpus(1000, seed=12, scoped=True)
    texts += _news_comments() + [CIVIL, ABUSIVE]
    # Not a comparison of constants: these texts hit the vocabulary and spread the scores.
    assert reference.features.transform(reference.prepare(texts)).nnz > 10 * len(texts)
    assert np.ptp(reference.score_array(texts)) > 0.5
    _assert_same_scores(model, reference, texts)


def test_batches_and_single_texts_agree_with_the_reference(pair: tuple[Model, ReferencePipeline]) -> None:
    model, reference = pair
    texts = _generated_corpus(40, seed=3) + _generated_corpus(40, seed=4, scoped=True)
    ref = reference.score_array(texts)
    single = np.vstack([model.score_array([t]) for t in texts])
    assert np.abs(single - ref).max() <= TOLERANCE


_ALPHABET = st.sampled_from(
    [*"abcxyz AEIOU  '''-_.,!?*@#/\t\n", *"éüöğışçəñßøæ", *"ловнаме東京は", "😀", "👍", "\U0001f3fd", "\u0301"]
    + ["\u00a0", "\u200b", "\u2028", "\u3000", "\x00", "\x85", "\ue000", "ﬁ", "Ⅻ", "İ"]
)


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(st.text(alphabet=_ALPHABET, max_size=80), min_size=1, max_size=8))
def test_arbitrary_texts_score_like_the_reference(pair: tuple[Model, ReferencePipeline], texts: list[str]) -> None:
    model, reference = pair
    _assert_same_scores(model, reference, texts)


_PIECES = st.sampled_from(
    [*_CUES, "ka", "ro", "mi", "\ue000", "x'y", ",", ".", "!", "(", ")", '"', "\u201c", "\u201d", " "]
)


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(st.lists(_PIECES, max_size=25).map(" ".join), min_size=1, max_size=8))
def test_texts_full_of_scopes_score_like_the_reference(pair: tuple[Model, ReferencePipeline], texts: list[str]) -> None:
    model, reference = pair
    _assert_same_scores(model, reference, texts)
