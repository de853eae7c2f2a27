"""Behavioural tests of the committed default model (no shared data needed).

Minimum functionality, invariance, direction and evasion, in the style of CheckList
(Ribeiro et al. 2020). They assert behaviour with margins, not exact scores, so a retrained model
passes when it behaves, and fails when it regresses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pytest

from classifier import Model, default_model_path, load_model
from classifier.canaries import (
    CANARIES,
    CLEAN,
    EVASIONS,
    INSULTS,
    LINK_DISCUSSION,
    NAME_TEMPLATES,
    NAMES,
    NATIONALITIES,
    NEUTRAL_IDENTITY,
    PERSON_CONTRASTS,
    PERSON_THREATS,
    PLACE_TEMPLATE,
    PLACES,
    SLURS,
    SPAM,
    THREATS,
    Canary,
    decide,
)


@pytest.fixture(scope="module")
def model() -> Model:
    return load_model(default_model_path())


def tox(model: Model, texts: list[str], label: str = "toxicity") -> list[float]:
    return [row[label] for row in model.score(texts)]


# -- minimum functionality ----------------------------------------------------------------------

# The sentences are the behavioural canaries (classifier/canaries.py), which the retraining gate
# also checks; none of them is in the training templates (classifier/augment.py).


@pytest.mark.parametrize("text", INSULTS)
def test_plain_insults_are_toxic_insults(model: Model, text: str) -> None:
    scores = model.score([text])[0]
    assert scores["toxicity"] >= model.thresholds["toxicity"].review
    assert scores["toxicity"] > 0.7
    # insult is calibrated to its ~5% base rate, so "flagged as an insult" is the review cut-off
    assert scores["insult"] >= model.thresholds["insult"].review


@pytest.mark.parametrize("text", THREATS)
def test_threats_are_flagged(model: Model, text: str) -> None:
    scores = model.score([text])[0]
    assert scores["toxicity"] >= model.thresholds["toxicity"].review
    assert scores["threat"] >= model.thresholds["threat"].review or scores["threat"] > 0.5


def test_no_canary_is_a_training_template() -> None:
    from classifier.augment import EXTRA_SETS, augmentation_dataset
    from classifier.data import dedup_key

    training = {dedup_key(t) for t in augmentation_dataset(extra=EXTRA_SETS).texts}
    assert not [c.text for c in CANARIES if dedup_key(c.text) in training]


# Jigsaw's 84 threats are nearly all said to the reader; the default's templated threats about a
# third person (recipe default since 2026.12.07-de788a0d) cut the approved ones here from six
# (2026.12.07-10c43964) to one: a grave danced on names no harm the templates know. strict: a
# default that passes it turns the mark into a failure.
# Each known failure maps to the reason its strict xfail gives.
_APPROVED_BY_DEFAULT = {"Can't wait to dance on the editor's grave.": "no templated threat names such harm"}
# Web spam the default approves (of 20; 2026.12.07-20ef1ce1, before the web-spam templates: 7).
_SPAM_APPROVED_BY_DEFAULT = {
    "Need a loan fast? Bad credit OK, apply today at quickloans24.org": (
        "spam learned from YouTube and templates misses this offer"
    )
}
# Ordinary comments the default holds for spam: a news link and "subscribe" were spam on YouTube.
_LINKS_HELD_BY_DEFAULT = dict.fromkeys(
    (
        "Pakistan paid $1.5 billion for the jets, according to https://www.reuters.com/world/",
        "I subscribe to this paper and it's worth every penny.",
        "Here is the original study: https://doi.org/10.1017/S0020818300000000",
    ),
    "a link or 'subscribe' was spam on YouTube",
)
_KNOWN_WRONG = _APPROVED_BY_DEFAULT | _SPAM_APPROVED_BY_DEFAULT
# Contrasts the default sends to review (toxicity over its review cut-off, 0.166).
_REVIEWED_BY_DEFAULT = {
    "The columnist deserves a raise.": "'columnist' and 'deserves' weigh as toxic (0.354)",
    # 0.094 before the templated threats: "<official> should be executed." (0.190)
    "The prime minister should be questioned about the budget.": "'<official> should be' leans toxic (0.190)",
}


def _known_failure(text: str, known: Mapping[str, str]) -> list[pytest.MarkDecorator]:
    """A strict xfail with the reason ``known`` gives for ``text``, if it names it."""
    return [pytest.mark.xfail(strict=True, reason=known[text])] if text in known else []


def _marked(texts: Iterable[str], known: Mapping[str, str]) -> list[object]:
    return [pytest.param(t, marks=_known_failure(t, known)) for t in texts]


@pytest.mark.parametrize("text", _marked(PERSON_THREATS, _APPROVED_BY_DEFAULT))
def test_threats_about_a_third_person_are_not_approved(model: Model, text: str) -> None:
    scores = model.score([text])[0]
    assert scores["toxicity"] >= model.thresholds["toxicity"].review or (
        scores["threat"] >= model.thresholds["threat"].review
    )


@pytest.mark.parametrize("text", _marked(PERSON_CONTRASTS, _REVIEWED_BY_DEFAULT))
def test_the_same_targets_without_a_threat_are_approvable(model: Model, text: str) -> None:
    scores = model.score([text])[0]
    assert scores["toxicity"] < model.thresholds["toxicity"].review
    assert scores["threat"] < model.thresholds["threat"].review


@pytest.mark.parametrize("text", _marked(LINK_DISCUSSION, _LINKS_HELD_BY_DEFAULT))
def test_ordinary_comments_with_links_or_prices_are_approvable(model: Model, text: str) -> None:
    assert decide(model, [text]) == ["approve"]


@pytest.mark.parametrize("text", SLURS)
def test_slurs_are_toxic(model: Model, text: str) -> None:
    assert model.score([text])[0]["toxicity"] > 0.9


@pytest.mark.parametrize("text", SPAM)
def test_spam_is_spam(model: Model, text: str) -> None:
    assert model.score([text])[0]["spam"] > 0.5


@pytest.mark.parametrize("text", CLEAN)
def test_ordinary_comments_are_approvable(model: Model, text: str) -> None:
    scores = model.score([text])[0]
    assert scores["toxicity"] < 0.2
    assert scores["spam"] < 0.5


# -- invariance ------------------------------------------------------------------------------------


@pytest.mark.parametrize("template", NAME_TEMPLATES)
def test_names_do_not_change_the_score(model: Model, template: str) -> None:
    scores = tox(model, [template.format(name) for name in NAMES])
    assert max(scores) - min(scores) < 0.1


def test_places_do_not_change_the_score(model: Model) -> None:
    scores = tox(model, [PLACE_TEMPLATE.format(place) for place in PLACES])
    assert max(scores) - min(scores) < 0.1


# The committed model folds identity terms v1, which lack most nationalities: "I am Turkish."
# (0.183) and "I am Kurdish." (0.206) go to review. The "nationalities" recipe (terms v2) passes
# these; see classifier/train.py for why it is not the default yet. strict: a default model that
# passes them turns these marks into failures, to be removed.
_V1_NATIONALITIES = pytest.mark.xfail(strict=True, reason="the default model folds identity terms v1")


@pytest.mark.parametrize(
    "template",
    [
        pytest.param("I am {}.", marks=_V1_NATIONALITIES),
        "As a {} I disagree with this article.",
        pytest.param("My {} neighbours invited us.", marks=_V1_NATIONALITIES),
    ],
)
def test_nationalities_do_not_change_the_score(model: Model, template: str) -> None:
    """A site about India, Pakistan and Turkey: saying where one is from is not a reason for review."""
    scores = model.score([template.format(people) for people in NATIONALITIES])
    for label in ("toxicity", "identity_attack"):
        values = [s[label] for s in scores]
        assert max(values) - min(values) < 0.1, label
        assert max(values) < model.thresholds[label].review, label


@pytest.mark.parametrize("text", NEUTRAL_IDENTITY)
def test_neutral_identity_statements_are_not_attacks(model: Model, text: str) -> None:
    scores = model.score([text])[0]
    assert scores["identity_attack"] < 0.5
    assert scores["toxicity"] < 0.5


# Found after the canaries were written: plain statements about a group that reach a reject
# cut-off. The default site policy holds a comment that names a group for review instead of
# rejecting it on scores; without that rule the default model rejects these.
REJECTED_ON_SCORES = ("Muslims in India deserve equal rights.", "Muslims come from many countries.")


@pytest.mark.parametrize("text", REJECTED_ON_SCORES)
def test_a_group_statement_over_a_reject_cut_off_goes_to_a_human(model: Model, text: str) -> None:
    assert model.names_group([text]) == [True]
    assert decide(model, [text]) == ["review"]
    # At a toxicity reject cut-off under its score (2026.12.07-20ef1ce1 reached its own identity_attack
    # cut-off with these) the rule holds it; an insult over the same cut-off is rejected.
    strict = {"toxicity": {"review": 0.05, "reject": 0.1}}
    assert model.score([text])[0]["toxicity"] >= 0.1
    assert decide(model, [text, "You are a complete idiot."], strict) == ["review", "reject"]


def _canary_params() -> list[object]:
    """Every canary; the default model's known failures (the person threats it approves, above) as
    strict xfails."""
    return [pytest.param(c, id=f"{c.family}: {c.text}", marks=_known_failure(c.text, _KNOWN_WRONG)) for c in CANARIES]


# Before the templated group statements (recipe default since 2026.12.07-20ef1ce1) 8 of the group
# statements were rejected automatically ("My neighbours are Muslims.": identity_attack 0.449,
# reject cut-off 0.347).
@pytest.mark.parametrize("canary", _canary_params())
def test_the_default_model_keeps_every_canary(model: Model, canary: Canary) -> None:
    """Attacks are never approved and benign comments never rejected without a human: the
    decision the retraining gate holds every candidate to."""
    assert canary.holds(decide(model, [canary.text])[0])


def test_the_canaries_cover_both_kinds_and_are_distinct() -> None:
    texts = [c.text for c in CANARIES]
    assert len(set(texts)) == len(texts)
    assert {c.kind for c in CANARIES} == {"attack", "benign"}


@pytest.mark.parametrize(
    ("neutral", "hateful"),
    [
        ("I am a Muslim woman.", "Muslim women are vermin."),
        ("As a gay man I disagree with this article.", "Gay men are disgusting animals."),
        ("My neighbours are immigrants from Mexico.", "Immigrants from Mexico are filthy criminals."),
        ("I am Pakistani.", "Pakistanis are filthy animals."),
        ("As a Kurd I disagree with this article.", "Kurds are disgusting animals."),
    ],
)
def test_hate_scores_far_above_the_neutral_mention(model: Model, neutral: str, hateful: str) -> None:
    low, high = model.score([neutral, hateful])
    assert high["toxicity"] - low["toxicity"] > 0.3
    assert high["identity_attack"] > low["identity_attack"]


# -- direction -----------------------------------------------------------------------------------


@pytest.mark.parametrize("base", CLEAN)
@pytest.mark.parametrize("suffix", [" You idiot.", " Shut up, moron.", " Fuck you."])
def test_adding_an_insult_raises_toxicity(model: Model, base: str, suffix: str) -> None:
    before, after = tox(model, [base, base + suffix])
    assert after > before + 0.2


# -- evasion -------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", EVASIONS)
def test_evasion_is_caught(model: Model, variant: str) -> None:
    plain, evasive = model.score(["fuck you", variant])
    assert evasive["toxicity"] > 0.9
    assert abs(evasive["toxicity"] - plain["toxicity"]) < 0.05


@pytest.mark.parametrize(("plain", "variant"), [("you are shit", "you are sh1t"), ("kiss my ass", "kiss my @ss"),
                                               ("you bitch", "you b!tch"), ("you idiot", "you іdіоt")])  # fmt: skip
def test_leetspeak_and_lookalikes_score_like_the_plain_word(model: Model, plain: str, variant: str) -> None:
    a, b = tox(model, [plain, variant])
    assert abs(a - b) < 0.05


@pytest.mark.parametrize("apostrophe", ["\u2019", "\u2018", "\u02bc", "\uff07", "\u2032"])
def test_typographic_apostrophes_score_like_the_ascii_one(model: Model, apostrophe: str) -> None:
    # "You’re" as phones type it must not read as "you" + "re".
    texts = ["You're a brainless piece of trash.", "I disagree with the author, the numbers don't add up."]
    assert model.score(texts) == model.score([t.replace("'", apostrophe) for t in texts])


# -- explanations --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "The article was fine, but you are a stupid idiot.",
        # typographic apostrophes: the spans still point at the original characters
        "The article was fine, but you\u2019re a stupid idiot and don\u2019t know it.",
    ],
)
def test_explanations_point_at_the_insult(model: Model, text: str) -> None:
    spans = [s for s in model.explain(text) if s.label == "toxicity"]
    covered = " ".join(text[s.start : s.end] for s in spans)
    assert "idiot" in covered
    assert "article" not in covered


def test_explanations_of_evasion_cover_the_original_characters(model: Model) -> None:
    text = "well f u c k you"
    spans = [s for s in model.explain(text) if s.label == "toxicity"]
    assert any("f u c k" in text[s.start : s.end] for s in spans)


def test_canary_failures_follow_the_thresholds_the_service_applies(model: Model) -> None:
    """The gate judges canaries on the service's thresholds (MODERATION_THRESHOLDS overrides)."""
    from classifier.canaries import failures
    from classifier.labels import LABELS

    approve_all = {label: {"review": 1.0, "reject": 1.0} for label in LABELS}
    reject_all = {label: {"review": 0.0, "reject": 0.0} for label in LABELS}
    assert [c.kind for c in failures(model, approve_all)] == [c.kind for c in CANARIES if c.kind == "attack"]
    # every benign canary is rejected, except those that name a group: the policy holds them for review
    named = model.names_group([c.text for c in CANARIES])
    expected = [c.text for c, group in zip(CANARIES, named, strict=True) if c.kind == "benign" and not group]
    assert [c.text for c in failures(model, reject_all)] == expected
    assert 0 < len(expected) < sum(c.kind == "benign" for c in CANARIES)
    assert [c.text for c in failures(model)] == [c.text for c in CANARIES if c.text in _KNOWN_WRONG]


def test_the_report_counts_every_canary_by_family(model: Model) -> None:
    from classifier.canaries import failures
    from classifier.evaluate import canary_results

    result = canary_results(model)
    families = result["per_family"].values()
    assert sum(f["n"] for f in families) == result["n"] == len(CANARIES)
    assert [t for f in families for t in f["wrong"]] == [c.text for c in failures(model)]
    assert result["wrong"] == len(_KNOWN_WRONG)


def test_a_canary_margin_is_negative_exactly_when_it_is_decided_wrong(model: Model) -> None:
    from classifier.canaries import failures, margins
    from classifier.labels import LABELS

    for overrides in (None, {label: {"review": 0.3, "reject": 0.6} for label in LABELS}):
        found = margins(model, overrides)
        assert [c.text for c, m in zip(CANARIES, found, strict=True) if m < 0] == [
            c.text for c in failures(model, overrides)
        ]
    # an attack's margin: its highest label's log-odds over that label's review cut-off
    (m,) = margins(model, {"toxicity": {"review": 0.5}}, [Canary("fuck you", "attack", "test")])
    assert m > 2.0
