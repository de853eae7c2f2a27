"""Vectorised n-gram features: vocabulary round trip, lookup table, TF-IDF rows."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier.features import (
    CHAR_BLOCK,
    NEGATION_MARK,
    REPORT_MARK,
    WORD_BLOCK,
    FeatureSpace,
    Vocabulary,
    document_frequencies,
    extract,
    ngram_texts,
)
from classifier.normalize import normalize
from classifier.sklearn_reference import reference_scoped_words

TEXTS = ["you are an idiot, really!", "i don't like you, idiot.", "hello", "", "naïve café ünïcode"]


BOTH = ("negation", "report")


def _space(texts: list[str], scopes: tuple[str, ...] = ()) -> FeatureSpace:
    hashes, _df, block = document_frequencies(texts, scopes=scopes)
    text_of = ngram_texts(texts, hashes, scopes=scopes)
    words = sorted(text_of[int(h)] for h, b in zip(hashes, block, strict=True) if b == WORD_BLOCK)
    words = [w for w in words if " " not in w] + [w for w in words if " " in w]
    chars = sorted(text_of[int(h)] for h, b in zip(hashes, block, strict=True) if b == CHAR_BLOCK)
    vocab = Vocabulary.from_strings(words, chars)
    return FeatureSpace(vocab, np.ones(vocab.n_features, dtype=np.float32), scopes=scopes)


def test_vocabulary_strings_hash_like_the_extracted_ngrams() -> None:
    hashes, _df, _block = document_frequencies(TEXTS)
    space = _space(TEXTS)
    assert set(space.vocabulary.hashes().tolist()) == set(hashes.tolist())


def test_word_and_bigram_entries_are_readable() -> None:
    strings = _space(TEXTS).vocabulary.strings()
    assert "idiot" in strings
    assert "you idiot" in strings  # bigram across the comma
    assert "don't" in strings
    assert " idi" in strings  # char n-gram of the space-padded word


def test_lookup_finds_every_vocabulary_hash_and_nothing_else() -> None:
    space = _space(TEXTS)
    own = space.vocabulary.hashes()
    assert np.array_equal(space.lookup(own), np.arange(own.shape[0]))
    rng = np.random.default_rng(0)
    strangers = rng.integers(1, 2**63, size=10_000, dtype=np.int64).astype(np.uint64)
    strangers = strangers[~np.isin(strangers, own)]
    assert (space.lookup(strangers) == -1).all()


def test_rows_are_l2_normalised_per_block() -> None:
    space = _space(TEXTS)
    X = space.transform(TEXTS)
    for i, text in enumerate(TEXTS):
        row = X.getrow(i)
        words = row.indices < space.n_word
        if text:
            assert np.sum(row.data[words] ** 2) == pytest.approx(1.0, rel=1e-5)
            assert np.sum(row.data[~words] ** 2) == pytest.approx(1.0, rel=1e-5)
        else:
            assert row.nnz == 0


def test_unknown_ngrams_are_ignored() -> None:
    space = _space(TEXTS)
    X = space.transform(["zzzz qqqq"])
    assert X.nnz == 0


def test_char_ngrams_stay_inside_documents_and_words() -> None:
    occ = extract(["ab cd", "ef"])
    grams = {occ.batch[s:e] for s, e, b in zip(occ.start, occ.end, occ.block, strict=True) if b == CHAR_BLOCK}
    assert " ab " in grams and "cd " in grams
    assert "b c" not in grams  # would cross a word
    assert not any("\x00" in g for g in grams)  # would cross a document


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(alphabet="abc ' é!", max_size=30), min_size=1, max_size=5))
def test_batches_featurize_like_single_documents(texts: list[str]) -> None:
    space = _space(TEXTS + texts)
    batch = space.transform(texts).toarray()
    for i, text in enumerate(texts):
        assert np.allclose(batch[i], space.transform([text]).toarray()[0], atol=1e-6)


SCOPED = [
    "i don't think they are vermin, they are fine.",
    'statements like "they are scum" are hurtful',
    "people who call them rats should stop",
    "you can't go around saying they should die!",
    "not one two three four five six seven eight",
    'an "unclosed quote here',
    "",
]
N, R = NEGATION_MARK, REPORT_MARK


def _marked(text: str) -> set[str]:
    return {w for w in reference_scoped_words(text) if N in w or R in w}


def test_negation_scope_ends_at_clause_punctuation() -> None:
    marked = _marked(SCOPED[0])
    assert {N + "think", N + "vermin", f"{N}are {N}vermin"} <= marked
    assert N + "fine" not in marked and N + "don't" not in marked


def test_quotes_and_verbs_of_saying_mark_reported_speech() -> None:
    assert {R + "they", R + "scum", f"{R}are {R}scum"} <= _marked(SCOPED[1])
    assert R + "hurtful" not in _marked(SCOPED[1])
    assert {R + "them", R + "rats"} <= _marked(SCOPED[2])
    # the nearer cue wins: "saying" (reported) after "can't" (negation)
    assert {N + "go", N + "saying", R + "should", R + "die"} <= _marked(SCOPED[3])
    assert N + "die" not in _marked(SCOPED[3])
    assert not _marked(SCOPED[5])  # an unmatched quote opens nothing


def test_a_scope_is_at_most_a_few_words_long() -> None:
    marked = _marked(SCOPED[4])
    assert N + "six" in marked and N + "seven" not in marked


def test_scoped_vocabulary_hashes_like_the_extracted_ngrams() -> None:
    hashes, _df, _block = document_frequencies(SCOPED + TEXTS, scopes=BOTH)
    space = _space(SCOPED + TEXTS, scopes=BOTH)
    assert set(space.vocabulary.hashes().tolist()) == set(hashes.tolist())
    assert any(N in s for s in space.vocabulary.strings())


def test_scoped_words_are_the_references() -> None:
    space = _space(SCOPED + TEXTS, scopes=BOTH)
    strings = space.vocabulary.strings()[: space.n_word]
    for text in SCOPED + TEXTS:
        occ = space.extract([text])
        cols = space.lookup(occ.hashes[occ.block == WORD_BLOCK])
        assert sorted(strings[c] for c in cols) == sorted(reference_scoped_words(text))


def test_marked_occurrences_point_at_the_words_themselves() -> None:
    occ = extract(SCOPED[:2], scopes=BOTH)
    assert occ.mark is not None
    for i in np.flatnonzero(occ.mark):
        assert occ.batch[occ.start[i] : occ.end[i]].split()[0].isalpha()


def test_without_scopes_nothing_is_marked() -> None:
    plain, scoped = extract(SCOPED), extract(SCOPED, scopes=BOTH)
    assert plain.mark is None
    assert scoped.mark is not None
    assert np.array_equal(plain.hashes, scoped.hashes[scoped.mark == 0])


def test_only_the_chosen_kinds_of_scope_are_marked() -> None:
    report = extract(SCOPED, scopes=("report",))
    assert report.mark is not None
    assert set(report.mark.tolist()) == {0, ord(R)}
    assert R + "think" not in reference_scoped_words(SCOPED[0], ("report",))
    assert N + "think" not in reference_scoped_words(SCOPED[0], ("report",))
    # without the negation scope, "saying" after "can't" is no longer marked
    assert {R + "should", R + "die"} <= set(reference_scoped_words(SCOPED[3], ("report",)))
    space = _space(SCOPED + TEXTS, scopes=("report",))
    strings = space.vocabulary.strings()[: space.n_word]
    for text in SCOPED:
        occ = space.extract([text])
        cols = space.lookup(occ.hashes[occ.block == WORD_BLOCK])
        assert sorted(strings[c] for c in cols) == sorted(reference_scoped_words(text, ("report",)))


def test_unknown_scope_kinds_are_refused() -> None:
    vocab = _space(TEXTS).vocabulary
    with pytest.raises(ValueError, match="unknown scope kinds"):
        FeatureSpace(vocab, np.ones(vocab.n_features, dtype=np.float32), scopes=("sarcasm",))


def test_a_typographic_apostrophe_keeps_a_contraction_one_word() -> None:
    # Normalization turns "’" into "'", which the featurizer keeps inside a word: "don’t" is the
    # word "don't" that training learned (and a negation cue), not "don" + "t".
    text = normalize("I don\u2019t like you\u2019re attitude")
    assert text == normalize("I don't like you're attitude")
    words = reference_scoped_words(text)
    assert {"don't", "you're", N + "like"} <= set(words)
    assert "don" not in words and "t" not in words
    space = _space([text], scopes=BOTH)
    strings = space.vocabulary.strings()[: space.n_word]
    occ = space.extract([text])
    cols = space.lookup(occ.hashes[occ.block == WORD_BLOCK])
    assert sorted(strings[c] for c in cols) == sorted(words)
