"""The static-embedding block: tokenization, the exact fold into per-token weights, artifacts and
explanations (a tiny generated model with the block; the real vectors shipped in the package)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from classifier import LABELS, ModelLoadError, embedding, load_model
from classifier.embedding import (
    EMBED_CODES,
    EMBED_COEF,
    EMBED_IDENTITY_COEF,
    EmbeddingBlock,
    TokenBatch,
    Tokenizer,
    TokenScorer,
    load_static_vectors,
    static_vectors_path,
)
from classifier.identity import PLACEHOLDER, prepare_text
from classifier.model import ARRAYS_FILE, MANIFEST_FILE, Model, sha256_file
from classifier.testing import RECIPE, generated, train_tiny_model

TEXTS = [
    "you are a stupid idiot",
    "the council approved the library budget",
    f"{PLACEHOLDER} are vermin and should leave",
    "",
    "naïve café, İstanbul 東京 😀 don't",
]


@pytest.fixture(scope="module")
def static():  # type: ignore[no-untyped-def]
    return load_static_vectors(static_vectors_path("minilm_l6_static"))


def _train(out: Path, min_positives: int, labels: tuple[str, ...] = ()) -> Model:
    recipe = replace(
        RECIPE,
        embedding="minilm_l6_static",
        embedding_scale=1.0,
        embedding_min_positives=min_positives,
        embedding_labels=labels,
    )
    return train_tiny_model(out, recipe)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny-embedding") / "model"
    _train(out, min_positives=0)
    return out


@pytest.fixture(scope="module")
def model(artifact: Path) -> Model:
    return load_model(artifact)


def test_the_shipped_table_names_its_source_and_licence(static) -> None:  # type: ignore[no-untyped-def]
    assert static.vectors.shape == (len(static.tokens), static.meta["pca_dims"])
    assert static.meta["source_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert "Apache-2.0" in static.meta["source_license"]
    assert np.isfinite(static.vectors).all()


def test_tokens_are_wordpieces_with_offsets_into_the_text(static) -> None:  # type: ignore[no-untyped-def]
    tokenizer = Tokenizer(static.tokens)
    text = "unbelievably rude, you're a moron"
    batch = tokenizer.encode([text], offsets=True)
    assert batch.start is not None and batch.end is not None
    pieces = [static.tokens[i] for i in batch.ids]
    assert "," in pieces and "##" in "".join(pieces)  # punctuation split, words cut into pieces
    for token, a, b in zip(pieces, batch.start.tolist(), batch.end.tolist(), strict=True):
        assert text[a:b] == token.removeprefix("##")


def _rust_encode(tokenizer: Tokenizer, texts: list[str], offsets: bool) -> TokenBatch:
    """What the Rust tokenizers give for ``texts``, in a TokenBatch (the reference)."""
    enc = [tokenizer._tk.encode(t, add_special_tokens=False) for t in texts]
    indptr = np.cumsum([0] + [len(e.ids) for e in enc])
    ids = np.array([i for e in enc for i in e.ids], dtype=np.int64)
    if not offsets:
        return TokenBatch(indptr, ids)
    pairs = np.array([p for e in enc for p in e.offsets], dtype=np.int64).reshape(-1, 2)
    return TokenBatch(indptr, ids, pairs[:, 0], pairs[:, 1])


def _concat(batches: list[TokenBatch]) -> TokenBatch:
    counts = np.concatenate([b.counts for b in batches])
    indptr = np.concatenate([[0], np.cumsum(counts)])
    ids = np.concatenate([b.ids for b in batches])
    if batches[0].start is None:
        return TokenBatch(indptr, ids)
    starts = np.concatenate([b.start for b in batches])  # type: ignore[misc]
    ends = np.concatenate([b.end for b in batches])  # type: ignore[misc]
    return TokenBatch(indptr, ids, starts, ends)


@pytest.mark.parametrize("learned", [embedding.LEARNED_PRETOKENS, 7])
def test_plain_texts_tokenize_exactly_as_the_rust_pipeline(static, learned, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Printable ASCII goes through the pre-token tables (lower-cased); ids and offsets must be
    those of BERT's normalizer, pre-tokenizer and WordPiece run on the whole text, for prepared
    comments and for random strings of every printable ASCII character (long runs included:
    WordPiece turns a pre-token of more than 100 characters into [UNK]); also when the pre-tokens
    learned outside the vocabulary's whole words overflow and start over, batch after batch."""
    monkeypatch.setattr(embedding, "LEARNED_PRETOKENS", learned)
    rng = np.random.default_rng(11)
    alphabet = [chr(c) for c in range(0x20, 0x7F)]
    texts = [prepare_text(t) for t in TEXTS + generated(300, seed=9)[0]]
    texts += ["".join(rng.choice(alphabet, size=int(rng.integers(0, 80)))) for _ in range(300)]
    texts += ["x" * 101 + " yes", "a" * 100, "don't!!! ...wait--what?? (f*ck) #tag @user $5.99 [x]{y}|z~`^_\\", "", " "]
    texts += ["Mixed CASE", "mixed Case and café", "tab\there"]  # the last two need the normalizer (Rust)
    # Words outside the vocabulary that come back batch after batch, among new ones (numbers).
    texts += [f"zorblax qwyxtv said {982341 + 7 * n} times, zorblax!" for n in range(40)]
    for offsets in (False, True):
        for size in (len(texts), 16):
            tokenizer = Tokenizer(static.tokens)  # nothing learned yet: one batch, or 16 at a time
            got = _concat([tokenizer.encode(texts[i : i + size], offsets=offsets) for i in range(0, len(texts), size)])
            want = _rust_encode(tokenizer, texts, offsets)
            np.testing.assert_array_equal(got.indptr, want.indptr)
            np.testing.assert_array_equal(got.ids, want.ids)
            if offsets:
                np.testing.assert_array_equal(got.start, want.start)
                np.testing.assert_array_equal(got.end, want.end)


def test_an_identity_mention_gets_no_token(static) -> None:  # type: ignore[no-untyped-def]
    # Folded identity terms carry no weight in the n-grams; the block must not give them one.
    tokenizer = Tokenizer(static.tokens)
    with_mention = tokenizer.encode([f"{PLACEHOLDER} are vermin", "are vermin"])
    assert (
        with_mention.ids[with_mention.indptr[0] : with_mention.indptr[1]].tolist()
        == with_mention.ids[with_mention.indptr[1] :].tolist()
    )


def test_the_fold_into_token_weights_is_exact(static) -> None:  # type: ignore[no-untyped-def]
    block = EmbeddingBlock(static, "sif", 3.0)
    block.fit_transform([prepare_text(t) for t in generated(200, seed=5)[0]])
    texts = [prepare_text(t) for t in TEXTS]
    coef = np.random.default_rng(0).normal(0.0, 1.0, size=(block.dims, len(LABELS)))
    arrays, shift = block.arrays(coef)
    folded = TokenScorer(arrays).logits(texts) + shift
    np.testing.assert_allclose(folded, block.transform(texts) @ coef, rtol=1e-3, atol=1e-3)


def test_a_selected_batch_and_its_means_match_the_texts_tokenized_alone(static) -> None:  # type: ignore[no-untyped-def]
    tokenizer = Tokenizer(static.tokens)
    texts = [prepare_text(t) for t in [*TEXTS, "", "a second plain comment, with numbers 12345"]]
    whole = tokenizer.encode(texts, offsets=True)
    docs = [6, 0, 3, 4]  # out of order, with the two empty texts (no tokens)
    picked = whole.select(docs)
    alone = tokenizer.encode([texts[d] for d in docs], offsets=True)
    for field in ("indptr", "ids", "start", "end"):
        np.testing.assert_array_equal(getattr(picked, field), getattr(alone, field))
    values = np.random.default_rng(2).normal(size=(tokenizer.n_tokens, 3)).astype(np.float32)
    means = whole.doc_means(values[whole.ids])
    expected = np.asarray(whole.mean_matrix(tokenizer.n_tokens) @ values, dtype=np.float64)
    np.testing.assert_allclose(means, expected, rtol=1e-5, atol=1e-6)
    assert not means[3].any() and not means[5].any()  # no tokens, no mean


@pytest.mark.parametrize("scale", [1.0, 0.25])
def test_the_identity_copy_folds_into_token_weights_exactly(static, scale: float) -> None:  # type: ignore[no-untyped-def]
    block = EmbeddingBlock(static, "sif", 3.0)
    block.fit_transform([prepare_text(t) for t in generated(200, seed=5)[0]])
    texts = [prepare_text(t) for t in [*TEXTS, "Muslims are vermin", "as a gay man I agree"]]
    mentions = np.array([PLACEHOLDER in t for t in texts])
    assert mentions.sum() == 2  # the placeholder typed in TEXTS is deleted by normalization
    rng = np.random.default_rng(1)
    coef, coef_id = (rng.normal(0.0, 1.0, size=(block.dims, len(LABELS))) for _ in range(2))
    arrays, shift = block.arrays(coef)
    arrays[EMBED_IDENTITY_COEF] = block.fold_identity(coef_id, scale).astype(np.float32)
    folded = TokenScorer(arrays).logits(texts) + shift
    copy = block.identity_block(texts, mentions, scale)
    expected = block.transform(texts) @ coef + copy @ coef_id
    np.testing.assert_allclose(folded, expected, rtol=1e-3, atol=1e-3)
    assert not copy[~mentions].any()
    np.testing.assert_allclose(copy, block.identity_block(texts, mentions) * scale, rtol=1e-6)


def test_the_packaged_tables_share_one_vocabulary_and_the_tuned_one_names_its_base() -> None:
    tables = {name: load_static_vectors(static_vectors_path(name)) for name in embedding.STATIC_TABLES}
    distilled, tuned = tables["minilm_l6_static"], tables["minilm_l6_tokenlearn"]
    assert tuned.tokens == distilled.tokens
    assert tuned.vectors.shape == distilled.vectors.shape
    assert np.isfinite(tuned.vectors).all()
    assert tuned.meta["tuned_from"] == "minilm_l6_static"
    assert tuned.meta["tuned_from_sha256"] == sha256_file(static_vectors_path("minilm_l6_static"))
    assert tuned.meta["source_weights_sha256"] == distilled.meta["source_weights_sha256"]
    # Tuned, not replaced: every token stays close to its distilled vector.
    cosine = (tuned.vectors * distilled.vectors).sum(1) / (
        np.linalg.norm(tuned.vectors, axis=1) * np.linalg.norm(distilled.vectors, axis=1) + 1e-9
    )
    assert np.median(cosine) > 0.95
    assert not np.array_equal(tuned.vectors, distilled.vectors)


def test_an_artifact_finds_either_packaged_table_by_its_hash() -> None:
    for name in embedding.STATIC_TABLES:
        path = static_vectors_path(name)
        found = embedding.packaged_static_vectors(sha256_file(path))
        np.testing.assert_array_equal(found.vectors, load_static_vectors(path).vectors)


def test_the_model_carries_the_block_and_its_provenance(model: Model) -> None:
    assert model.embedding_tokens > 30_000
    info = model.manifest.feature_config["embedding"]
    assert info["table"] == "minilm_l6_static"
    assert info["table_sha256"] == sha256_file(static_vectors_path("minilm_l6_static"))


def test_labels_with_few_positives_keep_to_the_ngrams(tmp_path: Path) -> None:
    # The generated data have 194 toxic rows and 53 threats: with a floor of 100 positives,
    # toxicity gets token weights and threat none.
    model = _train(tmp_path / "model", min_positives=100)
    assert model._tokens is not None
    per_label = np.abs(model._tokens.coef).max(axis=0)
    assert per_label[LABELS.index("toxicity")] > 0
    assert per_label[LABELS.index("threat")] == 0


def test_a_label_named_in_embedding_labels_uses_the_block_whatever_its_positives(tmp_path: Path) -> None:
    model = _train(tmp_path / "model", min_positives=100, labels=("threat",))
    assert model._tokens is not None
    per_label = np.abs(model._tokens.coef).max(axis=0)
    assert per_label[LABELS.index("threat")] > 0 and per_label[LABELS.index("toxicity")] > 0
    assert per_label[LABELS.index("spam")] == 0  # neither named nor with 100 positives (about 60)


def test_an_unknown_label_in_embedding_labels_is_refused() -> None:
    from classifier.train import dense_labels

    with pytest.raises(ValueError, match="embedding_labels"):
        dense_labels(replace(RECIPE, embedding_labels=("toxic",)), np.zeros((2, len(LABELS))))


def test_explanations_add_up_to_the_score(model: Model) -> None:
    """Every n-gram and every embedding token is spread over characters: the contributions of a
    text sum to its calibrated logit minus the constant part (intercept and calibration bias)."""
    logits = model.logits(TEXTS)
    constant = model._intercept * model._slope + model._bias
    for text, row in zip(TEXTS, logits, strict=True):
        _, per_char = model.char_contributions(text)
        np.testing.assert_allclose(per_char.sum(axis=0), row - constant, atol=2e-3)


def test_embedding_tokens_alone_explain_a_score(artifact: Path, tmp_path: Path) -> None:
    # With every n-gram weight zeroed, whatever the explanation shows comes from token spans.
    copy = tmp_path / "model"
    shutil.copytree(artifact, copy)
    with np.load(copy / ARRAYS_FILE, allow_pickle=False) as npz:
        zeros = {name: np.zeros_like(npz[name]) for name in ("coef", "coef_identity")}
    _rewrite(copy, **zeros)
    tokens_only = load_model(copy)
    text = "Yóu are a STUPID idiot!!"
    _, per_char = tokens_only.char_contributions(text)
    assert np.abs(per_char).sum() > 0
    spans = tokens_only.explain(text)
    assert spans
    for span in spans:
        covered = text[span.start : span.end]
        assert covered and covered == covered.strip() and covered[0].isalnum() and covered[-1].isalnum()


def _rewrite(copy: Path, drop: str | None = None, **changes: np.ndarray) -> None:
    with np.load(copy / ARRAYS_FILE, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files if k != drop}
    arrays.update(changes)
    np.savez_compressed(copy / ARRAYS_FILE, **arrays)  # type: ignore[arg-type]
    manifest = json.loads((copy / MANIFEST_FILE).read_text())
    manifest["files"][ARRAYS_FILE] = sha256_file(copy / ARRAYS_FILE)
    manifest["smoke_scores"] = []  # the weights changed on purpose
    (copy / MANIFEST_FILE).write_text(json.dumps(manifest))


def test_an_incomplete_block_is_refused(artifact: Path, tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(artifact, copy)
    _rewrite(copy, drop=EMBED_CODES)
    with pytest.raises(ModelLoadError, match="embedding block incomplete"):
        load_model(copy)


def test_token_weights_of_the_wrong_shape_are_refused(artifact: Path, tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(artifact, copy)
    _rewrite(copy, **{EMBED_COEF: np.zeros((5, len(LABELS)), dtype=np.float32)})
    with pytest.raises(ModelLoadError, match=EMBED_COEF):
        load_model(copy)


def test_explanations_add_up_with_identity_token_weights(artifact: Path, tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(artifact, copy)
    with np.load(copy / ARRAYS_FILE, allow_pickle=False) as npz:
        shape = npz[EMBED_COEF].shape
    identity = np.random.default_rng(2).normal(0.0, 1.0, size=shape).astype(np.float32)
    _rewrite(copy, **{EMBED_IDENTITY_COEF: identity})
    model = load_model(copy)
    texts = ["Muslims are vermin", "As a gay man I agree with the council", "you are a stupid idiot"]
    base = load_model(artifact)
    moved = np.abs(model.logits(texts) - base.logits(texts)).max(axis=1)
    assert moved[0] > 0 and moved[1] > 0 and moved[2] == 0  # only texts with an identity mention
    constant = model._intercept * model._slope + model._bias
    for text, row in zip(texts, model.logits(texts), strict=True):
        _, per_char = model.char_contributions(text)
        np.testing.assert_allclose(per_char.sum(axis=0), row - constant, atol=2e-3)


def test_identity_token_weights_need_the_block_and_its_shape(artifact: Path, tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(artifact, copy)
    _rewrite(copy, **{EMBED_IDENTITY_COEF: np.zeros((5, len(LABELS)), dtype=np.float32)})
    with pytest.raises(ModelLoadError, match=EMBED_IDENTITY_COEF):
        load_model(copy)
    _rewrite(copy, drop=EMBED_COEF)
    with pytest.raises(ModelLoadError, match="embedding block incomplete"):
        load_model(copy)


def test_every_recipe_names_a_table_the_package_ships() -> None:
    from classifier.train import RECIPES

    named = {recipe.embedding for recipe in RECIPES.values() if recipe.embedding}
    assert {"minilm_l6_static", "minilm_l6_tokenlearn"} <= named
    for name in named:
        assert static_vectors_path(name).is_file(), name


def test_a_written_table_reads_back(tmp_path: Path) -> None:
    from classifier.distill import save_table

    tokens = ["[UNK]", "the", "##ing", "東京", "😀"]
    vectors = np.random.default_rng(3).normal(size=(len(tokens), 4)).astype(np.float32)
    save_table(tmp_path / "sub" / "table.npz", tokens, vectors, {"source_model": "x", "dims": 4})
    table = load_static_vectors(tmp_path / "sub" / "table.npz")
    assert table.tokens == tokens
    np.testing.assert_array_equal(table.vectors, vectors.astype(np.float16).astype(np.float32))
    assert table.meta == {"source_model": "x", "dims": 4}
