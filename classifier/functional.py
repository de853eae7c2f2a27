"""A small functional test suite for hate and abuse detection, written for this project.

In the spirit of HateCheck (Röttger et al. 2021): short templated sentences per functionality,
hateful cases and non-hateful contrasts that share their words (negation, counter-speech,
neutral and positive identity mentions, abuse of non-protected targets, non-hateful profanity).
It is a proxy for the private functional benchmark, so its templates, verbs and adjectives are
deliberately different from the training templates in :mod:`classifier.augment`; the identity
groups are the ones such suites use and necessarily overlap. Because the same author wrote both,
treat its scores as optimistic.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Case", "functional_cases", "FUNCTIONAL_GROUPS"]


@dataclass(frozen=True, slots=True)
class Case:
    """One test sentence: its functionality, whether it is hateful, and the target group."""

    functionality: str
    text: str
    hateful: bool
    group: str


# (plural, singular noun phrase, identity adjective/noun for "I am ...")
FUNCTIONAL_GROUPS: tuple[tuple[str, str, str], ...] = (
    ("women", "a woman", "a woman"),
    ("trans people", "a trans person", "trans"),
    ("gay people", "a gay person", "gay"),
    ("black people", "a black person", "black"),
    ("disabled people", "a disabled person", "disabled"),
    ("Muslims", "a Muslim", "a Muslim"),
    ("immigrants", "an immigrant", "an immigrant"),
)

_TEMPLATES: dict[str, tuple[bool, tuple[str, ...]]] = {
    "derogation": (
        True,
        (
            "{P} are so revolting.",
            "I really can't stand {p}.",
            "{P} make me sick to my stomach.",
            "{P} are the lowest form of life.",
            "Honestly, {p} are pathetic.",
            "{P} are a stain on humanity.",
        ),
    ),
    "dehumanisation": (
        True,
        (
            "{P} are nothing but rats.",
            "{P} are not even human.",
            "{P} are just pigs walking on two legs.",
            "To me {p} are no better than insects.",
        ),
    ),
    "threat": (
        True,
        (
            "I want to see all {p} dead.",
            "{P} should all be hanged in public.",
            "It's time to exterminate {p}.",
            "I'm going to stab {s} as soon as I get the chance.",
        ),
    ),
    "hate_phrased_as_opinion_or_question": (
        True,
        (
            "I think {p} are inferior to the rest of us.",
            "Why are {p} always so disgusting?",
            "In my opinion {p} are a burden on society.",
        ),
    ),
    "hate_spelling_variants": (
        True,
        (
            "{P} are d1sgusting.",
            "Honestly, I h@te {p} and always will.",
            "{P} are f*cking trash.",
            "k i l l all {p}",
        ),
    ),
    "negated_hate": (
        False,
        (
            "{P} are not rats.",
            "I would never want to hurt {s}.",
            "I don't think {p} are inferior at all.",
            "{P} are in no way a burden.",
        ),
    ),
    "neutral_identity": (
        False,
        (
            "I'm {i}, for what it's worth.",
            "We are a family of {p}.",
            "My best friend is {i}.",
            "{P} come from all walks of life.",
            "The new committee includes three {p}.",
            "Speaking as {s}, this bus route matters to me.",
        ),
    ),
    "positive_identity": (
        False,
        (
            "{P} are brilliant.",
            "I admire {p} so much.",
            "I'm so proud to be {i}.",
            "Our town is lucky to have {p}.",
        ),
    ),
    "counter_speech": (
        False,
        (
            "Calling {p} rats is vile.",
            "Anyone who says {p} are inferior is spreading lies.",
            "You can't go around saying {p} should die.",
            "It's disgusting how people treat {p} online.",
        ),
    ),
}

# Abuse aimed at non-protected targets and profanity without a target are not hate speech.
_UNGROUPED: dict[str, tuple[bool, tuple[str, ...]]] = {
    "abuse_of_non_protected_target": (
        False,
        (
            "Politicians are all lying scum.",
            "Bankers are greedy parasites.",
            "The referees today were utterly useless.",
            "Cyclists who run red lights are idiots.",
        ),
    ),
    "profanity_not_hateful": (
        False,
        (
            "Fuck yeah, what a goal!",
            "Holy shit, this is great news.",
            "Damn, I wish I had been there.",
            "That concert was fucking amazing.",
        ),
    ),
    "neutral_no_identity": (
        False,
        (
            "The council will vote on the new bike lanes next week.",
            "Thanks for the detailed reporting on the flood.",
            "I disagree with the columnist, the numbers don't add up.",
            "Does anyone know when the library reopens?",
        ),
    ),
}


def functional_cases() -> list[Case]:
    """Every case of the suite, grouped templates expanded over :data:`FUNCTIONAL_GROUPS`."""
    cases: list[Case] = []
    for functionality, (hateful, templates) in _TEMPLATES.items():
        for plural, singular, identity in FUNCTIONAL_GROUPS:
            for template in templates:
                text = template.format(p=plural, P=plural[0].upper() + plural[1:], s=singular, i=identity)
                cases.append(Case(functionality, text, hateful, plural))
    for functionality, (hateful, templates) in _UNGROUPED.items():
        for template in templates:
            cases.append(Case(functionality, template, hateful, ""))
    return cases
