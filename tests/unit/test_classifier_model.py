"""The model artifact: scoring contract, verified loading, explanations (tiny generated model)."""

from __future__ import annotations

import json
import shutil
from dataclasses import FrozenInstanceError
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from classifier import LABELS, LabelThresholds, Model, ModelLoadError, Span, load_model
from classifier.identity import LATEST_TERMS, PLACEHOLDER
from classifier.model import (
    ARRAYS_FILE,
    IDENTITY_COEF,
    MANIFEST_FILE,
    identity_coefficients,
    linear_logits,
    sha256_file,
)
from classifier.testing import train_tiny_model


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny") / "model"
    train_tiny_model(out)
    return out


@pytest.fixture(scope="module")
def model(artifact: Path) -> Model:
    return load_model(artifact)


@pytest.fixture()
def copy(artifact: Path, tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(artifact, target)
    return target


def test_scores_every_label_as_a_probability(model: Model) -> None:
    scores = model.score(["the council budget vote", "you stupid idiot", ""])
    assert len(scores) == 3
    for row in scores:
        assert set(row) == set(LABELS)
        assert all(0.0 <= p <= 1.0 for p in row.values())


def test_batch_and_single_scores_agree(model: Model) -> None:
    texts = ["thanks for the article", "what a moron", "check out my channel"]
    batch = model.score(texts)
    for text, row in zip(texts, batch, strict=True):
        single = model.score([text])[0]
        assert single == pytest.approx(row, abs=1e-6)


def test_score_and_explain_agrees_with_score_and_explain_many(model: Model) -> None:
    texts = ["the library park weather", "you idiot moron", "subscribe now free money", "", "what a MORON!!", "ok"]
    scores, spans = model.score_and_explain(texts)
    assert scores == [pytest.approx(row, abs=1e-9) for row in model.score(texts)]
    rounded = [{label: round(p, 4) for label, p in row.items()} for row in scores]
    flagged = [any(row[lb] >= model.thresholds[lb].review for lb in model.labels) for row in rounded]
    # Exactly the texts the model flags come explained, with the spans explain_many gives them.
    assert [s is not None for s in spans] == flagged
    assert any(flagged) and not all(flagged)
    for text, row, got in zip(texts, rounded, spans, strict=True):
        if got is not None:
            assert got == model.explain_many([text], [row])[0]
    assert model.score_and_explain([]) == ([], [])


def test_large_batches_are_explained_in_pieces_alike(model: Model, monkeypatch: pytest.MonkeyPatch) -> None:
    import classifier.model

    texts = ["the library park weather", "you idiot moron", "subscribe now free money", "", "what a MORON!!", "ok"]
    whole = model.score_and_explain(texts)
    monkeypatch.setattr(classifier.model, "EXPLAIN_CHUNK", 4)
    scores, spans = model.score_and_explain(texts)
    assert spans == whole[1]
    assert scores == [pytest.approx(row, abs=1e-6) for row in whole[0]]


def test_tiny_model_learned_its_labels(model: Model) -> None:
    clean, toxic, spam = model.score(["the library park weather", "you idiot moron", "subscribe now free money"])
    assert toxic["toxicity"] > clean["toxicity"] + 0.3
    assert spam["spam"] > clean["spam"] + 0.3


def test_empty_batch(model: Model) -> None:
    assert model.score([]) == []


def test_manifest_describes_the_artifact(model: Model, artifact: Path) -> None:
    manifest = model.manifest
    assert manifest.version == model.version
    assert manifest.labels == list(LABELS)
    assert manifest.files[ARRAYS_FILE] == sha256_file(artifact / ARRAYS_FILE)
    assert set(model.thresholds) == set(LABELS)
    for t in model.thresholds.values():
        assert isinstance(t, LabelThresholds)
        assert 0.0 <= t.review <= t.reject <= 1.0
    assert "numpy" in manifest.library_versions


def test_thresholds_are_frozen(model: Model) -> None:
    with pytest.raises(FrozenInstanceError):
        model.thresholds["toxicity"].review = 0.0  # type: ignore[misc]


def test_tampered_arrays_are_refused(copy: Path) -> None:
    with (copy / ARRAYS_FILE).open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelLoadError, match="sha256"):
        load_model(copy)


def test_missing_manifest_is_refused(copy: Path) -> None:
    (copy / MANIFEST_FILE).unlink()
    with pytest.raises(ModelLoadError, match="manifest"):
        load_model(copy)


def _rewrite_arrays(path: Path, **changes: object) -> None:
    with np.load(path / ARRAYS_FILE, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays.update(changes)  # type: ignore[arg-type]
    np.savez_compressed(path / ARRAYS_FILE, **arrays)  # type: ignore[arg-type]
    manifest = json.loads((path / MANIFEST_FILE).read_text())
    manifest["files"][ARRAYS_FILE] = sha256_file(path / ARRAYS_FILE)
    (path / MANIFEST_FILE).write_text(json.dumps(manifest))


def test_pickled_arrays_are_refused_even_with_a_matching_hash(copy: Path) -> None:
    _rewrite_arrays(copy, idf=np.array([object()], dtype=object))
    with pytest.raises(ModelLoadError, match="cannot read"):
        load_model(copy)


def test_non_finite_weights_are_refused(copy: Path) -> None:
    with np.load(copy / ARRAYS_FILE, allow_pickle=False) as npz:
        coef = npz["coef"].copy()
    coef[0, 0] = np.nan
    _rewrite_arrays(copy, coef=coef)
    with pytest.raises(ModelLoadError, match="non-finite"):
        load_model(copy)


def test_changed_weights_fail_the_smoke_test(copy: Path) -> None:
    with np.load(copy / ARRAYS_FILE, allow_pickle=False) as npz:
        intercept = npz["intercept"] + 3.0
    _rewrite_arrays(copy, intercept=intercept)
    with pytest.raises(ModelLoadError, match="smoke test"):
        load_model(copy)


def test_wrong_labels_are_refused(copy: Path) -> None:
    manifest = json.loads((copy / MANIFEST_FILE).read_text())
    manifest["labels"] = list(reversed(manifest["labels"]))
    (copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ModelLoadError, match="labels"):
        load_model(copy)


def test_unlisted_files_are_refused(copy: Path) -> None:
    manifest = json.loads((copy / MANIFEST_FILE).read_text())
    manifest["files"]["extra.pkl"] = "0" * 64
    (copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ModelLoadError, match="exactly"):
        load_model(copy)


def test_explain_points_at_the_toxic_word_in_the_original_text(model: Model) -> None:
    text = "The   council budget, you I.D.I.O.T moron"
    spans = model.explain(text, scores=dict.fromkeys(LABELS, 0.0) | {"toxicity": 0.99})
    tox = [s for s in spans if s.label == "toxicity"]
    assert tox
    assert all(isinstance(s, Span) and 0 <= s.start < s.end <= len(text) for s in spans)
    covered = "".join(text[s.start : s.end] for s in tox)
    assert "moron" in covered
    assert "council" not in covered


def test_explain_maps_evasion_back_to_the_original_characters(model: Model) -> None:
    text = "the park, you s t u p i d"
    spans = model.explain(text, scores=dict.fromkeys(LABELS, 0.0) | {"toxicity": 0.99}, top_k=1)
    assert [text[s.start : s.end] for s in spans] == ["s t u p i d"]


def test_explain_maps_typographic_apostrophes_back_to_the_original_characters(model: Model) -> None:
    text = "the park, you\u2019re a stupid moron, don\u2019t you know"
    ascii_text = text.replace("\u2019", "'")
    scores = dict.fromkeys(LABELS, 0.0) | {"toxicity": 0.99}
    spans, ascii_spans = model.explain(text, scores=scores), model.explain(ascii_text, scores=scores)
    assert spans == ascii_spans  # "’" normalizes to one "'": the same characters, the same places
    covered = [text[s.start : s.end] for s in spans if s.label == "toxicity"]
    assert any("moron" in c for c in covered)
    assert model.score([text]) == model.score([ascii_text])


def test_explain_merges_adjacent_words(model: Model) -> None:
    text = "idiot moron"
    spans = model.explain(text, scores=dict.fromkeys(LABELS, 0.0) | {"toxicity": 0.99})
    assert [(s.start, s.end) for s in spans if s.label == "toxicity"] == [(0, len(text))]


def test_explain_without_scores_explains_the_top_label(model: Model) -> None:
    spans = model.explain("subscribe now free money at www.example.com")
    assert spans and spans[0].label in LABELS


def test_artifacts_from_other_preprocessing_are_refused(copy: Path) -> None:
    manifest = json.loads((copy / MANIFEST_FILE).read_text())
    manifest["feature_config"]["preprocessing_version"] = 1
    (copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ModelLoadError, match="preprocessing version"):
        load_model(copy)


def test_an_artifact_is_scored_with_the_identity_terms_it_was_trained_with(model: Model, copy: Path) -> None:
    assert model.identity_terms == LATEST_TERMS == model.manifest.feature_config["identity_terms"]
    texts = ["the turks vote", "the kurds vote"]
    first, second = model.score_array(texts)
    np.testing.assert_array_equal(first, second)  # both fold to the placeholder
    # An artifact from before the sets were versioned folds the first set, which has neither word.
    manifest = json.loads((copy / MANIFEST_FILE).read_text())
    del manifest["feature_config"]["identity_terms"]
    (copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    legacy = load_model(copy)
    assert legacy.identity_terms == "v1"
    first, second = legacy.score_array(texts)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(legacy.score_array(["the council vote"]), model.score_array(["the council vote"]))


def test_an_artifact_naming_an_unknown_identity_term_set_is_refused(copy: Path) -> None:
    manifest = json.loads((copy / MANIFEST_FILE).read_text())
    manifest["feature_config"]["identity_terms"] = "v9"
    (copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ModelLoadError, match="unknown identity term set 'v9'"):
        load_model(copy)


# -- the identity-conjunction block ------------------------------------------------------------------


def test_identity_block_weighs_only_comments_that_mention_an_identity() -> None:
    matrix = sp.csr_matrix(np.array([[1.0, 0.5, 0.0], [1.0, 0.5, 0.0]], dtype=np.float32))
    coef = np.array([[1.0], [2.0], [0.0]], dtype=np.float32)
    identity = identity_coefficients(np.array([[0.0], [4.0]], dtype=np.float32), 3)
    texts = ["they are vermin", f"{PLACEHOLDER} are vermin"]
    plain, mentioned = linear_logits(matrix, texts, coef, np.zeros(1), identity)
    assert plain[0] == pytest.approx(2.0)  # 1*1 + 0.5*2
    assert mentioned[0] == pytest.approx(4.0)  # plus 0.5*4 from the block
    np.testing.assert_allclose(linear_logits(matrix, texts, coef, np.zeros(1)), [[2.0], [2.0]])


def test_the_tiny_model_carries_the_identity_block(artifact: Path) -> None:
    with np.load(artifact / ARRAYS_FILE, allow_pickle=False) as npz:
        assert npz[IDENTITY_COEF].shape == (npz["vocab_unigram_lengths"].shape[0], len(LABELS))


def test_identity_block_of_the_wrong_shape_is_refused(copy: Path) -> None:
    _rewrite_arrays(copy, **{IDENTITY_COEF: np.zeros((3, len(LABELS)), dtype=np.float16)})
    with pytest.raises(ModelLoadError, match=IDENTITY_COEF):
        load_model(copy)


def test_artifacts_without_the_identity_block_still_load(copy: Path) -> None:
    # The format before the block existed: no coef_identity array (its smoke scores differ, so
    # this copy drops them; a real old artifact recorded its own).
    with np.load(copy / ARRAYS_FILE, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files if k != IDENTITY_COEF}
    np.savez_compressed(copy / ARRAYS_FILE, **arrays)  # type: ignore[arg-type]
    manifest = json.loads((copy / MANIFEST_FILE).read_text())
    manifest["files"][ARRAYS_FILE] = sha256_file(copy / ARRAYS_FILE)
    manifest["smoke_scores"] = []
    (copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    assert len(load_model(copy).score(["you idiot", "I am a Muslim woman"])) == 2


def test_the_version_names_the_thresholds_too(model: Model, artifact: Path, tmp_path: Path) -> None:
    """Two models with the same arrays but other cut-offs decide differently: they get other versions."""
    from classifier.model import save_model

    with np.load(artifact / ARRAYS_FILE, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    fields = model.manifest.model_dump(exclude={"version", "files", "smoke_scores"})
    again = save_model(tmp_path / "again", arrays=arrays, manifest_fields=fields)
    assert again.version == model.version  # the same arrays and cut-offs: the same name
    fields["thresholds"]["toxicity"]["review"] = fields["thresholds"]["toxicity"]["review"] / 2
    other = save_model(tmp_path / "other", arrays=arrays, manifest_fields=fields)
    assert other.version != model.version
    assert other.version.split("-")[0] == model.version.split("-")[0]  # same date
    assert other.manifest.files == model.manifest.files


def test_names_group_finds_identity_terms_as_scoring_folds_them(model: Model) -> None:
    texts = [
        "Muslims in India deserve equal rights.",
        "The weather is nice.",
        "As a GAY man I disagree",
        "M u s l i m s",
    ]
    assert model.names_group(texts) == [True, False, True, True]
    assert model.names_group([]) == []


def test_the_service_call_names_groups_from_its_own_preparation(model: Model, monkeypatch: pytest.MonkeyPatch) -> None:
    import classifier.model

    texts = ["Muslims in India deserve equal rights.", "The weather is nice.", "you idiot moron", "gay pride", "ok"]
    scores, spans, named = model.score_explain_and_name(texts)
    assert (scores, spans) == model.score_and_explain(texts)
    assert named == model.names_group(texts) == [True, False, False, True, False]
    monkeypatch.setattr(classifier.model, "EXPLAIN_CHUNK", 2)  # in pieces, alike
    assert model.score_explain_and_name(texts)[2] == named
    assert model.score_explain_and_name([]) == ([], [], [])


def test_scores_and_group_names_from_one_preparation_match_the_separate_calls(model: Model) -> None:
    texts = ["Muslims in India deserve equal rights.", "The weather is nice.", "you idiot moron", "gay pride"]
    probs, named = model.score_array_and_name(texts)
    np.testing.assert_array_equal(probs, model.score_array(texts))
    assert named.tolist() == model.names_group(texts) == [True, False, False, True]
    empty, none = model.score_array_and_name([])
    assert empty.shape == (0, len(model.labels)) and none.shape == (0,)
