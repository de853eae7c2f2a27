"""The templated training rows: what the optional threats about a third person add."""

from __future__ import annotations

import numpy as np

from classifier.augment import PERSON_TARGETS, augmentation_dataset
from classifier.labels import LABELS

L = {name: i for i, name in enumerate(LABELS)}


def test_person_threats_are_added_after_the_other_rows_only_when_asked() -> None:
    plain = augmentation_dataset(seed=13)
    more = augmentation_dataset(seed=13, person_threats=True)
    n = len(plain)
    # the rows every earlier recipe trained on are unchanged, so its artifacts stay reproducible
    assert more.texts[:n] == plain.texts and more.group[:n] == plain.group
    np.testing.assert_array_equal(more.y[:n], plain.y)
    added = more.texts[n:]
    assert added and all(any(target in t.lower() for target in PERSON_TARGETS) for t in added)
    assert len(set(more.group)) == len(more)


def test_person_threats_are_threats_and_their_contrasts_are_not_toxic() -> None:
    plain = augmentation_dataset(seed=13)
    more = augmentation_dataset(seed=13, person_threats=True)
    rows = {text: more.y[i] for i, text in enumerate(more.texts[len(plain) :], start=len(plain))}
    threat = rows["Someone needs to kill the author."]
    assert threat[L["toxicity"]] == 1 and threat[L["threat"]] == 1 and threat[L["identity_attack"]] == 0
    contrast = rows["Someone needs to fact-check the author."]
    assert contrast[L["toxicity"]] == 0 and contrast[L["threat"]] == 0
    # each target gets as many contrasts as it nearly gets threats, so no target becomes toxic
    for target in ("the mayor", "this reporter"):
        labels = [y[L["toxicity"]] for t, y in rows.items() if target in t.lower()]
        assert 0.4 < float(np.mean(labels)) < 0.6
