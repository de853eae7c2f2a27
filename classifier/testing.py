"""Test helpers: a tiny model trained in seconds on generated sentences, so tests (here and in the
service) can exercise a real artifact without the shared data."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from classifier.identity import LATEST_TERMS, prepare_text
from classifier.labels import LABELS
from classifier.model import DataSource, Model
from classifier.train import Recipe, fit_and_save

TOXIC_WORDS = ("idiot", "moron", "stupid", "fuck", "shit")
THREAT_WORDS = ("kill", "shoot", "hurt")
SPAM_PHRASES = ("check out my channel", "subscribe now", "free money at www.example.com")
CLEAN_WORDS = ("council", "budget", "article", "weather", "library", "park", "vote", "thanks", "good", "point")
RECIPE = Recipe(
    name="test",
    max_word_features=3000,
    max_char_features=8000,
    min_df_word=1,
    min_df_char=1,
    source_weights={},
    augment=False,
    identity_terms=LATEST_TERMS,
)


def generated(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """``n`` sentences and their labels (toxicity, insult, obscene, threat, spam; others 0)."""
    rng = random.Random(seed)
    texts, rows = [], []
    for _ in range(n):
        words = rng.choices(CLEAN_WORDS, k=rng.randint(4, 12))
        y = dict.fromkeys(LABELS, 0.0)
        kind = rng.random()
        if kind < 0.25:
            words.insert(rng.randrange(len(words)), rng.choice(TOXIC_WORDS))
            y.update(toxicity=1.0, insult=1.0, obscene=1.0)
        elif kind < 0.35:
            words[:0] = ["i", "will", rng.choice(THREAT_WORDS), "you"]
            y.update(toxicity=1.0, threat=1.0)
        elif kind < 0.45:
            words.append(rng.choice(SPAM_PHRASES))
            y.update(spam=1.0)
        if rng.random() < 0.1:  # severe and identity labels need both classes
            y.update(severe_toxicity=y["toxicity"], identity_attack=y["toxicity"])
        texts.append(" ".join(words))
        rows.append([y[label] for label in LABELS])
    return texts, np.array(rows)


def train_tiny_model(out: Path, recipe: Recipe = RECIPE) -> Model:
    """Fit, calibrate and save the tiny model into ``out`` (``recipe``: the tiny one by default)."""
    train_texts, train_y = generated(600, seed=1)
    # Enough validation rows for the thresholds' confidence bound to allow automatic decisions
    # (with a few hundred, no cut-off can be shown to hold at 95%).
    val_texts, val_y = generated(1500, seed=2)
    return fit_and_save(
        [prepare_text(t, recipe.identity_mask, recipe.identity_terms) for t in train_texts],
        train_y,
        np.ones(len(train_texts)),
        [prepare_text(t, recipe.identity_mask, recipe.identity_terms) for t in val_texts],
        val_y,
        recipe,
        out,
        [DataSource(name="generated", license="n/a")],
        log=lambda _m: None,
    )
