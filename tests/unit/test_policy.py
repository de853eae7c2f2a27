"""The decision policy is pure: exhaustive checks without I/O."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain.policy import LABEL_WORDS, PolicyInput, decide, merge_thresholds
from service.domain.rules import SitePolicy
from service.domain.types import ArticleMode, LabelThresholds, Status
from service.domain.wordlist import BANNED, WordHit

T = {label: LabelThresholds(review=0.5, reject=0.9) for label in LABEL_WORDS}
ZERO = dict.fromkeys(LABEL_WORDS, 0.01)


def test_clean_comment_is_approved_with_a_reason() -> None:
    d = decide(PolicyInput(ZERO, T))
    assert d.status is Status.APPROVED
    assert [r.code for r in d.reasons] == ["below_thresholds"]


def test_review_threshold_holds_for_review_and_names_the_label() -> None:
    d = decide(PolicyInput({**ZERO, "insult": 0.6}, T))
    assert d.status is Status.PENDING
    (reason,) = d.reasons
    assert (reason.code, reason.label, reason.score, reason.threshold) == (
        "score_above_review",
        "insult",
        0.6,
        0.5,
    )


def test_reject_threshold_rejects_and_keeps_every_finding() -> None:
    d = decide(PolicyInput({**ZERO, "threat": 0.95, "insult": 0.7}, T))
    assert d.status is Status.REJECTED
    assert {(r.code, r.label) for r in d.reasons} == {
        ("score_above_reject", "threat"),
        ("score_above_review", "insult"),
    }


def test_thresholds_are_inclusive() -> None:
    assert decide(PolicyInput({**ZERO, "toxicity": 0.5}, T)).status is Status.PENDING
    assert decide(PolicyInput({**ZERO, "toxicity": 0.9}, T)).status is Status.REJECTED


def test_a_threshold_of_one_never_fires() -> None:
    never = {"insult": LabelThresholds(review=0.5, reject=1.0), "spam": LabelThresholds(review=1.0, reject=1.0)}
    d = decide(PolicyInput({"insult": 1.0, "spam": 1.0}, never))
    assert d.status is Status.PENDING
    assert [(r.code, r.label) for r in d.reasons] == [("score_above_review", "insult")]


def test_premod_holds_what_would_be_approved() -> None:
    d = decide(PolicyInput(ZERO, T, ArticleMode.PREMOD))
    assert d.status is Status.PENDING
    assert [r.code for r in d.reasons] == ["article_premoderated"]


def test_a_comment_that_names_a_group_is_held_not_rejected_on_scores() -> None:
    scores = {**ZERO, "identity_attack": 0.95, "toxicity": 0.7}
    d = decide(PolicyInput(scores, T, names_group=True))
    assert d.status is Status.PENDING
    assert [(r.code, r.label, r.score, r.threshold) for r in d.reasons] == [
        ("names_group_held", "identity_attack", 0.95, 0.9),
        ("score_above_review", "toxicity", 0.7, 0.5),
    ]
    assert (
        d.reasons[0].message
        == "very likely an attack on an identity group; held for a moderator because it names an identity group"
    )
    # the site may let the scores decide
    site = SitePolicy(auto_reject_group_mentions=True)
    assert decide(PolicyInput(scores, T, site=site, names_group=True)).status is Status.REJECTED
    # a comment that names no group is rejected as before; other phases still reject group comments
    assert decide(PolicyInput(scores, T)).status is Status.REJECTED
    banned = (WordHit(BANNED, "vermin", 0, 6),)
    assert decide(PolicyInput(scores, T, word_hits=banned, names_group=True)).status is Status.REJECTED


def test_premod_does_not_soften_a_rejection() -> None:
    d = decide(PolicyInput({**ZERO, "toxicity": 0.99}, T, ArticleMode.PREMOD))
    assert d.status is Status.REJECTED


def test_closed_article_is_refused_before_deciding() -> None:
    with pytest.raises(ValueError):
        decide(PolicyInput(ZERO, T, ArticleMode.CLOSED))


def test_labels_without_thresholds_are_ignored() -> None:
    d = decide(PolicyInput({"unknown": 1.0}, T))
    assert d.status is Status.APPROVED


def test_overrides_replace_single_bounds() -> None:
    merged = merge_thresholds(T, {"spam": {"reject": 0.95}, "new": {"review": 0.3}})
    assert merged["spam"] == LabelThresholds(review=0.5, reject=0.95)
    assert merged["new"] == LabelThresholds(review=0.3, reject=1.0)
    assert merged["toxicity"] == T["toxicity"]


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError):
        LabelThresholds(review=0.9, reject=0.5)


scores = st.dictionaries(st.sampled_from(sorted(LABEL_WORDS)), st.floats(0, 1), min_size=1)
modes = st.sampled_from([ArticleMode.POSTMOD, ArticleMode.PREMOD])


@given(scores, modes)
def test_decision_is_monotone_in_the_scores(s: dict[str, float], mode: ArticleMode) -> None:
    """Raising any score never makes the decision more lenient."""
    order = {Status.APPROVED: 0, Status.PENDING: 1, Status.REJECTED: 2}
    before = decide(PolicyInput(s, T, mode))
    raised = {k: min(1.0, v + 0.3) for k, v in s.items()}
    after = decide(PolicyInput(raised, T, mode))
    assert order[after.status] >= order[before.status]


@given(scores, modes)
def test_every_decision_has_a_reason_and_matches_the_thresholds(s: dict[str, float], mode: ArticleMode) -> None:
    d = decide(PolicyInput(s, T, mode))
    assert d.reasons
    worst = max(s.values())
    if worst >= 0.9:
        assert d.status is Status.REJECTED
    elif worst >= 0.5 or mode is ArticleMode.PREMOD:
        assert d.status is Status.PENDING
    else:
        assert d.status is Status.APPROVED
