"""Evaluation helpers, and the separation between training templates and the functional suite."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from classifier import LabelThresholds
from classifier.augment import _NEG_WORDS, EXTRA_SETS, augmentation_dataset
from classifier.data import Dataset, dedup_key, load_civil_spans
from classifier.evaluate import (
    civil_sentences,
    expected_calibration_error,
    identity_slices,
    policy_view,
    span_f1,
)
from classifier.functional import functional_cases
from classifier.labels import LABELS
from classifier.train import RECIPES, sample_weights


def test_span_f1_follows_the_semeval_definition() -> None:
    assert span_f1(set(), set()) == 1.0
    assert span_f1({1, 2}, set()) == 0.0
    assert span_f1(set(), {1}) == 0.0
    assert span_f1({1, 2, 3, 4}, {3, 4, 5, 6}) == pytest.approx(0.5)


POST = "You are a complete idiot and everyone knows it. The council meets again on Tuesday night."


def _civil(root: Path) -> Dataset:
    """One toxic-spans post ("idiot" its span): the post and its two sentences."""
    start = POST.index("idiot")
    rows = [["spans", "text"], [str(list(range(start, start + 5))), POST]]
    for name in ("tsd_train.csv", "tsd_trial.csv"):
        with (root / name).open("w", newline="") as fh:
            csv.writer(fh).writerows(rows if name == "tsd_train.csv" else rows[:1])
    return load_civil_spans(root)


def test_the_news_figure_counts_sentences_not_whole_posts(tmp_path: Path) -> None:
    data = _civil(tmp_path)
    marked = civil_sentences(data, range(len(data)))
    assert [data.texts[i] for i in np.flatnonzero(~marked)] == [POST]  # the post: all toxic, left out
    assert sorted(data.y[marked, 0].tolist()) == [0.0, 1.0]  # its toxic sentence and its clean one


def test_whole_posts_can_weigh_less_than_their_sentences(tmp_path: Path) -> None:
    data = _civil(tmp_path)
    rows = np.arange(len(data))
    recipe = replace(RECIPES["default"], civil_posts_weight=0.25)
    weights = sample_weights(data, rows, recipe)
    assert weights.tolist() == [0.25 if text == POST else 1.0 for text in data.texts]
    np.testing.assert_array_equal(sample_weights(data, rows, RECIPES["default"]), np.ones(len(data)))


def test_calibration_error_is_zero_for_perfect_bins() -> None:
    p = np.array([0.25] * 4 + [0.75] * 4)
    y = np.array([1, 0, 0, 0, 1, 1, 1, 0], dtype=float)
    assert expected_calibration_error(p, y) == pytest.approx(0.0)


def test_policy_view_counts_decisions_and_errors() -> None:
    thresholds = {label: LabelThresholds(0.3, 0.9) for label in LABELS}
    p = np.zeros((4, len(LABELS)))
    p[:, 0] = [0.1, 0.2, 0.5, 0.95]
    Y = np.zeros((4, len(LABELS)))
    Y[:, 0] = [0, 1, 1, 1]
    view = policy_view(p, Y, thresholds)
    assert view["auto_approved"] == 0.5 and view["auto_rejected"] == 0.25 and view["human_review"] == 0.25
    assert view["error_in_approved"] == 0.5  # one of the two approved comments was toxic
    assert view["error_in_rejected"] == 0.0


def test_identity_slices_split_each_source_by_identity_mentions() -> None:
    thresholds = {label: LabelThresholds(0.3, 0.9) for label in LABELS}
    named = np.array([True, True, False, False, True])
    sources = ["a", "a", "a", "a", "b"]
    p = np.zeros((5, len(LABELS)))
    p[:, 0] = [0.95, 0.2, 0.1, 0.95, 0.1]
    Y = np.zeros((5, len(LABELS)))
    Y[:, 0] = [0, 1, 0, 1, 0]
    out = identity_slices(named, p, Y, sources, thresholds)
    assert set(out) == {"a", "b"}
    mentions, rest = out["a"]["identity"]["policy"], out["a"]["no identity"]["policy"]
    assert (mentions["n"], rest["n"]) == (2, 2)
    # at the cut-offs alone (the evidence for the group rule): the fine comment naming a group is
    # rejected, the attack approved, wrong both ways
    assert mentions["error_in_rejected"] == 1.0 and mentions["error_in_approved"] == 1.0
    assert rest["error_in_rejected"] == 0.0 and rest["error_in_approved"] == 0.0
    # too few rows of each class for a ROC AUC (as everywhere in the report)
    assert out["a"]["identity"]["toxicity"] == {"n": 2, "positives": 1}
    assert out["b"]["no identity"]["policy"]["n"] == 0


def test_policy_view_holds_comments_that_name_a_group_for_review() -> None:
    thresholds = {label: LabelThresholds(0.3, 0.9) for label in LABELS}
    p = np.zeros((3, len(LABELS)))
    p[:, 0] = [0.95, 0.95, 0.1]
    Y = np.zeros((3, len(LABELS)))
    Y[:, 0] = [0, 1, 0]
    view = policy_view(p, Y, thresholds, names_group=np.array([True, False, True]))
    assert view["n_rejected"] == 1 and view["error_in_rejected"] == 0.0
    assert view["human_review"] == round(1 / 3, 4)


def test_functional_suite_is_not_in_the_training_templates() -> None:
    training = {dedup_key(t) for t in augmentation_dataset(extra=EXTRA_SETS).texts}
    cases = functional_cases()
    assert not [c.text for c in cases if dedup_key(c.text) in training]
    hateful_words = {"revolting", "rats", "pigs", "insects", "exterminate", "inferior", "burden", "pathetic"}
    assert not hateful_words & set(_NEG_WORDS)


def test_functional_suite_has_hateful_cases_and_contrasts() -> None:
    cases = functional_cases()
    assert {c.hateful for c in cases} == {True, False}
    assert {"negated_hate", "counter_speech", "neutral_identity"} <= {c.functionality for c in cases}
