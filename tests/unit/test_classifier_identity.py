"""Identity folding: which words become the placeholder, under which versioned set of terms."""

from __future__ import annotations

import pytest

from classifier.identity import (
    DEFAULT_TERMS,
    IDENTITY_TERM_SETS,
    LATEST_TERMS,
    PLACEHOLDER,
    mentions_identity,
    prepare_text,
    prepare_text_with_offsets,
)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("I am Turkish.", f"i am {PLACEHOLDER}."),
        ("Pakistanis are people.", f"{PLACEHOLDER} are people."),
        ("As a Kurd I disagree.", f"as a {PLACEHOLDER} i disagree."),
        # Several words, one group: one placeholder.
        ("Sri Lankans and Native Americans", f"{PLACEHOLDER} and {PLACEHOLDER}"),
        # A whole word only.
        ("Turkishness and turkeys", "turkishness and turkeys"),
    ],
)
def test_the_latest_set_folds_nationalities(text: str, folded: str) -> None:
    assert prepare_text(text, terms=LATEST_TERMS) == folded


@pytest.mark.parametrize("text", ["Polish the English and French text.", "The Roman empire.", "I love Pakistan."])
def test_languages_and_countries_are_not_people(text: str) -> None:
    assert PLACEHOLDER not in prepare_text(text, terms=LATEST_TERMS)


def test_the_first_set_is_kept_for_the_artifacts_trained_with_it() -> None:
    assert DEFAULT_TERMS == "v1"  # the committed default model's; changing it needs a retrained one
    assert prepare_text("I am Turkish and Muslim.") == f"i am turkish and {PLACEHOLDER}."
    assert set(IDENTITY_TERM_SETS["v1"]) < set(IDENTITY_TERM_SETS[LATEST_TERMS])
    assert prepare_text("I am Turkish.", identity_mask=False, terms=LATEST_TERMS) == "i am turkish."


def test_offsets_still_point_at_the_original_word() -> None:
    text = "Yes, Sri Lankans live here."
    norm = prepare_text_with_offsets(text, terms=LATEST_TERMS)
    at = norm.text.index(PLACEHOLDER)
    assert text[norm.starts[at] : norm.ends[at]] == "Sri Lankans"
    assert mentions_identity([norm.text]).tolist() == [True]


def test_an_unknown_set_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown identity term set 'v9'"):
        prepare_text("I am Turkish.", terms="v9")
