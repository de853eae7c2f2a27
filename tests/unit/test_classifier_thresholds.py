"""Threshold choice: the chosen cut-offs meet the error targets on the data they were chosen on."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier.train import choose_thresholds


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
