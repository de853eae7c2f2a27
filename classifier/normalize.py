"""Text normalization that defeats cheap evasion while leaving ordinary text readable.

``normalize(text)`` is what the classifier sees; ``normalize_with_offsets(text)`` returns the same
string plus, for every normalized character, the range of original characters it came from, so
explanations can point at the comment the moderator actually reads. Both run the same steps with
the same replacement functions, so they cannot drift apart (a property test checks it).

Steps, in order (each one documented where it is defined):

1. per code point: NFKC, lower case, Latin diacritics dropped, zero-width/format characters
   removed, control characters and other whitespace turned into a space, characters typed as an
   apostrophe (``’`` and kin) turned into ``'``;
2. look-alike letters from Cyrillic, Greek and Armenian mapped to Latin inside words that are
   written in Latin or consist only of look-alikes (genuine Russian or Greek words are left alone);
3. URLs are set aside so the next steps do not rewrite them;
4. leetspeak (``sh1t``, ``@ss``, ``b!tch``) inside words that also contain letters;
5. masked profanity (``f*ck``, ``sh**``) resolved against a short list of common words;
6. punctuation inside short word pieces removed (``f.u.c.k``, ``sh-it``);
7. spaced-out letters joined (``f u c k``);
8. runs of three or more repeated letters collapsed (``fuuuuck``);
9. whitespace collapsed.

The module is pure (no I/O, no state beyond compiled tables) so other code, e.g. banned-word lists,
can reuse it.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Normalized", "normalize", "normalize_with_offsets", "PROFANITY_STEMS"]

# Zero-width and invisible characters used to split words without a visible gap.
_INVISIBLE = {
    0x00AD,  # soft hyphen
    0x034F,  # combining grapheme joiner
    0x061C,
    0x115F,
    0x1160,
    0x17B4,
    0x17B5,
    0x180E,
    0x200B,
    0x200C,
    0x200D,
    0x200E,
    0x200F,
    0x2060,
    0x2061,
    0x2062,
    0x2063,
    0x2064,
    0x3164,
    0xFEFF,
    0xFFA0,
}

# Letters with no NFKC/NFKD decomposition that people use as Latin look-alikes.
_LATIN_EXTRA = {
    "ƒ": "f",
    "ł": "l",
    "ø": "o",
    "đ": "d",
    "ħ": "h",
    "ı": "i",
    "ȷ": "j",
    "ß": "ss",
    "æ": "ae",
    "œ": "oe",
    "þ": "th",
    "ŧ": "t",
    "ɑ": "a",
    "ɡ": "g",
    "ɩ": "i",
    "ʀ": "r",
    "ʏ": "y",
    "ᴀ": "a",
    "ʙ": "b",
    "ᴄ": "c",
    "ᴅ": "d",
    "ᴇ": "e",
    "ɢ": "g",
    "ʜ": "h",
    "ɪ": "i",
    "ᴊ": "j",
    "ᴋ": "k",
    "ʟ": "l",
    "ᴍ": "m",
    "ɴ": "n",
    "ᴏ": "o",
    "ᴘ": "p",
    "ꜱ": "s",
    "ᴛ": "t",
    "ᴜ": "u",
    "ᴠ": "v",
    "ᴡ": "w",
    "ᴢ": "z",
}

# Characters typed as an apostrophe, mapped to ASCII "'" so "don’t" (phone keyboards, word
# processors) reads like the "don't" training learned; NFKC keeps all but the fullwidth one.
_APOSTROPHES = {
    "\u2018": "'",  # left single quotation mark
    "\u2019": "'",  # right single quotation mark, the typographic apostrophe
    "\u02bc": "'",  # modifier letter apostrophe
    "\u2032": "'",  # prime
    "\uff07": "'",  # fullwidth apostrophe (NFKC already gives "'")
}

# Cyrillic, Greek and Armenian letters that look like Latin ones (lower case only: step 1 has
# already lower-cased). Applied per word, see ``_map_confusables``.
_CONFUSABLES = {
    # Cyrillic
    "а": "a",
    "в": "b",
    "е": "e",
    "ё": "e",
    "з": "3",
    "і": "i",
    "ї": "i",
    "ј": "j",
    "к": "k",
    "м": "m",
    "н": "h",
    "о": "o",
    "п": "n",
    "р": "p",
    "с": "c",
    "т": "t",
    "у": "y",
    "х": "x",
    "ѕ": "s",
    "һ": "h",
    "ԁ": "d",
    "ԛ": "q",
    "ԝ": "w",
    "ь": "b",
    "ү": "y",
    "ӏ": "l",
    "г": "r",
    "и": "u",
    "л": "n",
    # Greek
    "α": "a",
    "β": "b",
    "γ": "y",
    "ε": "e",
    "η": "n",
    "ι": "i",
    "κ": "k",
    "ν": "v",
    "ο": "o",
    "ρ": "p",
    "τ": "t",
    "υ": "u",
    "χ": "x",
    "ω": "w",
    "ς": "s",
    "σ": "o",
    "μ": "u",
    # Armenian
    "ա": "w",
    "ց": "g",
    "հ": "h",
    "ո": "n",
    "ս": "u",
    "օ": "o",
    "ք": "f",
    "զ": "q",
    "ւ": "l",
    "յ": "j",
}

_CONFUSABLE_CHARS = "".join(_CONFUSABLES)
# The subset that is visually near-identical to a Latin letter. A word made only of these is
# treated as disguised Latin; the looser look-alikes above (п for n, и for u) are only mapped in
# words that already contain Latin letters, so genuine Russian ("привет") is left alone.
_STRONG_CONFUSABLES = frozenset("аеёіјкморсухѕһԁԛԝүӏαεικνορτυχսօցհոք")
_CONFUSABLE_TABLE = str.maketrans(_CONFUSABLES)
# A Cyrillic, Greek or Armenian letter with no Latin look-alike: proof the text really uses that script.
_GENUINE_SCRIPT_RE = re.compile(
    "["
    + "".join(
        chr(c)
        for c in [*range(0x0370, 0x0400), *range(0x0400, 0x0530), *range(0x0531, 0x0590)]
        if chr(c).isalpha() and chr(c).islower() and chr(c) not in _CONFUSABLES
    )
    + "]"
)

# Leetspeak substitutes and the letter they stand for. Length-preserving on purpose: offsets
# stay one-to-one.
_LEET = {
    "0": "o",
    "1": "i",
    "3": "e",
    "4": "a",
    "5": "s",
    "7": "t",
    "8": "b",
    "9": "g",
    "@": "a",
    "$": "s",
    "!": "i",
    "|": "l",
    "+": "t",
    "€": "e",
}
_LEET_TABLE = str.maketrans(_LEET)
_LEET_CLASS = "0134578@$!|+€9"

# Common profanity and slur stems that people mask with ``*`` or ``#``. Only used to fill in masked
# letters when exactly the unmasked letters match; never used to flag anything by itself.
PROFANITY_STEMS: tuple[str, ...] = (
    "fuck",
    "fucking",
    "fucker",
    "fucked",
    "motherfucker",
    "shit",
    "shitty",
    "bullshit",
    "cunt",
    "bitch",
    "bitches",
    "dick",
    "dickhead",
    "cock",
    "cocksucker",
    "pussy",
    "ass",
    "asshole",
    "bastard",
    "slut",
    "whore",
    "damn",
    "piss",
    "crap",
    "nigger",
    "nigga",
    "faggot",
    "fag",
    "retard",
    "retarded",
    "idiot",
    "moron",
    "stupid",
    "twat",
    "wanker",
    "prick",
    "kill",
    "die",
)

# Letters that often double in English ("good", "free", "ass", "kill"): a long run of them keeps
# two; any other letter keeps one ("fuuuck" -> "fuck", "shiiit" -> "shit").
_DOUBLING = frozenset("eoslftpmnrdgcbz")

_URL_RE = re.compile(r"(?:https?://|www\.)\S+|\b[a-z0-9.-]+\.(?:com|net|org|ly|io|co|info|biz)(?:/\S*)?")
_WORD_RE = re.compile(r"[^\W\d_]+")
_CONFUSABLE_WORD_RE = re.compile(r"[^\W\d_]*[" + re.escape(_CONFUSABLE_CHARS) + r"][^\W\d_]*")
# A run of letters and leet characters with at least one letter next to a leet character.
_LEET_TOKEN_RE = re.compile(
    r"(?<![a-z"
    + re.escape(_LEET_CLASS)
    + r"])[a-z"
    + re.escape(_LEET_CLASS)
    + r"]*(?:[a-z]["
    + re.escape(_LEET_CLASS)
    + r"]|["
    + re.escape(_LEET_CLASS)
    + r"][a-z])[a-z"
    + re.escape(_LEET_CLASS)
    + r"]*"
)
_ORDINAL_RE = re.compile(r"\d+(?:st|nd|rd|th|s|k|m|b|am|pm|px|kg|km|mb|gb|mm|cm|ft|x|d|h|yo|mph)")
_MASKED_RE = re.compile(r"(?<![a-z])[a-z]*[*#%]+[a-z*#%]*")
_INNER_PUNCT_RE = re.compile(r"(?<![a-z])[a-z]+(?:[.\-_~*+^:]+[a-z]+)+")
_SPACED_RE = re.compile(r"(?<![a-z])[a-z](?:(?: +|[ ._\-*]{1,2})[a-z]){2,}(?![a-z])")
# Three or more of the same letter, or four or more of the same other non-space character. Written
# as "one character, twice more, then by kind" rather than as the equivalent two-branch
# ``([a-z])\1{2,}|([^a-z\s])\2{3,}``, which finds the same matches at about a fifth of the cost
# (``re`` is slow at a repeated back-reference inside a branch); the test in
# tests/unit/test_normalize_prefilters.py compares the two.
_REPEAT_RE = re.compile(r"(.)\1\1(?:(?<=[a-z])\1*|(?<![a-z\s])\1+)")
_SPACE_RE = re.compile(r" {2,}")


class _CharMap(dict[int, str]):
    """Per-code-point map for step 1, filled lazily so only characters actually seen are computed."""

    def __missing__(self, code: int) -> str:
        value = _map_char(chr(code))
        self[code] = value
        return value


def _map_char(ch: str) -> str:
    code = ord(ch)
    if code in _INVISIBLE:
        return ""
    if ch in _APOSTROPHES:
        return _APOSTROPHES[ch]
    category = unicodedata.category(ch)
    if category in ("Cf", "Co", "Cs"):  # format (invisible), private-use and lone surrogates
        return ""
    if category in ("Cc", "Zs", "Zl", "Zp"):
        return " "
    if category == "Mn":  # lone combining marks (zalgo text, diacritics typed separately)
        return ""
    out = []
    for c in unicodedata.normalize("NFKC", ch).lower():
        if c in _LATIN_EXTRA:
            out.append(_LATIN_EXTRA[c])
            continue
        decomposed = unicodedata.normalize("NFKD", c)
        base = decomposed[0]
        # Drop diacritics only from Latin letters; other scripts keep their marks.
        if len(decomposed) > 1 and base.isascii() and base.isalpha():
            out.append(base)
        elif unicodedata.category(c) == "Mn":
            continue
        else:
            out.append(c)
    return "".join(out)


_CHAR_MAP = _CharMap({i: _map_char(chr(i)) for i in range(128)})
# Step 1 for ASCII text, as a bytes table (each ASCII character maps to one ASCII character):
# bytes.translate is several times faster than str.translate with a mapping.
_ASCII_TABLE = bytes(ord(_CHAR_MAP[i]) for i in range(128)) + bytes(range(128, 256))


def _map_ascii(text: str) -> str:
    """Step 1 of an ASCII ``text``: one character for each (tests/unit/test_classifier_normalize.py)."""
    return text.encode("ascii").translate(_ASCII_TABLE).decode("ascii")


_Repl = Callable[[re.Match[str]], str]


def _map_confusables(match: re.Match[str]) -> str:
    word = match.group(0)
    # Map when the word is evidently Latin (has an ASCII letter) or is made only of near-identical
    # look-alikes; a genuine Cyrillic/Greek word nearly always has a letter without a Latin twin.
    if any(c.isascii() for c in word) or all(c in _STRONG_CONFUSABLES for c in word):
        return word.translate(_CONFUSABLE_TABLE)
    return word


def _map_confusables_mixed_only(match: re.Match[str]) -> str:
    # In text that is genuinely Cyrillic/Greek/Armenian ("как дела"), short words made only of
    # look-alikes are real words: only words that also contain Latin letters are disguised.
    word = match.group(0)
    if any(c.isascii() for c in word):
        return word.translate(_CONFUSABLE_TABLE)
    return word


def _confusable_mapper(text: str) -> _Repl:
    return _map_confusables_mixed_only if _GENUINE_SCRIPT_RE.search(text) else _map_confusables


def _map_leet(match: re.Match[str]) -> str:
    token = match.group(0)
    letters = sum(c.isalpha() for c in token)
    digits = sum(c.isdigit() for c in token)
    if digits > letters or _ORDINAL_RE.fullmatch(token):
        return token
    # A leading "@" is a mention ("@user") unless it is "@ss".
    # Trailing "!" is punctuation ("you!") and trailing digits a number ("covid19", "mp3").
    stripped = token.rstrip("!0123456789")
    tail = token[len(stripped) :]
    head = ""
    if stripped.startswith("@") and stripped[1:2] not in ("s", "$"):
        head, stripped = "@", stripped[1:]
    if not stripped:
        return token
    return head + stripped.translate(_LEET_TABLE) + tail


def _build_masked_index() -> dict[int, tuple[str, ...]]:
    index: dict[int, list[str]] = {}
    for stem in PROFANITY_STEMS:
        index.setdefault(len(stem), []).append(stem)
    return {k: tuple(v) for k, v in index.items()}


_MASKED_INDEX = _build_masked_index()


def _unmask(match: re.Match[str]) -> str:
    token = match.group(0)
    if not any(c.isalpha() for c in token):
        return token
    for stem in _MASKED_INDEX.get(len(token), ()):
        if all(t == s or t in "*#%" for t, s in zip(token, stem, strict=True)):
            return stem
    return token


def _drop_inner_punct(match: re.Match[str]) -> str:
    token = match.group(0)
    pieces = re.split(r"[.\-_~*+^:]+", token)
    # Only glue when a piece is one or two letters ("f.u.c.k", "sh-it", "u.s.a"): long pieces are
    # real words joined by punctuation ("well-known", "end.start") and stay apart.
    if min(len(p) for p in pieces) <= 2:
        return "".join(pieces)
    return token


def _join_spaced(match: re.Match[str]) -> str:
    letters = [c for c in match.group(0) if c.isalpha()]
    # "a f u c k": the leading one-letter word "a"/"i" is usually a real word, keep it apart.
    if len(letters) >= 4 and letters[0] in "ai" and match.group(0)[1] == " ":
        return letters[0] + " " + "".join(letters[1:])
    return "".join(letters)


def _collapse_repeats(match: re.Match[str]) -> str:
    ch = match.group(1)
    if "a" <= ch <= "z":
        return ch * 2 if ch in _DOUBLING else ch
    return ch * 3


# -- prefilters ----------------------------------------------------------------------------------
# Python's re spends 20-35 ns per character on the step patterns above (each tries its lookbehind
# at every position) even when it finds nothing, and most texts give most steps nothing, or one
# or two tokens, to rewrite. So each step has a hint: a cheap pattern for something every match of
# the step's pattern holds, written so that re skips ahead to a rare character. Instead of
# scanning the whole text with the pattern, ``_sub_hinted`` looks for the next hint, backs up to
# the earliest place a match holding it could start, and runs the pattern only from there. Each
# step's (hint, back-up) pair must give, for any text and any position ``lo`` the scan has reached:
#   1. no hint at or after ``lo``: no match of the pattern starts at or after ``lo``;
#   2. with ``i`` the first hint at or after ``lo``: no match starts in ``[lo, back(text, i, lo))``.
# Searches start at a position of the whole text, so lookbehinds still see the characters before
# it. tests/unit/test_normalize_prefilters.py checks both, and the output, against plain ``sub``.
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")
_LEET_RUN = _LETTERS | frozenset(_LEET_CLASS)
# A leet character next to a letter. A leet token is a maximal run of letters and leet characters
# that holds one, so the first one at or after ``lo`` lies in the first token: back up to its start.
_LEET_HINT_RE = re.compile("[" + re.escape(_LEET_CLASS) + "](?:(?<=[a-z][" + re.escape(_LEET_CLASS) + "])|[a-z])")
# A mask character; a masked token starts with the letters right before its first one.
_MASKED_HINT_RE = re.compile(r"[*#%]")
# Punctuation between letters (found at the punctuation, which is rare, looking back for the
# letter). A match is a chain of letter runs joined by punctuation, starting at a letter run: the
# first hint lies in the first chain, which starts at the letters right before the hint.
_INNER_PUNCT_HINT_RE = re.compile(r"[.\-_~*+^:](?<=[a-z][.\-_~*+^:])[.\-_~*+^:]*[a-z]")
# The second and third letters of a spaced-out word: separator, letter, separators, letter, and
# then no letter. A match starts at most the separators and one letter before its first hint.
_SPACED_HINT_RE = re.compile(r"[ ._\-*][a-z][ ._\-*]+[a-z](?![a-z])")
_SPACED_SEPARATORS = frozenset(" ._-*")
# Every URL holds "://", "www." or one of the top-level domains after a dot.
_URL_HINT_RE = re.compile(r"://|www\.|\.(?:com|net|org|ly|io|co|info|biz)")
# A look-alike letter; the word holding it starts after the last space before it (a space is not
# a word character, and the pattern has no lookbehind, so an earlier start is harmless).
_CONFUSABLE_HINT_RE = re.compile("[" + re.escape(_CONFUSABLE_CHARS) + "]")

_Back = Callable[[str, int, int], int]


def _back_over(run: frozenset[str]) -> _Back:
    def back(text: str, i: int, lo: int) -> int:
        while i > lo and text[i - 1] in run:
            i -= 1
        return i

    return back


def _back_spaced(text: str, i: int, lo: int) -> int:
    while i > lo and text[i - 1] in _SPACED_SEPARATORS:
        i -= 1
    return max(lo, i - 1)


def _back_to_space(text: str, i: int, lo: int) -> int:
    return max(lo, text.rfind(" ", lo, i) + 1)


def _sub_hinted(pattern: re.Pattern[str], repl: _Repl, hint: re.Pattern[str], back: _Back, text: str) -> str:
    """``pattern.sub(repl, text)``, with the pattern run only near the hints (see above)."""
    found = hint.search(text)
    if found is None:
        return text
    pieces = []
    last = 0
    while found is not None:
        match = pattern.search(text, back(text, found.start(), last))
        if match is None:
            break
        pieces.append(text[last : match.start()])
        pieces.append(repl(match))
        last = match.end()
        found = hint.search(text, last)
    pieces.append(text[last:])
    return "".join(pieces)


# Each step: its pattern, its replacement, its hint and its back-up. The repeat step has no hint (its
# pattern is already fast, and often has a match): it runs over the whole text, its back-up unused.
_STEPS_AFTER_URLS: tuple[tuple[re.Pattern[str], _Repl, re.Pattern[str] | None, _Back], ...] = (
    (_LEET_TOKEN_RE, _map_leet, _LEET_HINT_RE, _back_over(_LEET_RUN)),
    (_MASKED_RE, _unmask, _MASKED_HINT_RE, _back_over(_LETTERS)),
    (_INNER_PUNCT_RE, _drop_inner_punct, _INNER_PUNCT_HINT_RE, _back_over(_LETTERS)),
    (_SPACED_RE, _join_spaced, _SPACED_HINT_RE, _back_spaced),
    (_REPEAT_RE, _collapse_repeats, None, _back_over(frozenset())),
)


# The service normalizes each new comment for its fingerprint, its word lists and the model, in
# the same moment: a small cache of recent texts saves the repeats. Bounded in bytes, not only in
# entries: only texts up to CACHED_CHARS are kept, so the cache holds at most about
# 1,024 x (2,000 characters of key + its normalized value), a few MiB (long texts are rare and
# recomputed).
CACHED_CHARS = 2000


def normalize(text: str) -> str:
    """Return the normalized form of ``text`` (see the module docstring for the steps)."""
    return _normalize_cached(text) if len(text) <= CACHED_CHARS else _normalize(text)


@functools.lru_cache(maxsize=1024)
def _normalize_cached(text: str) -> str:
    return _normalize(text)


def clear_cache() -> None:
    """Forget the recent texts :func:`normalize` keeps (benchmarks measure the uncached cost)."""
    _normalize_cached.cache_clear()


def _normalize(text: str) -> str:
    if text.isascii():
        text = _map_ascii(text)
    else:
        text = text.translate(_CHAR_MAP)
        if not text.isascii() and _CONFUSABLE_HINT_RE.search(text):
            text = _sub_hinted(_CONFUSABLE_WORD_RE, _confusable_mapper(text), _CONFUSABLE_HINT_RE, _back_to_space, text)
    if _URL_HINT_RE.search(text) is None:
        text = _rewrite(text)
    else:
        pieces: list[str] = []
        last = 0
        for url in _URL_RE.finditer(text):
            pieces.append(_rewrite(text[last : url.start()]))
            pieces.append(url.group(0))
            last = url.end()
        pieces.append(_rewrite(text[last:]))
        text = "".join(pieces)
    if "  " in text:
        text = _SPACE_RE.sub(" ", text)
    return text.strip()


def _rewrite(segment: str) -> str:
    for pattern, repl, hint, back in _STEPS_AFTER_URLS:
        if hint is None:
            segment = pattern.sub(repl, segment)
        else:
            segment = _sub_hinted(pattern, repl, hint, back, segment)
    return segment


def _first_start(hint: re.Pattern[str] | None, back: _Back, text: str) -> int | None:
    """Where the first match can start (None: there is none), for the offset-tracking twin."""
    if hint is None:
        return 0
    found = hint.search(text)
    return None if found is None else back(text, found.start(), 0)


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalized text and, per normalized character, the original range ``[starts[i], ends[i])``."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map the normalized range ``[start, end)`` to the original text (``end > start``)."""
        return self.starts[start], self.ends[end - 1]


def normalize_with_offsets(text: str) -> Normalized:
    """Like :func:`normalize`, and also map each normalized character back to the original text."""
    if text.isascii():
        s = _map_ascii(text)
        # Every ASCII character maps to one character, and every later step rewrites characters in
        # place or deletes some: a text that normalizes to that mapped text lost nothing and kept
        # each character where it was (the usual case; normalize's cache has it already).
        if normalize(text) == s:
            return Normalized(s, tuple(range(len(s))), tuple(range(1, len(s) + 1)))
    return _normalize_tracked(text)


def _normalize_tracked(text: str) -> Normalized:
    """:func:`normalize_with_offsets` step by step, every substitution tracked."""
    if text.isascii():
        s = _map_ascii(text)
        starts = list(range(len(s)))
        ends = list(range(1, len(s) + 1))
    else:
        chars: list[str] = []
        starts, ends = [], []
        for i, ch in enumerate(text):
            for c in ch.translate(_CHAR_MAP):
                chars.append(c)
                starts.append(i)
                ends.append(i + 1)
        s = "".join(chars)
    if not s.isascii() and (first := _first_start(_CONFUSABLE_HINT_RE, _back_to_space, s)) is not None:
        s, starts, ends = _sub_tracked(_CONFUSABLE_WORD_RE, _confusable_mapper(s), s, starts, ends, first)
    out, out_s, out_e = "", [], []  # type: ignore[var-annotated]
    last = 0
    for url in _URL_RE.finditer(s) if _URL_HINT_RE.search(s) else ():
        seg, ss, ee = _rewrite_tracked(s[last : url.start()], starts[last : url.start()], ends[last : url.start()])
        out += seg + url.group(0)
        out_s += ss + starts[url.start() : url.end()]
        out_e += ee + ends[url.start() : url.end()]
        last = url.end()
    seg, ss, ee = _rewrite_tracked(s[last:], starts[last:], ends[last:])
    out, out_s, out_e = out + seg, out_s + ss, out_e + ee
    out, out_s, out_e = _sub_tracked(_SPACE_RE, lambda m: " ", out, out_s, out_e)
    # strip(), tracked
    lo, hi = 0, len(out)
    while lo < hi and out[lo] == " ":
        lo += 1
    while hi > lo and out[hi - 1] == " ":
        hi -= 1
    return Normalized(out[lo:hi], tuple(out_s[lo:hi]), tuple(out_e[lo:hi]))


def _rewrite_tracked(segment: str, starts: list[int], ends: list[int]) -> tuple[str, list[int], list[int]]:
    for pattern, repl, hint, back in _STEPS_AFTER_URLS:
        start = _first_start(hint, back, segment)
        if start is not None:
            segment, starts, ends = _sub_tracked(pattern, repl, segment, starts, ends, start)
    return segment, starts, ends


def _sub_tracked(
    pattern: re.Pattern[str], repl: _Repl, text: str, starts: list[int], ends: list[int], pos: int = 0
) -> tuple[str, list[int], list[int]]:
    """``pattern.sub(repl, text)`` that also carries the per-character original ranges along
    (the very lists given when nothing matches); matches are looked for from ``pos`` on."""
    matches = pattern.finditer(text, pos)
    first = next(matches, None)
    if first is None:
        return text, starts, ends
    out: list[str] = []
    new_s: list[int] = []
    new_e: list[int] = []
    last = 0
    for m in itertools.chain((first,), matches):
        a, b = m.span()
        out.append(text[last:a])
        new_s.extend(starts[last:a])
        new_e.extend(ends[last:a])
        rep = repl(m)
        src = m.group(0)
        if len(rep) == len(src):
            new_s.extend(starts[a:b])
            new_e.extend(ends[a:b])
        else:
            positions = _subsequence_positions(rep, src)
            if positions is None:  # not a pure deletion: every output char covers the whole match
                new_s.extend([starts[a]] * len(rep))
                new_e.extend([ends[b - 1]] * len(rep))
            else:
                for k, p in enumerate(positions):
                    new_s.append(starts[a + p])
                    # extend to just before the next kept char so deleted gaps stay covered
                    nxt = positions[k + 1] if k + 1 < len(positions) else len(src)
                    new_e.append(ends[a + nxt - 1])
        out.append(rep)
        last = b
    out.append(text[last:])
    new_s.extend(starts[last:])
    new_e.extend(ends[last:])
    return "".join(out), new_s, new_e


def _subsequence_positions(short: str, long: str) -> list[int] | None:
    positions = []
    j = 0
    for c in short:
        while j < len(long) and long[j] != c:
            j += 1
        if j == len(long):
            return None
        positions.append(j)
        j += 1
    return positions


def words(text: str) -> list[str]:
    """Split already-normalized text into letter words (helper for word lists and tests)."""
    return _WORD_RE.findall(text)
