"""How a retrained candidate's thresholds are chosen: on validation rows weighted like a site."""

from __future__ import annotations

import numpy as np

from classifier.data import Dataset
from classifier.labels import LABELS
from classifier.retrain import TABLE_RECIPE, BaseData, threshold_weights
from classifier.train import RECIPES

TOX, SPAM = LABELS.index("toxicity"), LABELS.index("spam")


def rows(source: str, toxic: list[int], natural: bool = True, spam: bool = False) -> Dataset:
    y = np.full((len(toxic), len(LABELS)), np.nan)
    y[:, TOX] = toxic
    if spam:
        y[:, SPAM] = 1.0
    n = len(toxic)
    return Dataset(
        [f"{source} {i}" for i in range(n)], y, [source] * n, [f"{source}:{i}" for i in range(n)], np.full(n, natural)
    )


def test_a_recipe_base_weighs_validation_rows_like_a_site() -> None:
    # Training rows set the natural bad share (1 in 10); validation holds a skewed Jigsaw pool,
    # Davidson (83% toxic: not a site's balance) and YouTube spam.
    train = rows("jigsaw", [1] + [0] * 9)
    val = Dataset.concat(
        [
            rows("jigsaw", [1, 1, 1, 0], natural=False),
            rows("davidson", [1] * 5 + [0]),
            rows("youtube", [0, 0], spam=True),
        ]
    )
    base = BaseData(RECIPES["default"], train, val, val, [])
    w = threshold_weights(base)
    assert w is not None and w.shape == (len(val),)
    source = np.array(val.source)
    assert (w[source == "davidson"] == 0).all()
    spam_share = RECIPES["default"].site_spam_share
    assert np.isclose(w[source == "youtube"].sum(), spam_share)
    jigsaw_bad = w[:3].sum() / w[:4].sum()
    assert np.isclose(jigsaw_bad, 0.1)  # the three toxic pool rows stand for the natural 10%


def test_a_sites_own_table_weighs_every_row_alike() -> None:
    table = rows("base", [1, 0, 0, 1])
    assert threshold_weights(BaseData(TABLE_RECIPE, table, table, table, [])) is None


def test_a_label_with_few_rows_of_a_class_gets_no_roc_auc() -> None:
    """On a handful of positives the AUC moves by more than the gate's margin by chance."""
    from classifier import default_model_path, load_model
    from classifier.evaluate import MIN_CLASS_ROWS
    from classifier.retrain import evaluate

    model = load_model(default_model_path())
    fine = [f"Thanks for the report on the bridge, part {i}." for i in range(MIN_CLASS_ROWS)]
    bad = [f"You are a stupid idiot number {i}." for i in range(MIN_CLASS_ROWS)]
    y = np.full((2 * MIN_CLASS_ROWS, len(LABELS)), np.nan)
    y[:, TOX] = [0] * MIN_CLASS_ROWS + [1] * MIN_CLASS_ROWS
    assert set(evaluate(model, fine + bad, y).roc_auc) == {"toxicity"}
    assert evaluate(model, fine[1:] + bad, y[1:]).roc_auc == {}  # nine fine rows
