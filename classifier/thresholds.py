"""Policy thresholds chosen for the error rates of the automatic decisions, with a safety margin.

The service decides a comment automatically in two ways (``service/domain/policy.py``): it
approves when every label scores below its ``review`` cut-off and rejects when any label reaches
its ``reject`` cut-off. The targets are about those combined decisions ("at most 1% of
auto-approved comments are bad", "at most 2% of auto-rejected comments are fine"), so the cut-offs
are chosen together on the combined decision, not one label at a time: the labels' rejections
add up, and a label whose own validation data is a skewed sample (spam: YouTube, half spam) meets
its target there and misses it on a real site (the 8% fine among the auto-rejected Wikipedia test
comments of the per-label choice were all spam rejections of comments with a link).

Two things make the choice hold on data it has not seen:

* the validation rows are weighted to look like a site (the caller decides how; see
  ``classifier.train.site_weights``), and
* a cut-off is accepted only if the one-sided upper confidence bound of its error rate (exact
  Clopper-Pearson on the Kish effective sample size of the weighted rows) is within the target.
  A point estimate at exactly the target misses it about half the time on new data, more often
  for small automatic sets (a reject set of 25 comments holds 0 or 1 mistakes by chance).

Per side, each label follows a one-parameter schedule (review: the highest cut-off at which that
label's own positives are at most a share ``a`` of the comments below it; reject: the lowest
cut-off at which at most a share ``b`` of the comments above it are fine) and one common ``a``
(``b``) is searched for the most automatic decisions whose combined error bound meets the target.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats import beta

from classifier.labels import LABELS

__all__ = [
    "PolicyThresholds",
    "choose_policy_thresholds",
    "choose_thresholds",
    "cutoffs",
    "decisions",
    "error_upper_bound",
]

# Schedules are searched over these per-label error levels (log-spaced, small to loose).
_LEVELS = np.concatenate(([0.0], np.geomspace(1e-4, 0.5, 120)))


def error_upper_bound(errors: NDArray[np.bool_], weights: NDArray[np.float64], confidence: float) -> float:
    """One-sided upper confidence bound of the weighted share of ``errors``.

    Exact (Clopper-Pearson) bound for k errors in n trials, with n the Kish effective sample size
    ``(sum w)^2 / sum w^2`` and k the weighted error share times n: weighting a few rows up does
    not buy confidence the data does not have. 1.0 for an empty set.
    """
    total = float(weights.sum())
    if total <= 0:
        return 1.0
    rate = float(weights[errors].sum()) / total
    n_eff = total * total / float((weights * weights).sum())
    k = rate * n_eff
    if k >= n_eff:
        return 1.0
    return float(beta.ppf(confidence, k + 1.0, n_eff - k))


def _cuts(p: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.bool_]]:
    """Sort order, candidate cut values (a cut at k puts sorted rows [0, k) below it) and which
    cuts are realisable as a threshold (no tied scores on both sides)."""
    order = np.argsort(p, kind="stable")
    ps = p[order]
    n = len(ps)
    cut_value = np.concatenate((ps, [1.0]))
    valid = np.ones(n + 1, dtype=bool)
    valid[1:n] = ps[:-1] < ps[1:]
    if n:
        valid[n] = ps[-1] < 1.0
    return cut_value, order, valid


def choose_thresholds(
    p: NDArray[np.float64],
    y: NDArray[np.float64],
    approve_error: float,
    reject_error: float,
    min_support: int = 20,
    max_review: float = 0.5,
    weights: NDArray[np.float64] | None = None,
) -> tuple[float, float]:
    """Review and reject cut-offs for one label on validation scores ``p`` with labels ``y``
    (point estimates; :func:`choose_policy_thresholds` is what training uses).

    review: the highest cut-off such that, among comments scored below it, at most
    ``approve_error`` carry the label; never above ``max_review``. reject: the lowest cut-off such
    that among comments at or above it at most ``reject_error`` lack the label, with at least
    ``min_support`` comments above it; 1.0 (never) when no cut-off achieves that.
    """
    review = _review_cut(p, y, approve_error, max_review, weights)
    reject = _reject_cut(p, y, reject_error, min_support, review, weights)
    return review, reject


def _review_cut(
    p: NDArray[np.float64], y: NDArray[np.float64], level: float, max_review: float, w: NDArray[np.float64] | None
) -> float:
    cut_value, order, valid = _cuts(p)
    ws = np.ones(len(p)) if w is None else w[order]
    w_below = np.concatenate(([0.0], np.cumsum(ws)))
    pos_below = np.concatenate(([0.0], np.cumsum(ws * y[order])))
    rate = np.where(w_below > 0, pos_below / np.maximum(w_below, 1e-12), 0.0)
    ok = np.flatnonzero(valid & (rate <= level) & (cut_value <= max_review))
    return float(cut_value[ok.max()]) if ok.size else 0.0


def _reject_cut(
    p: NDArray[np.float64],
    y: NDArray[np.float64],
    level: float,
    min_support: int,
    floor: float,
    w: NDArray[np.float64] | None,
) -> float:
    cut_value, order, valid = _cuts(p)
    n = len(p)
    ws = np.ones(n) if w is None else w[order]
    ys = y[order]
    w_above = np.concatenate((np.cumsum(ws[::-1])[::-1], [0.0]))
    fine_above = np.concatenate((np.cumsum((ws * (1 - ys))[::-1])[::-1], [0.0]))
    count_above = n - np.arange(n + 1)
    rate = np.where(w_above > 0, fine_above / np.maximum(w_above, 1e-12), 1.0)
    good = np.flatnonzero(valid & (rate <= level) & (count_above >= min_support) & (cut_value >= floor))
    return float(cut_value[good.min()]) if good.size else 1.0


@dataclass(frozen=True)
class PolicyThresholds:
    """Chosen cut-offs per label and what they achieve on the data they were chosen on."""

    review: NDArray[np.float64]
    reject: NDArray[np.float64]
    approved_share: float
    approve_error: float  # weighted share of bad comments among the approved
    approve_bound: float  # its upper confidence bound
    rejected_share: float
    reject_error: float
    reject_bound: float


def cutoffs(
    thresholds: Mapping[str, Any], overrides: Mapping[str, Mapping[str, float]] | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The review and reject cut-offs of every label, in ``LABELS`` order, for :func:`decisions`.

    ``thresholds`` maps a label to its cut-offs (``.review``, ``.reject``); ``overrides`` replaces
    either per label, as the service's ``MODERATION_THRESHOLDS`` does.
    """
    over = overrides or {}
    review = np.array([over.get(label, {}).get("review", thresholds[label].review) for label in LABELS])
    reject = np.array([over.get(label, {}).get("reject", thresholds[label].reject) for label in LABELS])
    return review, reject


def decisions(
    p: NDArray[np.float64],
    review: NDArray[np.float64],
    reject: NDArray[np.float64],
    names_group: NDArray[np.bool_] | None = None,
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Which rows the policy approves and which it rejects automatically (the rest: human review).

    As ``service/domain/policy.py`` decides on scores: reject when any label reaches its reject
    cut-off, where 1.0 means "never"; approve when every label is below its review cut-off. Rows
    that ``names_group`` marks (the comment names an identity group, :meth:`Model.names_group`)
    are never rejected on scores, as in the service's default site policy: they go to review.
    """
    approved: NDArray[np.bool_] = np.asarray((p < review).all(axis=1))
    rejected: NDArray[np.bool_] = np.asarray(((p >= reject) & (reject < 1.0)).any(axis=1) & ~approved)
    if names_group is not None:
        rejected &= ~np.asarray(names_group, dtype=bool)
    return approved, rejected


def choose_policy_thresholds(
    p: NDArray[np.float64],
    Y: NDArray[np.float64],
    weights: NDArray[np.float64],
    approve_error: float,
    reject_error: float,
    confidence: float = 0.95,
    min_support: int = 20,
    max_review: float = 0.5,
    can_reject: NDArray[np.bool_] | None = None,
) -> PolicyThresholds:
    """Review and reject cut-offs for every label, chosen on the combined policy decision.

    ``p``: validation probabilities (rows × labels); ``Y``: their labels (NaN = not annotated);
    ``weights``: how much each row stands for on the target site (0 leaves it out). A comment is
    bad when any annotated label is positive. Among the cut-off vectors of the per-label schedules
    (see the module docstring), the review side takes the one approving the most weight whose
    bad-share bound is at most ``approve_error``; the reject side likewise for the fine-share bound
    and ``reject_error``. Every reject cut-off is 1.0 ("never") when no choice meets the bound, and
    always for the labels ``can_reject`` excludes.
    """
    keep = weights > 0
    p, Y, w = p[keep], Y[keep], weights[keep]
    n_labels = p.shape[1]
    bad = np.nan_to_num(Y, nan=0.0).max(axis=1) > 0
    total = float(w.sum())

    def review_at(level: float) -> NDArray[np.float64]:
        out = np.zeros(n_labels)
        for j in range(n_labels):
            rows = ~np.isnan(Y[:, j])
            out[j] = _review_cut(p[rows, j], Y[rows, j], level, max_review, w[rows]) if rows.any() else 0.0
        return out

    best_review, best_approved = np.zeros(n_labels), -1.0
    for level in _LEVELS:
        review = review_at(float(level))
        share = _approve_share_if_ok(p, review, bad, w, approve_error, confidence)
        if share > best_approved:
            best_review, best_approved = review, share
    # One common level is too strict for labels that add few bad comments of their own (most
    # insults are also toxic): loosen each label's cut-off in turn while the bound still holds.
    for _sweep in range(2):
        for j in range(n_labels):
            for cut in _candidate_cuts(p[:, j], best_review[j], max_review):
                review = best_review.copy()
                review[j] = cut
                share = _approve_share_if_ok(p, review, bad, w, approve_error, confidence)
                if share > best_approved:
                    best_review, best_approved = review, share

    allowed = np.ones(n_labels, dtype=bool) if can_reject is None else can_reject

    def reject_at(level: float) -> NDArray[np.float64]:
        # Per label, "fine" is the comment being fine overall: a toxic comment rejected for its
        # obscenity is a correct rejection.
        return np.array(
            [
                _reject_cut(p[:, j], bad.astype(float), level, min_support, best_review[j], w) if allowed[j] else 1.0
                for j in range(n_labels)
            ]
        )

    never = np.ones(n_labels)
    best_reject, best_rejected = never, 0.0
    for level in _LEVELS:
        reject = reject_at(float(level))
        _approved, rejected = decisions(p, best_review, reject)
        if not rejected.any():
            continue
        bound = error_upper_bound(~bad[rejected], w[rejected], confidence)
        share = float(w[rejected].sum()) / total
        if bound <= reject_error and share > best_rejected:
            best_reject, best_rejected = reject, share

    approved, rejected = decisions(p, best_review, best_reject)
    return PolicyThresholds(
        review=best_review,
        reject=best_reject,
        approved_share=float(w[approved].sum()) / total,
        approve_error=_rate(bad[approved], w[approved]),
        approve_bound=error_upper_bound(bad[approved], w[approved], confidence),
        rejected_share=float(w[rejected].sum()) / total,
        reject_error=_rate(~bad[rejected], w[rejected]),
        reject_bound=error_upper_bound(~bad[rejected], w[rejected], confidence),
    )


def _approve_share_if_ok(
    p: NDArray[np.float64],
    review: NDArray[np.float64],
    bad: NDArray[np.bool_],
    w: NDArray[np.float64],
    target: float,
    confidence: float,
) -> float:
    """Weighted share approved at ``review``, or -1 when its bad-share bound exceeds ``target``."""
    approved = (p < review).all(axis=1)
    if not approved.any() or error_upper_bound(bad[approved], w[approved], confidence) > target:
        return -1.0
    return float(w[approved].sum()) / float(w.sum())


def _candidate_cuts(p: NDArray[np.float64], current: float, max_review: float) -> NDArray[np.float64]:
    """Looser review cut-offs for one label: score quantiles above ``current``, up to ``max_review``."""
    above = p[(p > current) & (p <= max_review)]
    if above.size == 0:
        return np.zeros(0)
    return np.unique(np.quantile(above, np.linspace(0.0, 1.0, 41)))


def _rate(errors: NDArray[np.bool_], w: NDArray[np.float64]) -> float:
    total = float(w.sum())
    return float(w[errors].sum()) / total if total > 0 else 0.0
