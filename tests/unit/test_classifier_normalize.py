"""Normalization: evasion is undone, ordinary text survives, offsets point into the original."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from classifier.normalize import normalize, normalize_with_offsets


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("f*ck you", "fuck you"),
        ("F U C K you", "fuck you"),
        ("f.u.c.k off", "fuck off"),
        ("ƒսck", "fuck"),  # Latin f with hook + Armenian u
        ("fu\u200bck", "fuck"),  # zero-width space
        ("f\u200du\u200dc\u200dk", "fuck"),  # zero-width joiners
        ("sh1t happens", "shit happens"),
        ("@ss", "ass"),
        ("b!tch", "bitch"),
        ("fuuuuuck", "fuck"),
        ("sh-it", "shit"),
        ("Ｆｕｃｋ", "fuck"),  # full-width (NFKC)
        ("𝐟𝐮𝐜𝐤", "fuck"),  # mathematical bold (NFKC)
        ("ѕһіт", "ѕһіт"),  # т has no close Latin twin, so the word stays Cyrillic
        ("іdіоt", "idiot"),  # Cyrillic і and о in a Latin-looking word
        ("s\u0336h\u0336i\u0336t\u0336", "shit"),  # strike-through combining marks
        ("kiiiill", "kill"),
    ],
)
def test_evasion_is_undone(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The council voted 7-2 on Tuesday.", "the council voted 7-2 on tuesday."),
        ("Well-known authors met in 2019, tickets were $5.", "well-known authors met in 2019, tickets were $5."),
        ("I don't think so!", "i don't think so!"),
        ("She finished 2nd in the 100m race.", "she finished 2nd in the 100m race."),
        ("Café naïve résumé", "cafe naive resume"),
        ("Look at www.example.com/a1b2 now", "look at www.example.com/a1b2 now"),
        ("Good  good\n\tgood", "good good good"),
        ("Привет, как дела?", "привет, как дела?"),
        ("@user thanks", "@user thanks"),
        ("covid19 and mp3", "covid19 and mp3"),
    ],
)
def test_ordinary_text_is_kept(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize("apostrophe", ["\u2019", "\u2018", "\u02bc", "\uff07", "\u2032"])
def test_apostrophes_typed_otherwise_normalize_to_the_ascii_one(apostrophe: str) -> None:
    # "don’t" from a phone keyboard must read like the "don't" training learned, not "don" + "t".
    text = "I don't think you're right"
    assert normalize(text.replace("'", apostrophe)) == normalize(text) == "i don't think you're right"


def test_offsets_of_a_text_with_typographic_apostrophes_map_to_the_original() -> None:
    text = "Honestly, you\u2019re a f u c k i n g idiot and don\u2019t know it"
    ascii_text = text.replace("\u2019", "'")
    norm = normalize_with_offsets(text)
    assert norm.text == normalize(text) == normalize(ascii_text)
    # Same length as the ASCII text, so every normalized character points at the same place.
    plain = normalize_with_offsets(ascii_text)
    assert (norm.starts, norm.ends) == (plain.starts, plain.ends)
    for word, original in [("you're", "you\u2019re"), ("don't", "don\u2019t"), ("fucking", "f u c k i n g")]:
        start = norm.text.index(word)
        a, b = norm.original_span(start, start + len(word))
        assert text[a:b] == original


def test_offsets_point_back_to_the_original_characters() -> None:
    text = "You are a f u c k i n g idiot"
    norm = normalize_with_offsets(text)
    start = norm.text.index("fucking")
    a, b = norm.original_span(start, start + len("fucking"))
    assert text[a:b] == "f u c k i n g"


def test_offsets_cover_removed_invisible_characters() -> None:
    text = "hi f\u200bu\u200bc\u200bk!"
    norm = normalize_with_offsets(text)
    start = norm.text.index("fuck")
    a, b = norm.original_span(start, start + 4)
    assert text[a:b] == "f\u200bu\u200bc\u200bk"


@given(st.text(max_size=200))
def test_tracked_and_fast_versions_agree(text: str) -> None:
    norm = normalize_with_offsets(text)
    assert norm.text == normalize(text)
    assert len(norm.starts) == len(norm.ends) == len(norm.text)
    for s, e in zip(norm.starts, norm.ends, strict=True):
        assert 0 <= s < e <= len(text)
    assert list(norm.starts) == sorted(norm.starts)


@given(st.text(alphabet=st.sampled_from("abcfkus *.@1!0 \u200b"), max_size=60))
def test_evasion_alphabet_agrees_too(text: str) -> None:
    assert normalize_with_offsets(text).text == normalize(text)


def test_the_normalization_cache_keeps_only_short_texts() -> None:
    from classifier.normalize import CACHED_CHARS, _normalize_cached

    _normalize_cached.cache_clear()
    long_text = "Y0u are such an 1d10t " * (CACHED_CHARS // 10)
    short_text = "Y0u are such an 1d10t"
    assert normalize(long_text).startswith(normalize(short_text))
    assert _normalize_cached.cache_info().currsize == 1  # the short one only
    assert normalize(short_text) == normalize(short_text)
    assert _normalize_cached.cache_info().hits >= 2


def test_every_ascii_character_maps_to_exactly_one_character() -> None:
    # normalize_with_offsets maps ASCII text character for character on this guarantee.
    from classifier.normalize import _CHAR_MAP

    assert all(len(_CHAR_MAP[code]) == 1 for code in range(128))


def test_offsets_of_ascii_and_non_ascii_texts_agree() -> None:
    ascii_text = "You are an  IDIOT!!!! f u c k off, see http://x.example/a"
    wide = ascii_text.replace("IDIOT", "ＩＤＩＯＴ")  # fullwidth: the per-character path
    a, b = normalize_with_offsets(ascii_text), normalize_with_offsets(wide)
    assert a.text == b.text == normalize(ascii_text)
    assert a.starts == b.starts and a.ends == b.ends
