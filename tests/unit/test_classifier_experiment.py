"""classifier.experiment: one fit of a recipe on the fixed split, as the measurement scripts use it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from classifier.experiment import fit_once, recipe_variant
from classifier.identity import prepare_text
from classifier.labels import LABELS
from classifier.testing import RECIPE, generated
from classifier.train import RECIPES, MaskedMultiLabel, NgramTfidf, prepare


def test_one_fit_scores_texts_rows_and_the_functional_suite(tmp_path: Path) -> None:
    texts, y = generated(900, seed=3)
    path = tmp_path / "gen.jsonl"
    path.write_text(
        "\n".join(
            json.dumps({"text": t, **dict(zip(LABELS, map(float, row), strict=True))})
            for t, row in zip(texts, y, strict=True)
        )
    )
    recipe = replace(RECIPE, sources=("extra:gen",), eval_only_sources=())
    splits = prepare(recipe, tmp_path, lambda _m: None, [path])
    fit = fit_once(recipe, splits)

    assert set(splits.split[fit.train_rows]) == {"train"}
    assert set(splits.split[fit.sets["test"]]) == {"test"} and len(fit.sets["val"]) > 0
    sample = ["you stupid idiot, the council vote", "the council budget vote at the library"]
    z = fit.score_texts(sample)
    assert z.shape == (2, len(LABELS))
    prepared = [prepare_text(t, recipe.identity_mask, recipe.identity_terms) for t in sample]
    np.testing.assert_array_equal(z, fit.score_prepared(prepared))
    tox = LABELS.index("toxicity")
    assert z[0, tox] > z[1, tox]
    rows = fit.sets["test"][:5]
    np.testing.assert_allclose(fit.score_rows(rows), fit.score_prepared([splits.normalized[i] for i in rows]))
    # log_odds: the calibrated log-odds of the same probabilities, unclipped
    z_rows = fit.score_rows(rows, log_odds=True)
    np.testing.assert_allclose(1 / (1 + np.exp(-z_rows)), fit.score_rows(rows), rtol=1e-12)
    np.testing.assert_allclose(1 / (1 + np.exp(-fit.score_texts(sample, log_odds=True))), z, rtol=1e-12)
    (auc,) = fit.source_aucs("test", ["extra:gen"])
    assert auc > 0.95  # the generated toxic rows carry a toxic word
    functional = fit.functional()
    assert 0.0 <= functional["roc_auc_toxicity"] <= 1.0 and 0.0 <= functional["roc_auc_identity_attack"] <= 1.0
    per = functional["per_functionality"]
    assert {"derogation", "counter_speech"} <= set(per)
    assert all(0.0 <= f[key] <= 1.0 for f in per.values() for key in ("mean_toxicity", "mean_identity_attack"))
    assert not any("correct_at_review_threshold" in f for f in per.values())  # a single fit has no cut-off


def test_the_nb_member_weight_weighs_the_two_members_of_the_average() -> None:
    # Each label's coefficients are (plain + w * nb) / (1 + w): w = 0 is the plain member alone,
    # w = 1 the mean, and any other w lies where the formula puts it.
    texts, y = generated(400, seed=5)
    X = NgramTfidf(max_word_features=2000, max_char_features=4000).fit_transform(texts)
    y = y.astype(float)
    y[::7, LABELS.index("threat")] = np.nan  # a label not annotated on every row

    def coef(**kwargs: float) -> np.ndarray:
        return MaskedMultiLabel(C=2.0, seed=13, **kwargs).fit(X, y).coef_

    plain = coef(nb_member_weight=0.0)
    np.testing.assert_allclose(plain, MaskedMultiLabel(C=2.0, nb_ensemble=False, seed=13).fit(X, y).coef_)
    nb = 2 * coef(nb_member_weight=1.0) - plain
    assert not np.allclose(nb, plain)
    np.testing.assert_allclose(coef(nb_member_weight=3.0), (plain + 3 * nb) / 4, atol=1e-12)


def test_a_recipe_variant_merges_objects_and_turns_lists_into_tuples() -> None:
    base = RECIPES["default"]
    assert base.window is not None
    changed = recipe_variant(base, {"C": 4, "source_weights": {"olid": 1.4}, "window": {"widths": [1, 2], "seed": 14}})
    assert changed.C == 4 and base.C == 2.0
    assert changed.source_weights == {**base.source_weights, "olid": 1.4}
    assert changed.window == replace(base.window, widths=(1, 2), seed=14)
    assert recipe_variant(base, {"sources": ["jigsaw"]}).sources == ("jigsaw",)
    assert recipe_variant(base, {}) == base
    with pytest.raises(ValueError, match="not Recipe fields: nope"):
        recipe_variant(base, {"nope": 1})
    with pytest.raises(ValueError, match="no window block"):
        recipe_variant(replace(base, window=None), {"window": {"seed": 1}})
