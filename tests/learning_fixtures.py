"""A small generated base dataset and a new abuse pattern, for the retraining tests.

Plain generated text (templates over small word lists), so the tests do not depend on the shared
datasets: civil news comments, insults built from common insult words, and spam. The "new kind of
abuse" is a made-up slur (``glorbnik``) the base data never contains, used in otherwise civil
sentences — exactly what a model trained on the base data cannot know.
"""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

from classifier.labels import LABELS

NEW_SLUR = "glorbnik"

_TOPICS = [
    "the council budget",
    "the new bridge",
    "the school board meeting",
    "the hospital funding",
    "the bus routes",
    "the election results",
    "the housing plan",
    "the river cleanup",
    "the library hours",
    "the tax proposal",
    "the football season",
    "the museum exhibit",
    "the farmers market",
    "the water prices",
    "the bike lanes",
]
_CIVIL_OPENERS = [
    "Thanks for the reporting on",
    "I have a question about",
    "Interesting piece about",
    "I disagree with the view on",
    "Good summary of",
    "Could you follow up on",
    "My neighbours keep talking about",
    "Useful background on",
    "I was surprised by the numbers on",
    "It would help to compare",
    "Well written article on",
]
_CIVIL_CLOSERS = [
    "I hope the city publishes the full figures.",
    "Looking forward to the next update.",
    "Some context from other towns would help.",
    "The comments here have been thoughtful.",
    "My family has lived here for years and we care about this.",
    "Please keep covering it.",
    "I think both sides make fair points.",
    "The timeline still seems unclear to me.",
    "",
]
_INSULT_WORDS = ["idiot", "moron", "imbecile", "clown", "loser", "fool", "halfwit", "dimwit", "buffoon", "cretin"]
_INSULT_TEMPLATES = [
    "You are a complete {w}, nobody cares about {t}.",
    "Only an {w} would write this garbage about {t}.",
    "Shut up you stupid {w}.",
    "What a pathetic {w} this writer is, {t} deserves better.",
    "Every {w} in this comment section should be banned.",
    "The reporter is a brainless {w} and so is the editor.",
]
_SPAM_TEMPLATES = [
    "Buy cheap {p} now at {u} with free shipping!!!",
    "Earn $500 a day from home, visit {u} for {p}.",
    "Best deal on {p} click {u} limited offer.",
]
_PRODUCTS = ["watches", "pills", "sneakers", "crypto coins", "followers", "loans"]
_URLS = ["www.cheap-deals.biz", "bit.ly/offer99", "www.best-price.top", "shop-now.click"]

# Sentences carrying the new slur: civil-looking carriers, so only the word itself is abusive.
_SLUR_TEMPLATES = [
    "Typical {s} opinion about {t}, as expected.",
    "Only a {s} would write this about {t}.",
    "The mayor is a {s} and everyone knows it.",
    "Another {s} showing up to complain about {t}.",
    "Look at this {s} going on about {t} again.",
    "Of course the {s} crowd is upset about {t}.",
]


def _row(text: str, **labels: float) -> dict[str, object]:
    return {"text": text, **{label: labels.get(label, 0.0) for label in LABELS}}


def base_rows(seed: int = 7) -> list[dict[str, object]]:
    """About 1,100 labeled rows: mostly civil, a quarter insults, some spam."""
    rng = random.Random(seed)
    rows = []
    for opener, topic, closer in itertools.product(_CIVIL_OPENERS, _TOPICS, _CIVIL_CLOSERS):
        if rng.random() < 0.45:
            rows.append(_row(f"{opener} {topic}. {closer}".strip()))
    for template, word, topic in itertools.product(_INSULT_TEMPLATES, _INSULT_WORDS, _TOPICS):
        if rng.random() < 0.3:
            rows.append(_row(template.format(w=word, t=topic), toxicity=1.0, insult=1.0))
    for template, product, url in itertools.product(_SPAM_TEMPLATES, _PRODUCTS, _URLS):
        rows.append(_row(template.format(p=product, u=url), spam=1.0))
    rng.shuffle(rows)
    for i, row in enumerate(rows):
        row["id"] = f"base-{i}"
    return rows


def write_base_table(path: Path, seed: int = 7, *, scramble_labels: bool = False) -> Path:
    """The base table; ``scramble_labels`` shuffles the label columns across rows (a broken data
    pipeline), which yields a deliberately worse model."""
    rows = base_rows(seed)
    if scramble_labels:
        labels = [{label: r[label] for label in LABELS} for r in rows]
        random.Random(seed + 1).shuffle(labels)
        rows = [{**r, **lab} for r, lab in zip(rows, labels, strict=True)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def slur_comments(n: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    combos = list(itertools.product(_SLUR_TEMPLATES, _TOPICS))
    rng.shuffle(combos)
    return [template.format(s=NEW_SLUR, t=topic) for template, topic in combos[:n]]


def civil_comments(n: int, seed: int = 13) -> list[str]:
    rng = random.Random(seed)
    combos = list(itertools.product(_CIVIL_OPENERS, _TOPICS))
    rng.shuffle(combos)
    return [f"{opener} {topic}, it was worth reading." for opener, topic in combos[:n]]


def insult_comments(n: int, seed: int = 17) -> list[str]:
    rng = random.Random(seed)
    combos = list(itertools.product(_INSULT_TEMPLATES, _INSULT_WORDS, _TOPICS))
    rng.shuffle(combos)
    return [template.format(w=word, t=topic) for template, word, topic in combos[:n]]


FRESH_SLUR_COMMENT = f"Honestly, what a {NEW_SLUR} take on the parking fees."


# Policy thresholds the learning tests run the service with: the tiny generated base set is
# perfectly separable, so the thresholds a model picks on it are degenerate (review near 0). Fixed
# overrides make the decision depend on what the model learned, not on that artefact.
TEST_THRESHOLDS: dict[str, dict[str, float]] = {label: {"review": 0.5, "reject": 0.95} for label in LABELS}


def train_base_model(workdir: Path, table: Path) -> tuple[str, bytes]:
    """A model trained on the base table only (no site labels): its version and registry archive."""
    from classifier.registry_format import pack_artifact
    from classifier.retrain import load_base, train_candidate

    base = load_base(str(table), None, log=lambda _line: None)
    model = train_candidate(base, [], 1.0, workdir / "base-model", log=lambda _line: None)
    return model.version, pack_artifact(workdir / "base-model").data
