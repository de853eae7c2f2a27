"""The shortcuts in text normalization change nothing (hypothesis): each step's hint and back-up
may only skip text where its pattern cannot match, the rewritten repeat pattern finds what the
original one did, and ``_normalize`` equals a reference that runs every regex over the whole text."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier.normalize import (
    _CHAR_MAP,
    _CONFUSABLE_HINT_RE,
    _CONFUSABLE_WORD_RE,
    _DOUBLING,
    _REPEAT_RE,
    _SPACE_RE,
    _STEPS_AFTER_URLS,
    _URL_HINT_RE,
    _URL_RE,
    _back_to_space,
    _collapse_repeats,
    _confusable_mapper,
    _map_confusables,
    _normalize,
    _normalize_tracked,
    _sub_hinted,
)

# The repeat pattern as it was first written, with its replacement: the reference for the rewrite.
ORIGINAL_REPEAT_RE = re.compile(r"([a-z])\1{2,}|([^a-z\s])\2{3,}")


def original_collapse_repeats(match: re.Match[str]) -> str:
    ch = match.group(1)
    if ch is not None:
        return ch * 2 if ch in _DOUBLING else ch
    return match.group(2) * 3


def normalize_reference(text: str) -> str:
    """``_normalize`` with no shortcut: every pattern runs over the whole text, as ``sub``."""
    text = text.translate(_CHAR_MAP)
    if not text.isascii():
        text = _CONFUSABLE_WORD_RE.sub(_confusable_mapper(text), text)

    def rewrite(segment: str) -> str:
        for pattern, repl, _, _ in _STEPS_AFTER_URLS:
            if pattern is _REPEAT_RE:
                pattern, repl = ORIGINAL_REPEAT_RE, original_collapse_repeats
            segment = pattern.sub(repl, segment)
        return segment

    pieces: list[str] = []
    last = 0
    for url in _URL_RE.finditer(text):
        pieces.append(rewrite(text[last : url.start()]))
        pieces.append(url.group(0))
        last = url.end()
    pieces.append(rewrite(text[last:]))
    return _SPACE_RE.sub(" ", "".join(pieces)).strip()


# Every hinted step, plus the look-alike step of ``_normalize`` (pattern, replacement, hint, back-up).
HINTED = [step for step in _STEPS_AFTER_URLS if step[2] is not None] + [
    (_CONFUSABLE_WORD_RE, _map_confusables, _CONFUSABLE_HINT_RE, _back_to_space)
]
STEP_IDS = ["leet", "masked", "inner_punct", "spaced", "confusables"]
assert len(HINTED) == len(STEP_IDS)

# Characters the steps care about: letters (some doubling, some not), leet, masks, inner
# punctuation, separators, look-alikes and genuine Cyrillic, digits that are not leet, a newline.
STEP_ALPHABET = "abfikostuz0134578@$!|+€9*#%.-_~^: 26\n\u0430\u043e\u0435\u0440\u043f\u0434\u03bf\u0436x"
URL_BITS = ["http://", "https://", "www.", ".com", ".co", ".net", ".org", ".ly", ".io", ".info", ".biz", "/", "a.b"]
step_texts = st.one_of(
    st.text(alphabet=STEP_ALPHABET, max_size=60),
    st.text(alphabet="ab1!*. -", max_size=40),
    st.lists(
        st.sampled_from([*STEP_ALPHABET, *URL_BITS, "f u c k", "f.u.c.k", "sh1t", "f*ck", "aaa", "!!!!", "  "]),
        max_size=25,
    ).map("".join),
    st.text(max_size=60),
)
# Raw comments: the above, plus upper case, zero-width and control characters, Unicode look-alikes.
RAW_EXTRA = [
    "F U C K",
    "\u200b",
    "\u00ad",
    "\ufeff",
    "\t",
    "\r\n",
    "\x00",
    "\u00a0",
    "\uff46\uff55\uff43\uff4b",
    "\u0192",
    "é",
]
raw_texts = st.one_of(
    step_texts,
    st.lists(st.sampled_from([*STEP_ALPHABET, *URL_BITS, *RAW_EXTRA, "ASS", "S H I T", "...."]), max_size=30).map(
        "".join
    ),
)


def sub_los(pattern: re.Pattern[str], text: str) -> list[int]:
    """The positions ``sub`` searches from: the start and the end of every match."""
    return [0, *(m.end() for m in pattern.finditer(text))]


@settings(max_examples=300, deadline=None)
@given(step_texts)
@pytest.mark.parametrize("step", HINTED, ids=STEP_IDS)
def test_a_hint_and_its_back_up_never_skip_a_match(step: tuple, text: str) -> None:
    pattern, _, hint, back = step
    for lo in sub_los(pattern, text):
        match = pattern.search(text, lo)
        found = hint.search(text, lo)
        if match is None:
            continue
        assert found is not None, "a match holds no hint"
        start = back(text, found.start(), lo)
        assert lo <= start <= match.start(), "the back-up passed over a match"


@settings(max_examples=300, deadline=None)
@given(step_texts)
@pytest.mark.parametrize("step", HINTED, ids=STEP_IDS)
def test_hinted_substitution_equals_plain_substitution(step: tuple, text: str) -> None:
    pattern, repl, hint, back = step
    assert _sub_hinted(pattern, repl, hint, back, text) == pattern.sub(repl, text)


url_texts = st.lists(st.sampled_from(["a", "b1", "x-", ".", "/", " ", ":", "w", "\u00e9", *URL_BITS]), max_size=10).map(
    "".join
)


@settings(max_examples=500, deadline=None)
@given(st.one_of(url_texts, step_texts))
def test_url_hint_is_in_every_url(text: str) -> None:
    if _URL_RE.search(text) is not None:
        assert _URL_HINT_RE.search(text) is not None


@settings(max_examples=300, deadline=None)
@given(st.one_of(step_texts, st.text(alphabet="aeo z.!?\n\t-_#*12", max_size=60)))
def test_rewritten_repeat_pattern_finds_what_the_original_did(text: str) -> None:
    assert [m.span() for m in _REPEAT_RE.finditer(text)] == [m.span() for m in ORIGINAL_REPEAT_RE.finditer(text)]
    assert _REPEAT_RE.sub(_collapse_repeats, text) == ORIGINAL_REPEAT_RE.sub(original_collapse_repeats, text)


@settings(max_examples=400, deadline=None)
@given(raw_texts)
def test_normalize_equals_the_reference_that_runs_every_regex(text: str) -> None:
    assert _normalize(text) == normalize_reference(text)
    assert _normalize_tracked(text).text == normalize_reference(text)


EVASIONS = [
    "f*ck you",
    "what the f**k, sh*t!",
    "You are a f u c k i n g idiot",
    "a f u c k",
    "i h a t e you",
    "f.u.c.k off, s-h-i-t, well-known end.start",
    "sh1t @ss b!tch 5h!7 @user covid19 mp3 12th 4real",
    "fuuuuuuck shiiiit noooo!!!!! ....... ---- ???",
    "see http://example.com/x?a=1 and www.foo.org, bar.co.uk, me@mail.com, x.ly/abc",
    "a.com b.net c.org d.ly e.io f.co g.info h.biz https://i ftp://j",
    "\u0430\u0455\u0455hole and \u03b9d\u03b9\u03bft",
    "\u0440\u0443\u0441\u0441\u043a\u0438\u0439 \u0442\u0435\u043a\u0441\u0442 \u0430\u0455\u0455",
    "f\u200bu\u200bc\u200bk, f\u00adu\u00adc\u00adk, \uff46\uff55\uff43\uff4b",
    "\U0001d41f\U0001d42e\U0001d41c\U0001d424 \u24d5\u24e4\u24d2\u24da",
    "ⓕⓤⓒⓚ ƒuck ſhit ℌell ﬁne ß",
    "k i l l  y o u r s e l f\n\nd i e",
    "###### *** %%% a*b*c x#y",
    "  leading and trailing   spaces\t\t",
    "",
]


@pytest.mark.parametrize("text", EVASIONS)
def test_evasions_normalize_as_the_reference_does(text: str) -> None:
    assert _normalize(text) == normalize_reference(text)
