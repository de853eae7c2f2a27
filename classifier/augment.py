"""Templated training sentences that teach the model what identity terms do and do not mean.

Bag-of-n-gram models trained on real comments learn that identity words ("gay", "Muslim",
"black") are themselves toxic, because those words appear mostly in attacks. These sentences
put the same words into neutral, positive, negated and counter-speech frames (not toxic) and into
explicit derogation, dehumanisation and threats (toxic, identity attack), so the weight moves from
the identity word to the words that make a sentence an attack. A few individual insults and
threats and ordinary disagreements anchor the other labels.

All sentences were written for this project. They are training material only: the held-out
functional suite in :mod:`classifier.functional` uses different templates and words.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from classifier.data import NAN, Dataset, _Builder, _row

__all__ = ["EXTRA_SETS", "GROUPS", "PERSON_TARGETS", "augmentation_dataset"]

# (plural noun phrase, singular person, adjective or noun used in "I am ...")
GROUPS: tuple[tuple[str, str, str], ...] = (
    ("women", "woman", "a woman"),
    ("trans people", "trans person", "trans"),
    ("gay people", "gay man", "gay"),
    ("lesbians", "lesbian", "a lesbian"),
    ("black people", "black person", "black"),
    ("disabled people", "disabled person", "disabled"),
    ("Muslims", "Muslim", "Muslim"),
    ("immigrants", "immigrant", "an immigrant"),
    ("Jews", "Jewish person", "Jewish"),
    ("Christians", "Christian", "Christian"),
    ("Hindus", "Hindu", "Hindu"),
    ("Asians", "Asian person", "Asian"),
    ("Mexicans", "Mexican", "Mexican"),
    ("refugees", "refugee", "a refugee"),
    ("Arabs", "Arab", "Arab"),
    ("bisexual people", "bisexual person", "bisexual"),
    ("Africans", "African", "African"),
    ("Latinos", "Latino", "Latino"),
    ("atheists", "atheist", "an atheist"),
    ("old people", "old man", "old"),
)

_NEUTRAL = (
    "I am {adj}.",
    "I'm {adj} and I live in this town.",
    "As {adj_a}, I disagree with this article.",
    "As {adj_a}, I think the council made the right call.",
    "My neighbour is {adj} and we often talk about the news.",
    "My sister married a {one} last year.",
    "There are many {plural} in my city.",
    "The report says {plural} were affected by the new law.",
    "{Plural} have lived here for generations.",
    "Several {plural} spoke at the school board meeting.",
    "The article quotes a {one} who runs a bakery downtown.",
    "I grew up with {plural} and went to school with them.",
    "{Plural} should have the same rights as everyone else.",
    "Being {adj} is not a crime.",
    "There is nothing wrong with being {adj}.",
    "Our new mayor is {adj}.",
    "I'm a proud {one}.",
    "What do {plural} think about the new housing plan?",
    "Many {plural} voted in the last election.",
    "A {one} won the marathon this year.",
)
_POSITIVE = (
    "{Plural} are wonderful people.",
    "I love my {one} friends.",
    "{Plural} make this country better.",
    "I have great respect for {plural}.",
    "{Plural} are kind and generous.",
    "We should welcome {plural} in our community.",
)
_NEGATED = (
    "I don't hate {plural}.",
    "I would never say {plural} are {neg}.",
    "{Plural} are not {neg}.",
    "It's not true that {plural} are {neg}.",
    "No, {plural} are not {neg} at all.",
    "Nobody should hurt {plural}.",
    "I don't think {plural} are {neg}.",
    "{Plural} are not {neg}, stop saying that.",
    "It is false that {plural} are {neg}.",
    "I refuse to believe {plural} are {neg}.",
)
_COUNTER = (
    "Saying that {plural} are {neg} is hateful and wrong.",
    "Stop spreading hate about {plural}.",
    "People who call {plural} {neg} should be ashamed.",
    "If you think {plural} are {neg}, you need to meet some.",
    "Comments claiming {plural} are {neg} have no place here.",
    "Hate against {plural} is never acceptable.",
    "Claiming {plural} are {neg} is racist nonsense.",
    "It's hateful to say {plural} are {neg}.",
    "Quit telling people that {plural} are {neg}.",
    "The troll who wrote that {plural} are {neg} got banned, good.",
)
_HATE = (
    "{Plural} are {neg}.",
    "All {plural} are {neg}.",
    "I hate {plural}.",
    "I hate all {plural}, they are {neg}.",
    "{Plural} are {neg} and should go back where they came from.",
    "{Plural} are a plague on this country.",
    "Never trust a {one}, they are all {neg}.",
    "{Plural} ruin everything they touch.",
    "{Plural} are {neg}, every single one of them.",
    "Typical {one}, {neg} as always.",
    "{Plural} shouldn't be allowed to vote.",
    "{Plural} don't deserve any rights.",
    "We need to get rid of {plural}.",
    "{Plural} are not real people.",
    "I despise {plural}.",
    "I loathe {plural}, they are {neg}.",
    "{Plural} disgust me.",
    "{Plural} are the worst, truly {neg}.",
    "{Plural} belong in cages.",
    "Keep {plural} out of our country, they are {neg}.",
    "{Plural} are ruining this country.",
    "Why are {plural} so {neg}?",
    "I honestly believe {plural} are {neg}.",
    "Every {one} I have met was {neg}.",
    "Ugh, {plural}. So {neg}.",
)
_THREAT = (
    "All {plural} should be killed.",
    "We should kill all {plural}.",
    "{Plural} deserve to die.",
    "I'd shoot every {one} I see.",
    "Someone should burn down their homes, those {plural}.",
    "Hang all the {plural}.",
    "{Plural} should be wiped out.",
    "I will murder every {one} I find.",
    "{Plural} need to be eliminated.",
    "Round up all the {plural} and shoot them.",
    "Gas the {plural}.",
    "Burn all {plural}.",
    "I'm going to beat up the next {one} I see.",
)
# Words that make a sentence about a group an attack. Kept disjoint from the words of the held-out
# functional suite (classifier/functional.py) so that suite stays a fair proxy.
_NEG_WORDS = (
    "vermin",
    "filth",
    "animals",
    "parasites",
    "subhuman",
    "scum",
    "a disease",
    "worthless",
    "savages",
    "cockroaches",
    "evil",
    "garbage",
    "repulsive",
    "nasty",
    "filthy",
    "criminals",
    "thieves",
    "rapists",
    "terrorists",
    "liars",
    "lazy",
    "stupid",
    "ugly",
    "a cancer",
    "degenerates",
    "freaks",
    "monsters",
    "beasts",
    "apes",
    "dogs",
    "a virus",
    "useless",
    "dangerous",
    "primitive",
    "sick in the head",
    "a waste of space",
    "less than human",
)

_INSULTS = (
    "You are a complete idiot.",
    "Shut up, you stupid moron.",
    "You're a pathetic loser.",
    "What an idiot you are.",
    "You are dumb as a rock.",
    "Only a moron would write this garbage.",
    "You are a worthless piece of garbage.",
    "Get lost, you clown.",
    "You're an ignorant fool.",
    "The author is a complete imbecile.",
)
_PERSONAL_THREATS = (
    "I will kill you.",
    "I'm going to find you and beat you up.",
    "You better watch your back, I know where you live.",
    "I will break your legs.",
    "Someone should shoot you.",
    "I hope you die.",
)
_DISAGREE = (
    "I completely disagree with you.",
    "You are wrong about the budget numbers.",
    "This article misses the point entirely.",
    "I think your argument is weak and unconvincing.",
    "The mayor's plan is a terrible idea.",
    "That is simply not true, check the facts.",
    "Your comment makes no sense to me.",
    "I strongly object to this policy.",
    "The council has failed this town again.",
    "This is the worst decision the board has made.",
)

# One person who is not the reader: the people a news comment section wishes harm on. Real threat
# positives (84 Jigsaw rows) are nearly all in the second person ("I will kill you"), so death
# wishes about the author scored threat 0.01 and some were approved automatically. Most frames
# have a contrast with the same target and opening words that is no threat; "I'm going to hunt
# down ..." has none: its contrast "I'm going to email ... about this." taught that "I'm going
# to" before "you" is no threat, and the behavioural threat "I'm going to find where you live and
# hurt you." fell under the threat cut-off (model card). Kept disjoint from the
# frames of the held-out probe in tests/model (hope ... dies / gets cancer, better if ... dead,
# rot in hell, a bullet, a grave, strung up, smash ... face, dragged out, taken out back, a plane
# going down, burn alive) and from the functional suite's threats.
PERSON_TARGETS = (
    "the author",
    "the writer",
    "this journalist",
    "the chairman",
    "the mayor",
    "the prime minister",
    "that senator",
    "the president",
    "the columnist",
    "this reporter",
    "the governor",
    "the minister",
)
_PERSON_THREATS = (
    "I wish {t} would drop dead.",
    "{T} should be executed.",
    "Someone needs to kill {t}.",
    "I hope {t} gets hit by a truck.",
    "{T} needs a good beating.",
    "I would love to punch {t} in the face.",
    "Somebody should break {t}'s neck.",
    "{T} will pay for this in blood.",
    "I'm going to hunt down {t}.",
    "Let's hope {t} chokes to death.",
    "{T} should be thrown off a bridge.",
    "Line {t} up against a wall.",
    "{T} deserves a slow and painful death.",
    "Wishing {t} a fatal accident.",
    "Can someone run {t} over?",
    "{T} won't live to see next year if I have my way.",
)
_PERSON_THREAT_TARGETS = 4  # targets per threat frame (every contrast frame takes all of them)
_PERSON_CONTRASTS = (
    "I wish {t} would write more often.",
    "{T} should be invited to speak at the university.",
    "Someone needs to fact-check {t}.",
    "I hope {t} gets the recognition they deserve.",
    "{T} needs a better fact-checker.",
    "I would love to have a coffee with {t}.",
    "{T} will pay for this at the next election.",
    "Let's hope {t} reads these comments.",
    "{T} deserves a long and happy retirement.",
    "Wishing {t} a speedy recovery.",
    "Sad to hear that {t} passed away.",
    "{T} survived the attack, thank goodness.",
    "Can someone send this to {t}?",
)
# Nearly the same threats and contrasts said to the reader. With the third person alone the
# second person's share of threats fell and "I'm going to find where you live and hurt you." fell
# under the threat review cut-off; these did not lift it back over (model card).
_YOU_THREATS = (
    "I wish you would drop dead.",
    "You should be executed.",
    "Someone needs to kill you.",
    "I hope you get hit by a truck.",
    "You need a good beating.",
    "I would love to punch you in the face.",
    "Somebody should break your neck.",
    "You will pay for this in blood.",
    "I'm going to hunt you down.",
    "Let's hope you choke to death.",
    "You should be thrown off a bridge.",
    "You deserve a slow and painful death.",
    "Wishing you a fatal accident.",
    "Can someone run you over?",
    "You won't live to see next year if I have my way.",
)
_YOU_CONTRASTS = (
    "I wish you would write more often.",
    "You should be invited to speak at the university.",
    "Someone needs to fact-check you.",
    "I hope you get the recognition you deserve.",
    "You need a better fact-checker.",
    "I would love to have a coffee with you.",
    "You will pay for this at the next election.",
    "Let's hope you read these comments.",
    "You deserve a long and happy retirement.",
    "Wishing you a speedy recovery.",
    "You survived the attack, thank goodness.",
    "Can someone send this to you?",
)


# Plain statements that people belong to a group, in the frame "<people> are <group>": attacks
# are often phrased that way, so "My neighbours are Muslims." scored identity_attack 0.449, over
# its reject cut-off (0.347), and was rejected automatically. Kept out of the frames of the
# held-out probe in tests/model and of the behavioural tests.
_GROUP_STATEMENTS = (
    "Most of my coworkers are {plural}.",
    "My aunt and uncle are {plural}.",
    "Some of the best teachers at my school are {plural}.",
    "The people who moved in next door are {plural}.",
    "These families are {plural} who came here for work.",
    "A lot of the volunteers were {plural}.",
    "The two candidates are {plural}.",
    "Several of the doctors at the clinic are {plural}.",
    "Are {plural} treated fairly by the courts?",
    "The owners of the restaurant are {plural}.",
    "My roommates are {plural}.",
    "Nearly half of the town's residents are {plural}.",
)

# Comment spam as news sites get it. The only spam source (YouTube, 2015) is mostly "check out my
# channel", so "Buy cheap viagra online ... www.pills-now.biz" scored spam 0.18 and was approved,
# while an ordinary comment citing a news site ("... according to https://www.reuters.com/world/")
# scored 0.98: a link was spam. Offers, sites and frames are kept out of the held-out probe
# (classifier.canaries WEB_SPAM and LINK_DISCUSSION, written first).
_SPAM_FRAMES = (
    "{Offer}! Order now at {site}",
    "Looking for {offer}? Fast delivery, see {site}",
    "Nice post. By the way, we sell {offer} at {site}",
    "Limited time only: {offer}. Details at {site}",
    "I recommend {site} for {offer}, it changed my life!!",
    "{Offer} - contact us today at {site}",
    "Wow thank you for this info. We provide {offer}, visit {site}",
    "Don't miss out on {offer}, sign up now at {site}",
    "Best prices on {offer} anywhere, guaranteed. {site}",
    "Interesting read. Anyone who needs {offer} should go to {site}",
)
_SPAM_OFFERS = (
    "forex trading signals",
    "sports betting tips",
    "designer handbags",
    "cheap web hosting",
    "gold coins and bullion",
    "wholesale electronics",
    "an online degree in 6 weeks",
    "herbal sleep supplements",
    "a premium VPN",
    "discount gift cards",
    "hair loss treatment",
    "football jerseys",
)
_SPAM_SITES = (
    "www.bestdeals4u.net",
    "http://signals-pro.info",
    "https://shop-luxe-bags.com",
    "www.topoffers.online",
    "goldnow-direct.com",
    "https://tinyurl.com/3offer9",
    "www.megasale-store.co",
    "https://fastdegree.org",
)
_SPAM_OFFERS_PER_FRAME = 5
# Ordinary comments that cite a source by its link, or talk about prices and what spam sells.
_CITATION_FRAMES = (
    "According to {src}, the talks ended without a deal.",
    "The figures in this piece match what {src} reported last week.",
    "Source for the numbers: {src}",
    "The site {src} has a good timeline of the dispute if anyone is interested.",
    "I read the same story on {src} yesterday.",
    "There is a longer analysis at {src}, worth a look.",
)
_CITATION_SOURCES = (
    "https://www.dawn.com/news/1600000",
    "www.aljazeera.com",
    "thehindu.com",
    "https://en.wikipedia.org/wiki/Kashmir_conflict",
    "www.hurriyetdailynews.com",
    "https://www.state.gov/reports/",
    "www.imf.org",
    "www.theguardian.com",
)
_CITATIONS_PER_FRAME = 4
_COMMERCE_DISCUSSION = (
    "Prices at the market went up 30% since the currency fell.",
    "My cousin sells handbags online and the new customs rules hurt her business.",
    "The betting scandal cost the cricket board millions.",
    "Free healthcare is not free, someone pays for it in taxes.",
    "Gold coins were the only savings my grandmother trusted.",
    "Online degrees are cheaper but employers here don't value them.",
    "We switched to solar panels last year and our bill halved.",
    "A VPN is the only way to read this paper from Turkey now.",
    "The forex reserves of Pakistan cover barely two months of imports.",
    "Buying a flat in Istanbul costs twice what it did in 2020.",
    "Visit the museum if you are ever in Lahore, it is wonderful.",
    "Order matters here: sign the treaty first, then lift the sanctions.",
)

# Optional sets of templated rows a recipe can add (Recipe.augment_extra), in this order after the
# rows every recipe trains on, so adding one leaves the others' rows as they were.
EXTRA_SETS = ("person_threats", "group_statements", "web_spam")


def _fill(template: str, group: tuple[str, str, str], neg: str) -> str:
    plural, one, adj = group
    adj_bare = adj.split(" ", 1)[1] if adj.startswith(("a ", "an ")) else adj
    adj_a = adj if adj.startswith(("a ", "an ")) else f"a {adj} person"
    text = template.format(
        plural=plural, Plural=plural[0].upper() + plural[1:], one=one, adj=adj, adj_bare=adj_bare, adj_a=adj_a, neg=neg
    )
    return re.sub(r"\b([Aa]) (?=[AEIOUaeiou])", r"\1n ", text)


def augmentation_dataset(seed: int = 13, extra: Sequence[str] = ()) -> Dataset:
    """The templated rows, labelled: toxicity, identity_attack, threat and insult where defined.

    ``extra`` names optional sets (:data:`EXTRA_SETS`): "person_threats", threats and death wishes
    about one person who is not the reader and their contrasts (:data:`PERSON_TARGETS`);
    "group_statements", plain statements that people belong to a group; "web_spam", comment spam
    selling things, with ordinary comments that cite sources by their links or talk about prices.
    """
    unknown = sorted(set(extra) - set(EXTRA_SETS))
    if unknown:
        raise ValueError(f"unknown augmentation set(s) {unknown}; known: {list(EXTRA_SETS)}")
    rng = random.Random(seed)
    b = _Builder("augment")
    n = 0

    def add(text: str, row: list[float]) -> None:
        nonlocal n
        b.add(text, row, f"t{n}", natural=False)
        n += 1

    not_toxic = _row(toxicity=0.0, spam=0.0)
    for group in GROUPS:
        for t in _NEUTRAL + _POSITIVE:
            add(_fill(t, group, ""), not_toxic)
        for t in _NEGATED + _COUNTER:
            for neg in rng.sample(_NEG_WORDS, 2):
                add(_fill(t, group, neg), not_toxic)
        for t in _HATE:
            for neg in rng.sample(_NEG_WORDS, 2):
                add(_fill(t, group, neg), _row(toxicity=1.0, identity_attack=1.0, threat=0.0, insult=NAN))
        for t in _THREAT:
            add(_fill(t, group, ""), _row(toxicity=1.0, identity_attack=1.0, threat=1.0))
    for t in _INSULTS:
        add(t, _row(toxicity=1.0, insult=1.0, identity_attack=0.0, threat=0.0))
    for t in _PERSONAL_THREATS:
        add(t, _row(toxicity=1.0, threat=1.0, identity_attack=0.0))
    for t in _DISAGREE:
        add(t, not_toxic)
    if "person_threats" in extra:
        # Every contrast names every target, each threat a few: a target is in a threat in about a
        # quarter of its rows, under the toxic share of the training rows, so the threat's words
        # carry the score and a plain mention of the mayor does not (with every threat naming every
        # target, "The columnist deserves a raise." went to review).
        threat = _row(toxicity=1.0, threat=1.0, identity_attack=0.0, insult=NAN)
        fill = {target: {"t": target, "T": target[0].upper() + target[1:]} for target in PERSON_TARGETS}
        for t in _PERSON_THREATS:
            for target in rng.sample(PERSON_TARGETS, _PERSON_THREAT_TARGETS):
                add(t.format(**fill[target]), threat)
        for target in PERSON_TARGETS:
            for t in _PERSON_CONTRASTS:
                add(t.format(**fill[target]), not_toxic)
        for t in _YOU_THREATS:
            add(t, threat)
        for t in _YOU_CONTRASTS:
            add(t, not_toxic)
    if "group_statements" in extra:
        for group in GROUPS:
            for t in _GROUP_STATEMENTS:
                add(_fill(t, group, ""), not_toxic)
    if "web_spam" in extra:
        spam = _row(toxicity=0.0, spam=1.0)
        for t in _SPAM_FRAMES:
            for offer in rng.sample(_SPAM_OFFERS, _SPAM_OFFERS_PER_FRAME):
                add(t.format(offer=offer, Offer=offer[0].upper() + offer[1:], site=rng.choice(_SPAM_SITES)), spam)
        for t in _CITATION_FRAMES:
            for src in rng.sample(_CITATION_SOURCES, _CITATIONS_PER_FRAME):
                add(t.format(src=src), not_toxic)
        for t in _COMMERCE_DISCUSSION:
            add(t, not_toxic)
    return b.build()
