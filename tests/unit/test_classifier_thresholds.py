"""Threshold choice: the chosen cut-offs meet the error targets (with their confidence bound) on the
data they were chosen on, and hold on fresh data from the same distribution."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier.thresholds import choose_policy_thresholds, choose_thresholds, decisions, error_upper_bound


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.05, 0.6))
def test_thresholds_meet_their_error_targets(seed: int, prevalence: float) -> None:
    rng = np.random.default_rng(seed)
    y = (rng.random(3000) < prevalence).astype(float)
    p = np.clip(rng.normal(0.3 + 0.4 * y, 0.15), 0, 1)
    review, reject = choose_thresholds(p, y, approve_error=0.01, reject_error=0.02)
    assert 0.0 <= review <= reject <= 1.0
    approved = p < review
    if approved.any():
        assert y[approved].mean() <= 0.01
    rejected = p >= reject
    if rejected.any() and reject < 1.0:
        assert (1 - y[rejected]).mean() <= 0.02


def test_perfect_scores_decide_everything() -> None:
    y = np.array([0.0] * 90 + [1.0] * 30)
    p = np.concatenate((np.linspace(0.0, 0.3, 90), np.linspace(0.4, 1.0, 30)))
    review, reject = choose_thresholds(p, y, 0.01, 0.02)
    assert (p < review).sum() == 90
    assert (p >= reject).sum() == 30


def test_useless_scores_never_auto_reject() -> None:
    rng = np.random.default_rng(1)
    y = (rng.random(500) < 0.5).astype(float)
    p = rng.random(500)
    _review, reject = choose_thresholds(p, y, 0.01, 0.02)
    assert reject == 1.0


# -- the policy-level choice -----------------------------------------------------------------------


def _scores(rng: np.random.Generator, n: int, prevalence: float, n_labels: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Correlated labels: label 0 is the parent (toxicity), the others are subsets of it."""
    y0 = (rng.random(n) < prevalence).astype(float)
    Y = np.column_stack([y0] + [y0 * (rng.random(n) < 0.4) for _ in range(n_labels - 1)])
    p = np.clip(rng.normal(0.25 + 0.5 * Y, 0.15), 0, 1)
    return p, Y


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.05, 0.5))
def test_policy_thresholds_bound_their_errors_on_the_choice_data(seed: int, prevalence: float) -> None:
    rng = np.random.default_rng(seed)
    p, Y = _scores(rng, 4000, prevalence)
    w = np.ones(len(p))
    chosen = choose_policy_thresholds(p, Y, w, 0.01, 0.02, confidence=0.95)
    approved, rejected = decisions(p, chosen.review, chosen.reject)
    bad = Y.max(axis=1) > 0
    assert not (approved & rejected).any()
    if approved.any():
        assert error_upper_bound(bad[approved], w[approved], 0.95) <= 0.01
    if rejected.any():
        assert error_upper_bound(~bad[rejected], w[rejected], 0.95) <= 0.02
    assert np.all(chosen.reject >= chosen.review)


def test_policy_thresholds_hold_on_fresh_data() -> None:
    rng = np.random.default_rng(7)
    p, Y = _scores(rng, 6000, 0.15)
    chosen = choose_policy_thresholds(p, Y, np.ones(len(p)), 0.01, 0.02, confidence=0.95)
    assert chosen.approved_share > 0.3 and chosen.rejected_share > 0.05
    fresh_p, fresh_Y = _scores(np.random.default_rng(8), 200_000, 0.15)
    approved, rejected = decisions(fresh_p, chosen.review, chosen.reject)
    bad = fresh_Y.max(axis=1) > 0
    assert bad[approved].mean() <= 0.01
    assert (~bad[rejected]).mean() <= 0.02


def test_no_automatic_rejection_without_evidence() -> None:
    rng = np.random.default_rng(1)
    Y = (rng.random((400, 2)) < 0.5).astype(float)
    chosen = choose_policy_thresholds(rng.random((400, 2)), Y, np.ones(400), 0.01, 0.02)
    assert np.all(chosen.reject == 1.0) and chosen.rejected_share == 0.0


def test_rows_with_zero_weight_are_left_out() -> None:
    rng = np.random.default_rng(2)
    p, Y = _scores(rng, 3000, 0.2)
    noise_p, noise_Y = rng.random((3000, 3)), np.ones((3000, 3))  # would ruin every approval
    both = choose_policy_thresholds(
        np.vstack((p, noise_p)), np.vstack((Y, noise_Y)), np.r_[np.ones(3000), np.zeros(3000)], 0.01, 0.02
    )
    alone = choose_policy_thresholds(p, Y, np.ones(3000), 0.01, 0.02)
    np.testing.assert_array_equal(both.review, alone.review)
    np.testing.assert_array_equal(both.reject, alone.reject)


def test_the_error_bound_is_above_the_rate_and_tightens_with_data() -> None:
    few = error_upper_bound(np.array([True] + [False] * 49), np.ones(50), 0.95)
    many = error_upper_bound(np.array([True] * 10 + [False] * 490), np.ones(500), 0.95)
    assert few > many > 0.02
    assert error_upper_bound(np.zeros(30, dtype=bool), np.ones(30), 0.95) == pytest.approx(1 - 0.05 ** (1 / 30))
    # Weighting rows up does not buy confidence: ten rows weighted 100 count as ten rows.
    heavy = error_upper_bound(np.zeros(10, dtype=bool), np.full(10, 100.0), 0.95)
    assert heavy == pytest.approx(error_upper_bound(np.zeros(10, dtype=bool), np.ones(10), 0.95))


def test_labels_not_allowed_to_reject_never_reject() -> None:
    rng = np.random.default_rng(4)
    p, Y = _scores(rng, 4000, 0.2)
    allowed = np.array([True, False, True])
    chosen = choose_policy_thresholds(p, Y, np.ones(len(p)), 0.01, 0.02, can_reject=allowed)
    assert chosen.reject[1] == 1.0 and chosen.reject[0] < 1.0
    everyone = choose_policy_thresholds(p, Y, np.ones(len(p)), 0.01, 0.02)
    np.testing.assert_array_equal(chosen.review, everyone.review)
