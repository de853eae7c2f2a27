"""The featurizer's C loop (classifier/_ngrams.c) against the numpy path it replaces at serving.

Both must give the same TF-IDF matrix bit for bit, and the same in-vocabulary occurrences in the
same order within each document (explanations sum them per character in that order).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier import default_model_path, load_model
from classifier import features as F
from classifier.data import default_data_dir, load_jigsaw
from classifier.features import FeatureSpace, Hits
from classifier.model import MAX_CHARS, prepare_text

pytestmark = pytest.mark.skipif(
    not F.COMPILED and not os.environ.get("CI"), reason="the C featurizer is not built (no C compiler at install)"
)

TEXTS = [
    "you are an idiot, really!",
    "i don't like you, idiot.",
    "x'y 'a' rock'n'roll o'neil '' a''b",
    "naïve café ünïcode ×÷ ¡hola! — “quotes” 😀 lol",
    "",
    " ",
    "a",
    "ab  cd\tef\ngh",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
]


@pytest.fixture(scope="module")
def space() -> FeatureSpace:
    return load_model(default_model_path())._features


def test_the_c_featurizer_is_built_in_ci() -> None:
    assert F.COMPILED, "classifier._ngrams did not build: CI must exercise the C featurizer"


def _by_doc(hits: Hits) -> list[tuple[np.ndarray, ...]]:
    """Each document's hits in their order (the two paths interleave documents differently)."""
    order = np.lexsort((np.arange(hits.doc.shape[0]), hits.doc))
    return [getattr(hits, name)[order] for name in ("doc", "col", "start", "end")]


def assert_same(space: FeatureSpace, texts: list[str]) -> None:
    m_np, h_np = space.featurize(texts, compiled=False)
    m_c, h_c = space.featurize(texts, compiled=True)
    assert np.array_equal(m_np.indptr, m_c.indptr)
    assert np.array_equal(m_np.indices, m_c.indices)
    assert np.array_equal(m_np.data, m_c.data)  # bit for bit, not approximately
    for a, b in zip(_by_doc(h_np), _by_doc(h_c), strict=True):
        assert np.array_equal(a, b)
    assert h_np.batch == h_c.batch and np.array_equal(h_np.doc_offset, h_c.doc_offset)
    plain = space.transform(texts)  # counts only, no hits recorded
    assert np.array_equal(plain.data, m_c.data) and np.array_equal(plain.indices, m_c.indices)


def test_same_matrix_and_hits_as_numpy(space: FeatureSpace) -> None:
    assert_same(space, TEXTS)
    for text in TEXTS:
        assert_same(space, [text])
    assert_same(space, [])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="abcdefu k'  é!.-😀\u2019\u00d7", max_size=60), max_size=8))
def test_same_as_numpy_on_generated_text(space: FeatureSpace, texts: list[str]) -> None:
    assert_same(space, texts)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=5))
def test_same_as_numpy_on_any_unicode(space: FeatureSpace, texts: list[str]) -> None:
    assert_same(space, texts)


@pytest.mark.skipif(not (default_data_dir() / "jigsaw_toxic_sample").is_dir(), reason="shared data not present")
def test_same_as_numpy_on_real_comments(space: FeatureSpace) -> None:
    texts = [prepare_text(t[:MAX_CHARS], True) for t in load_jigsaw(default_data_dir() / "jigsaw_toxic_sample").texts]
    for lo in range(0, len(texts), 500):
        assert_same(space, texts[lo : lo + 500])


def test_scratch_counts_are_left_at_zero(space: FeatureSpace) -> None:
    space.featurize(TEXTS * 3)
    assert not space._scratch.any()


def test_a_nul_inside_a_text_takes_the_numpy_path(space: FeatureSpace) -> None:
    # NUL separates documents in the batch string; normalization removes it, but featurize must
    # not misattribute n-grams if one arrives.
    texts = ["ab\x00cd idiot", "idiot"]
    m_np, _ = space.featurize(texts, compiled=False)
    m, _ = space.featurize(texts)
    assert np.array_equal(m_np.toarray(), m.toarray())


def test_arrays_of_the_wrong_size_are_refused(space: FeatureSpace) -> None:
    from classifier import _ngrams

    codes = np.frombuffer(" idiot \x00".encode("utf-32-le"), dtype=np.uint32)

    def call(keys: np.ndarray, mask: int, room: int) -> None:
        """Count only (no hits), with ``room`` entries for the distinct columns and counts."""
        no_hits = (np.empty(0, np.int64), np.empty(0, np.int32), np.empty(0, np.int64), np.empty(0, np.int64))
        out = (np.empty(2, np.int64), np.empty(room, np.int32), np.empty(room, np.float32), np.empty(room, np.int32))
        _ngrams.featurize(codes, keys, space._cols, mask, 2, 5, 1, space._scratch, *no_hits, *out, 18, 0)

    call(space._keys, int(space._mask), 64)  # the right sizes pass
    with pytest.raises(ValueError, match="inconsistent array sizes"):
        call(space._keys, int(space._mask), 3)  # no room for the batch's n-grams
    with pytest.raises(ValueError, match="inconsistent array sizes"):
        call(space._keys, 2 * int(space._mask) + 1, 64)  # a mask past the table
    with pytest.raises(TypeError, match="expected items of 8 bytes"):
        call(space._cols, int(space._mask), 64)  # int32 keys


def test_scores_and_spans_are_the_same_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    model = load_model(default_model_path())
    texts = [
        "You are a complete idiot and everyone knows it",
        "Thanks for the thoughtful article on Turkey's foreign policy.",
        "f u c k  you, ƒսck off",
        "Those people are vermin and should be deported",
        "Check out my channel www.example.com for free money!!!",
    ]
    compiled = model.score_and_explain(texts)
    monkeypatch.setattr(F, "COMPILED", False)
    assert model.score_and_explain(texts) == compiled
