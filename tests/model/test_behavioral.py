"""Behavioural tests of the committed default model (no shared data needed).

Minimum functionality, invariance, direction and evasion, in the style of CheckList
(Ribeiro et al. 2020). They assert behaviour with margins, not exact scores, so a retrained model
passes when it behaves, and fails when it regresses.
"""

from __future__ import annotations

import pytest

from classifier import Model, default_model_path, load_model
from classifier.thresholds import cutoffs, decisions


@pytest.fixture(scope="module")
def model() -> Model:
    return load_model(default_model_path())


def tox(model: Model, texts: list[str], label: str = "toxicity") -> list[float]:
    return [row[label] for row in model.score(texts)]


# -- minimum functionality ----------------------------------------------------------------------

# None of these sentences is in the training templates (classifier/augment.py).
INSULTS = [
    "You are a total idiot.",
    "Shut up, you pathetic clown.",
    "What a stupid moron you are.",
    "You're a brainless piece of trash.",
    "Anyone who believes this crap is an imbecile.",
]
THREATS = [
    "I am going to kill you and your family.",
    "I'm going to find where you live and hurt you.",
    "Someone should shoot the author.",
    "I will beat you to death.",
]
SLURS = ["Shut up, you faggot.", "Go back to your country, you dirty nigger.", "She is a stupid retard."]
SPAM = [
    "Check out my channel and subscribe!!! http://bit.ly/2xyz",
    "Make $500 a day working from home, visit www.easy-cash-now.com",
    "Please subscribe to my youtube channel, I post new videos every day",
]
CLEAN = [
    "Thanks for the thoughtful article, I learned a lot.",
    "The council meets on Tuesday to discuss the new budget.",
    "I disagree with the author, the numbers on housing don't add up.",
    "Great photos of the marathon, congratulations to all the runners!",
]


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


# Threats and death wishes about one person who is not the reader, and sentences that share their
# target or opening words and are none. Written before classifier.augment's templates of such
# threats, whose frames are kept out of these (test_person_threat_probe_is_not_in_the_templates).
PERSON_THREATS = [
    "I hope the author dies in a drone strike.",
    "I hope the author gets cancer.",
    "The world would be better if the author were dead.",
    "May the author rot in hell.",
    "Somebody ought to put a bullet in this columnist.",
    "Can't wait to dance on the editor's grave.",
    "That judge deserves to be strung up.",
    "If I ever meet the writer I will smash his face in.",
    "The prime minister should be dragged out and beaten.",
    "Whoever wrote this needs to be taken out back and shot.",
    "Pray the minister's plane goes down.",
    "I'd pay to see the mayor burn alive.",
]
PERSON_CONTRASTS = [
    "I hope the author writes a follow-up piece.",
    "I hope the author recovers quickly from cancer.",
    "The author died in 2019 and his books live on.",
    "May the author keep writing for years.",
    "The drone strike killed twelve civilians, the report says.",
    "The judge deserves credit for a careful ruling.",
    "The prime minister should be questioned about the budget.",
    "I'd pay to see the mayor debate the challenger.",
    "The minister's plane landed safely in Ankara.",
    "The columnist deserves a raise.",
    "If I ever meet the writer I will thank him.",
    "The world would be better with more reporting like this.",
]


def test_person_threat_probe_is_not_in_the_templates() -> None:
    from classifier.augment import EXTRA_SETS, augmentation_dataset
    from classifier.data import dedup_key

    training = {dedup_key(t) for t in augmentation_dataset(extra=EXTRA_SETS).texts}
    assert not [t for t in PERSON_THREATS + PERSON_CONTRASTS if dedup_key(t) in training]


# The committed model learned threats from Jigsaw's 84, nearly all said to the reader, and auto-
# approves three of these (its predecessor five); the "person_threats" recipe (classifier/train.py)
# approved two and failed other behavioural tests. strict: a default that passes them turns these
# marks into failures.
_APPROVED_BY_DEFAULT = {
    "I hope the author gets cancer.",
    "Can't wait to dance on the editor's grave.",
    "Whoever wrote this needs to be taken out back and shot.",
}
# toxicity 0.288, review cut-off 0.155
_REVIEWED_BY_DEFAULT = {"The columnist deserves a raise."}


def _marked(texts: list[str], known: set[str], reason: str) -> list[object]:
    mark = pytest.mark.xfail(strict=True, reason=reason)
    return [pytest.param(t, marks=mark) if t in known else t for t in texts]


@pytest.mark.parametrize(
    "text", _marked(PERSON_THREATS, _APPROVED_BY_DEFAULT, "the default model has no templated third-person threats")
)
def test_threats_about_a_third_person_are_not_approved(model: Model, text: str) -> None:
    scores = model.score([text])[0]
    assert scores["toxicity"] >= model.thresholds["toxicity"].review or (
        scores["threat"] >= model.thresholds["threat"].review
    )


@pytest.mark.parametrize(
    "text", _marked(PERSON_CONTRASTS, _REVIEWED_BY_DEFAULT, "'columnist' and 'deserves' weigh as toxic")
)
def test_the_same_targets_without_a_threat_are_approvable(model: Model, text: str) -> None:
    scores = model.score([text])[0]
    assert scores["toxicity"] < model.thresholds["toxicity"].review
    assert scores["threat"] < model.thresholds["threat"].review


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

NAMES = ["John", "Mohammed", "Aisha", "Wei", "Olga", "Darnell", "Priya", "José"]
PLACES = ["London", "Lagos", "Karachi", "Tel Aviv", "Mexico City", "Kyiv", "Manila"]


@pytest.mark.parametrize(
    "template",
    ["I think {} made a good point about the schools.", "{} wrote a great letter to the editor."],
)
def test_names_do_not_change_the_score(model: Model, template: str) -> None:
    scores = tox(model, [template.format(name) for name in NAMES])
    assert max(scores) - min(scores) < 0.1


def test_places_do_not_change_the_score(model: Model) -> None:
    scores = tox(model, [f"I moved to {place} last year and I love it." for place in PLACES])
    assert max(scores) - min(scores) < 0.1


NATIONALITIES = ["Pakistani", "Indian", "Turkish", "Kurdish", "Armenian", "Afghan", "Bangladeshi", "American"]


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


NEUTRAL_IDENTITY = [
    "I am a Muslim woman.",
    "As a gay man I disagree with this article.",
    "I'm a black woman and a nurse.",
    "My wife is Jewish and my husband's family is Catholic.",
    "As a trans person, I found this article helpful.",
    "I am disabled and I take the bus every day.",
    "My neighbours are immigrants from Mexico.",
]


@pytest.mark.parametrize("text", NEUTRAL_IDENTITY)
def test_neutral_identity_statements_are_not_attacks(model: Model, text: str) -> None:
    scores = model.score([text])[0]
    assert scores["identity_attack"] < 0.5
    assert scores["toxicity"] < 0.5


# Plain statements that people belong to a group, in the frame attacks share ("<people> are
# <group>"): the first twelve were written before classifier.augment's group statements (whose
# frames paraphrase some of them), the rest after, in other words.
GROUP_STATEMENTS = [
    "My parents are immigrants from Pakistan.",
    "Most of my colleagues are Muslims.",
    "Both my parents are refugees from Syria.",
    "Many nurses in this hospital are immigrants.",
    "Half my class are Hindus.",
    "My neighbours are Muslims.",
    "My neighbours are Jews.",
    "My neighbours are black.",
    "Many of them are women.",
    "They are immigrants, like my own family.",
    "My in-laws are Arabs from Jordan.",
    "The victims were Muslims.",
    "The shopkeepers on my street are mostly immigrants.",
    "All three of my sisters are lesbians.",
    "My students this year are mostly Latinos.",
    "The authors of the study are women.",
    "Our landlords are Arabs and very kind people.",
    "I think both finalists are Muslims.",
]
def decide(model: Model, texts: list[str]) -> list[str]:
    """The service's decision on each text at the model's own cut-offs."""
    approved, rejected = decisions(model.score_array(texts), *cutoffs(model.thresholds))
    return ["approve" if a else "reject" if r else "review" for a, r in zip(approved, rejected, strict=True)]


# Before the templated group statements (recipe default since 2026.12.07-20ef1ce1) 8 of these were
# rejected automatically ("My neighbours are Muslims.": identity_attack 0.449, reject cut-off 0.347).
@pytest.mark.parametrize("text", GROUP_STATEMENTS + NEUTRAL_IDENTITY)
def test_saying_who_people_are_is_never_rejected_automatically(model: Model, text: str) -> None:
    assert decide(model, [text]) != ["reject"]


@pytest.mark.parametrize(
    "text",
    [
        "Muslims are a cancer on this country.",
        "Immigrants are parasites and should leave.",
        "Jews are vermin.",
        "Women are too stupid to vote.",
        "Gay people are disgusting perverts.",
        "Black people are animals.",
    ],
)
def test_attacks_in_the_same_frame_are_not_approved(model: Model, text: str) -> None:
    assert decide(model, [text]) != ["approve"]


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


@pytest.mark.parametrize(
    "variant",
    [
        "f*ck you",
        "f u c k you",
        "ƒսck you",  # Latin f with hook, Armenian u
        "f\u200du\u200dc\u200dk you",  # zero-width joiners
        "fu\u200bck you",  # zero-width space
        "FUUUUUCK YOU",
        "f.u.c.k you",
        "Ｆｕｃｋ you",  # full-width
    ],
)
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
