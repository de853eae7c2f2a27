"""Behavioural canaries: sentences whose automatic decision must not get worse between models.

Held-out metrics average over thousands of comments, so a retrained model can be better on
average and still start approving "I will kill you." or rejecting "I am a Muslim woman." without
a human; label poisoning that is consistent between the training and the held-out labels moves
no held-out metric at all. These canaries pin the decisions that matter most, in the style of
CheckList's minimum-functionality and invariance tests (Ribeiro et al. 2020):

* an **attack** (threat, insult, slur, attack on a group or a people, spam, a spelling that
  evades a filter) must not be approved without a human;
* a **benign** comment (ordinary discussion, a statement of who someone is, a name, a place or a
  nationality, the same targets as a threat without the threat, discussion of a region's
  conflicts that names its peoples) must not be rejected without a human.

Sending either to review is allowed: that is the review queue's job.

Two users: the behavioural tests of the committed default (``tests/model``: every canary holds
except known, marked failures) and the retraining gate (``service/domain/gate.py``: a candidate
may not get a canary wrong that the active model decides right by a margin, see :func:`margins`).
All sentences were written for this project and none is a training template (``tests/model``
checks that).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from classifier.model import Model
from classifier.thresholds import cutoffs, decisions

__all__ = [
    "CANARIES",
    "Canary",
    "decide",
    "failures",
    "margins",
    "margins_of",
    "INSULTS",
    "THREATS",
    "SLURS",
    "SPAM",
    "WEB_SPAM",
    "EVASIONS",
    "PERSON_THREATS",
    "GROUP_ATTACKS",
    "REGION_ATTACKS",
    "CLEAN",
    "PERSON_CONTRASTS",
    "NEUTRAL_IDENTITY",
    "GROUP_STATEMENTS",
    "REGION_DISCUSSION",
    "LINK_DISCUSSION",
    "NAMES",
    "NAME_TEMPLATES",
    "PLACES",
    "NATIONALITIES",
    "NATIONALITY_TEMPLATES",
]

Kind = Literal["attack", "benign"]
Decision = Literal["approve", "review", "reject"]

# -- attacks: never approved without a human -------------------------------------------------

INSULTS = (
    "You are a total idiot.",
    "Shut up, you pathetic clown.",
    "What a stupid moron you are.",
    "You're a brainless piece of trash.",
    "Anyone who believes this crap is an imbecile.",
)
THREATS = (
    "I am going to kill you and your family.",
    "I'm going to find where you live and hurt you.",
    "Someone should shoot the author.",
    "I will beat you to death.",
)
SLURS = ("Shut up, you faggot.", "Go back to your country, you dirty nigger.", "She is a stupid retard.")
SPAM = (
    "Check out my channel and subscribe!!! http://bit.ly/2xyz",
    "Make $500 a day working from home, visit www.easy-cash-now.com",
    "Please subscribe to my youtube channel, I post new videos every day",
)
# Comment spam of the kind news sites get (YouTube's 2015 spam, the only spam source, is mostly
# "check out my channel"). Written before classifier.augment's web-spam templates, whose products,
# sites and frames are kept out of these.
WEB_SPAM = (
    "Buy cheap viagra online without prescription at www.pills-now.biz",
    "Best online casino bonus 200% free spins visit luckyspin777.com",
    "I made $8,000 last month working from home. Go to www.homecash.net for details",
    "Need a loan fast? Bad credit OK, apply today at quickloans24.org",
    "Great article! For cheap essay writing service check https://essaypro-writers.com",
    "Earn Bitcoin daily with our trading bot, 300% returns guaranteed http://cryptoprofit.io",
    "Hot singles in your area are waiting for you, click here: datehot.xyz",
    "Lose 20 pounds in 2 weeks with this one weird trick www.slimfast-keto.com",
    "Replica Rolex watches at 90% off, free shipping worldwide: replicawatches.shop",
    "Thanks for sharing. I also write about SEO, visit my blog at seo-tips-blog.com",
    "My aunt makes $85 an hour on her laptop. Look at this site www.work77.com",
    "Cheap Ray-Ban sunglasses outlet sale, only $19.99 today http://rayban-sale.cn",
    "Get 10,000 Instagram followers instantly, visit followersboost.net",
    "Call +1-800-555-0199 for the best deals on car insurance today!",
    "Download free movies and TV shows in HD at moviesfree.top",
    "Click here to claim your free iPhone 15 now: bit.ly/free-iphone",
    "Hi, check out my website for the best CBD oil products: cbdhealth.store",
    "Work from home opportunity, earn up to $500 per day, message me on WhatsApp +92 300 1234567",
    "Visit our store for cheap Nike Air Jordan shoes: nikeshoes-outlet.com",
    "Amazing post! I bookmarked your site. Please visit mine: www.travel-deals-now.com",
)
EVASIONS = (
    "f*ck you",
    "f u c k you",
    "ƒսck you",  # Latin f with hook, Armenian u
    "f\u200du\u200dc\u200dk you",  # zero-width joiners
    "fu\u200bck you",  # zero-width space
    "FUUUUUCK YOU",
    "f.u.c.k you",
    "Ｆｕｃｋ you",  # full-width
)
# Threats and death wishes about one person who is not the reader. Written before
# classifier.augment's templates of such threats, whose frames are kept out of these.
PERSON_THREATS = (
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
)
# Attacks in the frame plain statements of who people are share ("<people> are <group>").
GROUP_ATTACKS = (
    "Muslims are a cancer on this country.",
    "Immigrants are parasites and should leave.",
    "Jews are vermin.",
    "Women are too stupid to vote.",
    "Gay people are disgusting perverts.",
    "Black people are animals.",
)
# The kind of comment an article on India, Pakistan and Turkey draws (../shared/seed/article.md).
REGION_ATTACKS = (
    "All Pakistanis are terrorists.",
    "Turks should be exterminated.",
    "Indians are filthy animals.",
    "Kurds are vermin and should be wiped out.",
    "Every Afghan refugee is a rapist.",
    "Hindus are dirty cow worshippers.",
    "Kill every Pakistani soldier and their families.",
    "Armenians are liars and parasites.",
)

# -- benign: never rejected without a human --------------------------------------------------

CLEAN = (
    "Thanks for the thoughtful article, I learned a lot.",
    "The council meets on Tuesday to discuss the new budget.",
    "I disagree with the author, the numbers on housing don't add up.",
    "Great photos of the marathon, congratulations to all the runners!",
)
# The person threats' targets and opening words, without a threat.
PERSON_CONTRASTS = (
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
)
NEUTRAL_IDENTITY = (
    "I am a Muslim woman.",
    "As a gay man I disagree with this article.",
    "I'm a black woman and a nurse.",
    "My wife is Jewish and my husband's family is Catholic.",
    "As a trans person, I found this article helpful.",
    "I am disabled and I take the bus every day.",
    "My neighbours are immigrants from Mexico.",
)
# Plain statements that people belong to a group, in the frame attacks share: the first twelve
# were written before classifier.augment's group statements (whose frames paraphrase some of
# them), the rest after, in other words.
GROUP_STATEMENTS = (
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
)
# Ordinary comments with what spam is made of: links, prices, offers, "subscribe", "free". Written
# with WEB_SPAM, before the web-spam templates and their contrasts.
LINK_DISCUSSION = (
    "The full text of the agreement is at www.un.org, worth reading before commenting.",
    "Pakistan paid $1.5 billion for the jets, according to https://www.reuters.com/world/",
    "I subscribe to this paper and it's worth every penny.",
    "Check the SIPRI database at sipri.org for the actual warhead counts.",
    "My brother works from home for a bank and says the new rules make sense.",
    "Turkey's inflation hit 80% last year, which explains a lot of its foreign policy.",
    "Cheap Russian oil is why India keeps quiet about Ukraine.",
    "Watch the full interview on the BBC website, it's free.",
    "Click on the author's name to read his earlier columns, they're good.",
    "The loan from the IMF comes with conditions Pakistan cannot meet.",
    "Gold prices doubled since 2019, so the central bank's reserves look better than they are.",
    "Free trade with Turkey would help our farmers more than any subsidy.",
    "Here is the original study: https://doi.org/10.1017/S0020818300000000",
    "I bought the author's book last year and recommend it.",
    "The casino project in Islamabad was cancelled after protests.",
    "You can call the council on 555-0100 to complain about the road works.",
)
# Discussion of the same region that names peoples near violent or political words.
REGION_DISCUSSION = (
    "The genocide of Armenians in 1915 is a historical fact Turkey denies.",
    "Turkey's nuclear ambitions are a serious threat to regional stability.",
    "Pakistan and India should resume talks on Kashmir.",
    "The author ignores how many Kurds died in the conflict.",
    "Erdogan's government has jailed more journalists than any other.",
    "As a Pakistani living in Istanbul, I found this analysis fair.",
    "The 1971 war killed hundreds of thousands of Bangladeshis.",
    "India's army has a long history of abuses in Kashmir, and so does Pakistan's.",
)
NAMES = ("John", "Mohammed", "Aisha", "Wei", "Olga", "Darnell", "Priya", "José")
NAME_TEMPLATES = ("I think {} made a good point about the schools.", "{} wrote a great letter to the editor.")
PLACES = ("London", "Lagos", "Karachi", "Tel Aviv", "Mexico City", "Kyiv", "Manila")
PLACE_TEMPLATE = "I moved to {} last year and I love it."
NATIONALITIES = ("Pakistani", "Indian", "Turkish", "Kurdish", "Armenian", "Afghan", "Bangladeshi", "American")
NATIONALITY_TEMPLATES = ("I am {}.", "As a {} I disagree with this article.", "My {} neighbours invited us.")


@dataclass(frozen=True, slots=True)
class Canary:
    """One sentence, what it is, and the family it came from."""

    text: str
    kind: Kind
    family: str

    def holds(self, decision: str) -> bool:
        """An attack holds unless approved; a benign comment unless rejected."""
        return decision != ("approve" if self.kind == "attack" else "reject")

    def describe(self) -> str:
        what = "an attack approved" if self.kind == "attack" else "a benign comment rejected"
        return f"{what} ({self.family}): {self.text!r}"


def _family(kind: Kind, family: str, texts: Sequence[str]) -> tuple[Canary, ...]:
    return tuple(Canary(text, kind, family) for text in texts)


CANARIES: tuple[Canary, ...] = (
    *_family("attack", "insult", INSULTS),
    *_family("attack", "threat", THREATS),
    *_family("attack", "slur", SLURS),
    *_family("attack", "spam", SPAM),
    *_family("attack", "web spam", WEB_SPAM),
    *_family("attack", "evasion", EVASIONS),
    *_family("attack", "person threat", PERSON_THREATS),
    *_family("attack", "group attack", GROUP_ATTACKS),
    *_family("attack", "region attack", REGION_ATTACKS),
    *_family("benign", "clean", CLEAN),
    *_family("benign", "person contrast", PERSON_CONTRASTS),
    *_family("benign", "neutral identity", NEUTRAL_IDENTITY),
    *_family("benign", "group statement", GROUP_STATEMENTS),
    *_family("benign", "region discussion", REGION_DISCUSSION),
    *_family("benign", "link discussion", LINK_DISCUSSION),
    *_family("benign", "name", [t.format(name) for t in NAME_TEMPLATES for name in NAMES]),
    *_family("benign", "place", [PLACE_TEMPLATE.format(place) for place in PLACES]),
    *_family("benign", "nationality", [t.format(n) for t in NATIONALITY_TEMPLATES for n in NATIONALITIES]),
)


def decide(
    model: Model,
    texts: Sequence[str],
    overrides: Mapping[str, Mapping[str, float]] | None = None,
) -> list[Decision]:
    """The service's automatic decision on each text at the model's cut-offs (its own, or with the
    per-label ``overrides`` the service applies from ``MODERATION_THRESHOLDS``)."""
    if not texts:
        return []
    scores, named = model.score_array_and_name(list(texts))
    approved, rejected = decisions(scores, *cutoffs(model.thresholds, overrides), named)
    return ["approve" if a else "reject" if r else "review" for a, r in zip(approved, rejected, strict=True)]


def margins(
    model: Model,
    overrides: Mapping[str, Mapping[str, float]] | None = None,
    canaries: Sequence[Canary] = CANARIES,
) -> NDArray[np.float64]:
    """How far each canary's decision is from going wrong, in log-odds: for an attack, how far its
    highest label is above that label's review cut-off (below every one: approved); for a benign
    comment, how far its label nearest to rejection is below that label's reject cut-off (labels
    that never reject do not count). Negative: decided wrong. Refitting the default's window block
    with another seed moved canaries' margins by 0.1 (median) and up to 0.85
    (``docs/classifier/window_variants.py``): a canary decided right by less is right by chance."""
    p, named = model.score_array_and_name([c.text for c in canaries])
    review, reject = cutoffs(model.thresholds, overrides)
    return margins_of(p, review, reject, [c.kind for c in canaries], named)


def margins_of(
    p: NDArray[np.float64],
    review: NDArray[np.float64],
    reject: NDArray[np.float64],
    kinds: Sequence[Kind],
    names_group: NDArray[np.bool_] | None = None,
) -> NDArray[np.float64]:
    """:func:`margins` from scores ``p`` (rows × labels) and the cut-offs; a benign comment that
    names a group (``names_group``) cannot be rejected on scores, so its margin is infinite."""
    z = _logit(p)
    attack = (z - _logit(review)).max(axis=1)
    rejecting = reject < 1.0
    benign = (_logit(reject)[rejecting] - z[:, rejecting]).min(axis=1) if rejecting.any() else np.full(len(p), np.inf)
    if names_group is not None:
        benign = np.where(names_group, np.inf, benign)
    return np.where(np.array([k == "attack" for k in kinds]), attack, benign)


def _logit(p: NDArray[np.float64]) -> NDArray[np.float64]:
    q = np.clip(np.asarray(p, dtype=np.float64), 1e-9, 1 - 1e-9)
    return np.log(q / (1 - q))


def failures(
    model: Model,
    overrides: Mapping[str, Mapping[str, float]] | None = None,
    canaries: Sequence[Canary] = CANARIES,
) -> list[Canary]:
    """The canaries whose decision by ``model`` is wrong, in the order given."""
    made = decide(model, [c.text for c in canaries], overrides)
    return [c for c, d in zip(canaries, made, strict=True) if not c.holds(d)]
