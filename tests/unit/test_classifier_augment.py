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
    # about one of the targets, or said to the reader
    assert added and all(any(target in t.lower() for target in (*PERSON_TARGETS, "you")) for t in added)
    assert len(set(more.group)) == len(more)


def test_person_threats_are_threats_and_their_contrasts_are_not_toxic() -> None:
    plain = augmentation_dataset(seed=13)
    more = augmentation_dataset(seed=13, person_threats=True)
    rows = {text: more.y[i] for i, text in enumerate(more.texts[len(plain) :], start=len(plain))}
    threats = [y for t, y in rows.items() if t.lower().startswith("someone needs to kill ")]
    assert threats
    for y in threats:
        assert y[L["toxicity"]] == 1 and y[L["threat"]] == 1 and y[L["identity_attack"]] == 0
    contrast = rows["Someone needs to fact-check the author."]
    assert contrast[L["toxicity"]] == 0 and contrast[L["threat"]] == 0
    # a target is mostly named in contrasts, so the threat's words carry the score, not the target
    for target in PERSON_TARGETS:
        labels = [y[L["toxicity"]] for t, y in rows.items() if target in t.lower()]
        assert 0 < float(np.mean(labels)) < 0.4, target
