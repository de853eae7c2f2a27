"""Word lists: whole words, disguises undone, innocent words left alone, one automaton pass."""

from __future__ import annotations

import pytest

from service.domain.wordlist import BANNED, SUSPECT, WordListMatcher, fingerprint

BANNED_TERMS = ["fuck", "shit", "cunt", "ass", "bitch", "bastard", "kill yourself", "scum*"]
SUSPECT_TERMS = ["idiot", "moron", "go back to your country"]
MATCHER = WordListMatcher(BANNED_TERMS, SUSPECT_TERMS)

# (comment, the listed term it disguises)
DISGUISED = [
    ("FUCK this", "fuck"),
    ("Fück off", "fuck"),
    ("f u c k off", "fuck"),
    ("f.u.c.k you", "fuck"),
    ("f-u-c-k you", "fuck"),
    ("f_u_c_k you", "fuck"),
    ("fuuuuuck", "fuck"),
    ("fuuck this", "fuck"),
    ("fucccck", "fuck"),
    ("f\u200buck you", "fuck"),  # zero-width space
    ("fu\u00adck", "fuck"),  # soft hyphen
    ("ｆｕｃｋ", "fuck"),  # full-width letters
    ("sh1t", "shit"),
    ("$hit happens", "shit"),
    ("5h1t", "shit"),
    ("sh!t", "shit"),
    ("shiiiiit", "shit"),
    ("sh-it", "shit"),
    ("s h i t", "shit"),
    ("ѕhіt", "shit"),  # Cyrillic dze and i
    ("𝐬𝐡𝐢𝐭", "shit"),  # mathematical bold
    ("c*nt", "cunt"),
    ("cսnt", "cunt"),  # Armenian u-like letter in a Latin word
    ("c.u.n.t", "cunt"),
    ("@ss", "ass"),
    ("a$$", "ass"),
    ("a\u200bss", "ass"),
    ("b1tch", "bitch"),
    ("b!tch", "bitch"),
    ("biiiitch", "bitch"),
    ("bítch", "bitch"),
    ("b.i.t.c.h", "bitch"),
    ("b@st@rd", "bastard"),
    ("BASTARD", "bastard"),
    ("k i l l yourself", "kill yourself"),
    ("kill    yourself", "kill yourself"),
    ("kill, yourself", "kill yourself"),
    ("k1ll y0urself", "kill yourself"),
    ("scumbag", "scum*"),
    ("SCUMBAGS", "scum*"),
]

INNOCENT = [
    "Scunthorpe United won on Saturday.",
    "The assessment was thorough and the class passed.",
    "An assassin in the embassy, classic passage of a cassette.",
    "Bass players and glass makers assume nothing.",
    "Shitake? No, shiitake mushrooms.",
    "The bitcoin price dropped; the Dickensian hitchhiker shrugged.",
    "As the good god of grammar says, assorted ideas.",
    "Arsenal and Essex, Sussex and Middlesex.",
    "He was an idiotic choice? No: an idiom in idiomatic English.",
    "Moronic is not on the list, and neither is Oxymoron.",
    "Kill the bill, vote for yourself.",
    "Scum is not listed as a whole word here? It is: scum* matches it, but not 'obscure'.",
    "Cocktails, cockpit, peacock, Hancock, shuttlecock.",
    "Therapist, analytics, documentary, pass, mass, grass.",
    "Button, buttress, glasses, harassment.",
]


@pytest.mark.parametrize(("text", "term"), DISGUISED)
def test_disguised_banned_terms_are_caught(text: str, term: str) -> None:
    hits = MATCHER.find(text)
    assert term in {h.term for h in hits}, (text, hits)


def test_at_least_thirty_disguises() -> None:
    assert len(DISGUISED) >= 30


@pytest.mark.parametrize("text", INNOCENT)
def test_words_that_merely_contain_a_term_are_not_flagged(text: str) -> None:
    hits = [h for h in MATCHER.find(text) if h.term != "scum*"]
    assert hits == [], hits


def test_wildcard_term_matches_longer_words_but_not_inside_others() -> None:
    assert {h.term for h in MATCHER.find("what a scumbag")} == {"scum*"}
    assert MATCHER.find("an obscure scumble")[0].term == "scum*"  # prefix wildcard only: "scumble" is caught
    assert MATCHER.find("obscure") == []


def test_spans_point_at_the_original_text() -> None:
    text = "Well, f.u.c.k you and your sh1t."
    hits = MATCHER.find(text)
    assert [(text[h.start : h.end], h.term, h.kind) for h in hits] == [
        ("f.u.c.k", "fuck", BANNED),
        ("sh1t", "shit", BANNED),
    ]


def test_multi_word_phrases_match_whole_words_only() -> None:
    hits = MATCHER.find("Why don't you go back to your country, idiot")
    assert {(h.term, h.kind) for h in hits} == {("go back to your country", SUSPECT), ("idiot", SUSPECT)}
    assert MATCHER.find("go back to your countryside") == []


def test_banned_hits_come_before_suspect_hits() -> None:
    hits = MATCHER.find("idiot, fuck")
    assert [h.kind for h in hits] == [BANNED, SUSPECT]


def test_doubling_letters_must_match_exactly_other_letters_may_stretch() -> None:
    matcher = WordListMatcher(["god", "fuck"], [])
    assert matcher.find("good") == []  # 'o' is a letter English doubles: no stretching
    assert [h.term for h in matcher.find("fuuck")] == ["fuck"]  # 'u' is not: "fuuck" is a disguise
    assert [h.term for h in matcher.find("fucccck")] == ["fuck"]  # three or more: visibly stretched


def test_unicode_terms_in_other_scripts() -> None:
    matcher = WordListMatcher(["блять", "scheiße"], [])
    assert [h.term for h in matcher.find("ну блять")] == ["блять"]
    assert [h.term for h in matcher.find("So eine SCHEISSE")] == ["scheiße"]
    assert matcher.find("Ich bin ein Berliner") == []


def test_empty_and_punctuation_only_terms_are_ignored() -> None:
    matcher = WordListMatcher(["", "   ", "!!!", "*"], [])
    assert matcher.size == 0 and matcher.find("anything at all") == []


def test_fingerprint_ignores_case_disguise_and_spacing() -> None:
    assert fingerprint("Buy CHEAP pills now!!!") == fingerprint("buy  cheap p1lls n0w")
    assert fingerprint("Buy cheap pills now") != fingerprint("Buy cheap pills later")


def test_ten_thousand_terms_build_and_match() -> None:
    terms = [f"zq{i:05d}x" for i in range(10_000)]
    matcher = WordListMatcher(terms + ["fuck"], [])
    assert matcher.size == 10_001
    assert [h.term for h in matcher.find("zq04242x and f.u.c.k")] == ["zq04242x", "fuck"]
