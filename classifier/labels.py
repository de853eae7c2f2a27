"""The labels every model scores, in the fixed order of the artifact's weight columns."""

from __future__ import annotations

LABELS: tuple[str, ...] = (
    "toxicity",
    "severe_toxicity",
    "obscene",
    "threat",
    "insult",
    "identity_attack",
    "spam",
)

# Labels that only make sense on a toxic comment: a source that says "not toxic" also says
# "not any of these", so its negatives can train them even when it never annotated them.
TOXIC_SUBLABELS: tuple[str, ...] = ("severe_toxicity", "obscene", "threat", "insult", "identity_attack")
