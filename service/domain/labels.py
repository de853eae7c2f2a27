"""Moderator decisions as training labels: pure mapping, no I/O.

A moderator says "approve" or "reject", not which label applies. Approval means none of the
labels applies. Rejection means the comment is bad in the way the moderator's reason names
(``spam``, ``threat``, ``insult``, …, matched as words), and a toxic sub-label implies toxicity;
a rejection that names no label is a ``toxicity`` label, the catch-all of what a site removes.
Labels the decision says nothing about are ``None`` (masked in training).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

# The classifier's labels, in its column order (classifier/labels.py; repeated so the domain
# layer stays free of the ML package — a unit test checks they agree).
MODEL_LABELS: tuple[str, ...] = (
    "toxicity",
    "severe_toxicity",
    "obscene",
    "threat",
    "insult",
    "identity_attack",
    "spam",
)
TOXIC_SUBLABELS = frozenset({"severe_toxicity", "obscene", "threat", "insult", "identity_attack"})
_SYNONYMS: Mapping[str, str] = {
    "severe": "severe_toxicity",
    "obscenity": "obscene",
    "threatening": "threat",
    "insulting": "insult",
    "hate": "identity_attack",
    "identity": "identity_attack",
    "advert": "spam",
    "advertising": "spam",
    "scam": "spam",
}
_WORD = re.compile(r"[a-z_]+")


def named_labels(reason: str | None) -> list[str]:
    """Labels a moderator's free-text reason names, in model order."""
    if not reason:
        return []
    found = set()
    for word in _WORD.findall(reason.lower()):
        label = word if word in MODEL_LABELS else _SYNONYMS.get(word)
        if label:
            found.add(label)
    return [label for label in MODEL_LABELS if label in found]


def labels_for(outcome: str, reason: str | None, labels: Sequence[str] = MODEL_LABELS) -> dict[str, float | None]:
    """Per-label targets for a comment a moderator approved or rejected."""
    if outcome == "approved":
        return {label: 0.0 for label in labels}
    if outcome != "rejected":
        raise ValueError(f"not a decision outcome: {outcome!r}")
    named = named_labels(reason) or ["toxicity"]
    out: dict[str, float | None] = {label: None for label in labels}
    for label in named:
        out[label] = 1.0
        if label in TOXIC_SUBLABELS:
            out["toxicity"] = 1.0
    return out


def overturned(model_status: str | None, outcome: str) -> bool | None:
    """Whether the human overturned the model's automatic decision (None: the model left it to review)."""
    if model_status not in ("approved", "rejected"):
        return None
    return model_status != outcome
