"""The templated training rows: what the optional sets (threats about a third person, group statements,
web spam) add."""

from __future__ import annotations

import re

import numpy as np
import pytest

from classifier.augment import _SPAM_OFFERS, _SPAM_SITES, GROUPS, PERSON_TARGETS, augmentation_dataset
from classifier.canaries import LINK_DISCUSSION, WEB_SPAM
from classifier.labels import LABELS

L = {name: i for i, name in enumerate(LABELS)}


def test_person_threats_are_added_after_the_other_rows_only_when_asked() -> None:
    plain = augmentation_dataset(seed=13)
    more = augmentation_dataset(seed=13, extra=("person_threats",))
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
    more = augmentation_dataset(seed=13, extra=("person_threats",))
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


def test_group_statements_name_every_group_and_are_not_toxic() -> None:
    plain = augmentation_dataset(seed=13)
    more = augmentation_dataset(seed=13, extra=("group_statements",))
    added, y = more.texts[len(plain) :], more.y[len(plain) :]
    assert "My roommates are Muslims." in added and "Are old people treated fairly by the courts?" in added
    assert all(any(plural in t for plural, _, _ in GROUPS) for t in added)
    assert (y[:, L["toxicity"]] == 0).all() and (y[:, L["identity_attack"]] == 0).all()


def test_the_extra_sets_add_independently_and_unknown_ones_are_refused() -> None:
    both = augmentation_dataset(seed=13, extra=("person_threats", "group_statements"))
    threats = augmentation_dataset(seed=13, extra=("person_threats",))
    assert both.texts[: len(threats)] == threats.texts
    every = augmentation_dataset(seed=13, extra=("person_threats", "group_statements", "web_spam"))
    assert every.texts[: len(both)] == both.texts
    with pytest.raises(ValueError, match="unknown augmentation set"):
        augmentation_dataset(extra=("typo",))


def test_web_spam_sells_and_its_contrasts_cite_or_talk_prices_all_not_toxic() -> None:
    base = augmentation_dataset(seed=13, extra=("group_statements",))
    more = augmentation_dataset(seed=13, extra=("group_statements", "web_spam"))
    n = len(base)
    assert more.texts[:n] == base.texts  # the default's rows stay as they were
    added, y = more.texts[n:], more.y[n:]
    spam = y[:, L["spam"]] == 1
    assert 40 <= spam.sum() <= 60 and (~spam).sum() >= 30
    assert (y[:, L["toxicity"]] == 0).all()  # selling things is not toxic
    for text, is_spam in zip(added, spam, strict=True):
        if is_spam:
            assert any(site in text for site in _SPAM_SITES), text
    # contrasts carry links too: a link alone must not make a comment spam
    assert sum(bool(re.search(r"www\.|https?://|\.com\b", t)) for t, s in zip(added, spam, strict=True) if not s) >= 20


def test_web_spam_templates_keep_out_of_the_held_out_probe() -> None:
    """The probe (classifier.canaries WEB_SPAM, LINK_DISCUSSION) was written first; the templates
    share neither a sentence, a site nor an offer with it."""
    probe = " ".join((*WEB_SPAM, *LINK_DISCUSSION)).lower()
    for site in _SPAM_SITES:
        host = re.sub(r"^(https?://)?(www\.)?", "", site).split("/")[0]
        assert host not in probe, site
    for offer in _SPAM_OFFERS:
        assert offer.lower() not in probe, offer
