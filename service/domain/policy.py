"""The decision policy: scores + article mode + thresholds -> status and reasons.

Pure and ordered, after Coral Talk's moderation phases: each phase looks at the
comment and may find something; a rejection ends the run, a hold for review is
kept while later phases still add their findings, and every finding is recorded
as a reason so a moderator (and the author) can see why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from service.domain.types import ArticleMode, Decision, LabelThresholds, Reason, Status

# Human wording for each label, used in reason messages.
LABEL_WORDS: Mapping[str, str] = {
    "toxicity": "toxic language",
    "severe_toxicity": "severely toxic language",
    "obscene": "obscene language",
    "threat": "a threat",
    "insult": "an insult",
    "identity_attack": "an attack on an identity group",
    "spam": "spam",
}


@dataclass(frozen=True)
class PolicyInput:
    scores: Mapping[str, float]
    thresholds: Mapping[str, LabelThresholds]
    mode: ArticleMode = ArticleMode.POSTMOD


@dataclass(frozen=True)
class Finding:
    status: Status | None  # None: nothing to say; PENDING: hold; REJECTED: decisive
    reasons: tuple[Reason, ...] = ()


Phase = Callable[[PolicyInput], Finding]

# A threshold of 1.0 means "never": the model found no cut-off meeting its error target
# (a probability rounded up to 1.0 must not trigger it).
NEVER = 1.0


def score_phase(inp: PolicyInput) -> Finding:
    """Compare every label's score with its thresholds; labels without thresholds are ignored."""
    rejects: list[Reason] = []
    reviews: list[Reason] = []
    for label in sorted(inp.scores):
        limits = inp.thresholds.get(label)
        if limits is None:
            continue
        score = float(inp.scores[label])
        words = LABEL_WORDS.get(label, label)
        if score >= limits.reject and limits.reject < NEVER:
            rejects.append(
                Reason("score_above_reject", f"very likely {words}", label, round(score, 4), limits.reject)
            )
        elif score >= limits.review and limits.review < NEVER:
            reviews.append(
                Reason("score_above_review", f"possibly {words}", label, round(score, 4), limits.review)
            )
    if rejects:
        return Finding(Status.REJECTED, tuple(rejects + reviews))
    if reviews:
        return Finding(Status.PENDING, tuple(reviews))
    return Finding(None)


def mode_phase(inp: PolicyInput) -> Finding:
    """Pre-moderated articles hold every comment the earlier phases did not reject."""
    if inp.mode is ArticleMode.PREMOD:
        return Finding(Status.PENDING, (Reason("article_premoderated", "the article is pre-moderated"),))
    return Finding(None)


PHASES: tuple[Phase, ...] = (score_phase, mode_phase)


def decide(inp: PolicyInput, phases: tuple[Phase, ...] = PHASES) -> Decision:
    """Run the phases in order; the first rejection wins, any hold makes the comment pending."""
    if inp.mode is ArticleMode.CLOSED:
        raise ValueError("closed articles take no comments; refuse before deciding")
    reasons: list[Reason] = []
    status = Status.APPROVED
    for phase in phases:
        finding = phase(inp)
        reasons.extend(finding.reasons)
        if finding.status is Status.REJECTED:
            return Decision(Status.REJECTED, tuple(reasons))
        if finding.status is Status.PENDING:
            status = Status.PENDING
    if not reasons:
        reasons.append(Reason("below_thresholds", "no label reached its review threshold"))
    return Decision(status, tuple(reasons))


def merge_thresholds(
    model: Mapping[str, LabelThresholds], overrides: Mapping[str, Mapping[str, float]]
) -> dict[str, LabelThresholds]:
    """The model's thresholds with operator overrides applied label by label."""
    merged = dict(model)
    for label, values in overrides.items():
        base = merged.get(label)
        review = values.get("review", base.review if base else 1.0)
        reject = values.get("reject", base.reject if base else 1.0)
        merged[label] = LabelThresholds(review=float(review), reject=float(reject))
    return merged
