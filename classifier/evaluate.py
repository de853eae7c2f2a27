"""Evaluation: held-out metrics, slices, cross-dataset runs, policy view, spans, report."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import average_precision_score, roc_auc_score

from classifier.labels import LABELS


def label_metrics(p: NDArray[np.float64], y: NDArray[np.float64]) -> dict[str, float]:
    """ROC AUC, PR AUC, Brier score and counts for one label over annotated rows."""
    rows = ~np.isnan(y)
    p, y = p[rows], y[rows]
    out: dict[str, float] = {"n": int(rows.sum()), "positives": int(y.sum())}
    if y.size and 0 < y.sum() < y.size:
        out["roc_auc"] = round(float(roc_auc_score(y, p)), 4)
        out["pr_auc"] = round(float(average_precision_score(y, p)), 4)
        out["brier"] = round(float(np.mean((p - y) ** 2)), 4)
    return out


def heldout_metrics(p: NDArray[np.float64], Y: NDArray[np.float64], sources: Sequence[str]) -> dict[str, Any]:
    """Per-label metrics on the test split, overall and per source."""
    src = np.array(sources)
    per_label = {label: label_metrics(p[:, j], Y[:, j]) for j, label in enumerate(LABELS)}
    per_source: dict[str, dict[str, Any]] = {}
    for s in sorted(set(sources)):
        m = src == s
        per_source[s] = {label: label_metrics(p[m, j], Y[m, j]) for j, label in enumerate(LABELS)}
    return {"per_label": per_label, "per_source": per_source}
