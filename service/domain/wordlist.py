"""Site word lists: banned and suspect terms found in one pass of an Aho–Corasick automaton.

Matching works on the classifier's normalized text (``classifier.normalize``: look-alike letters,
leetspeak, zero-width characters, punctuation inside words, spaced-out and long repeated letters
are undone there), split into words. Two more steps are ours:

* Whole words only. The automaton runs over ``" w1 w2 w3 "`` and a term is stored as
  ``" t1 t2 "``, so a term can only start and end on word boundaries: "Scunthorpe" and "assessment"
  never match "cunt" or "ass", and multi-word phrases need no special case. A ``*`` at either end
  of a term lifts that boundary (``idiot*`` also catches "idiots"), as in Discourse's watched words.
* Stretched letters. Words and terms are matched on their *squeezed* form (every run of one letter
  kept once), then each candidate is verified run by run: a letter may be stretched in the comment
  ("fuuck", "shiit") only if it is not one that English doubles (``_DOUBLING``); those must match
  exactly, so "good" is not "god" and "as" is not "ass".

Pure: no I/O. A matcher is built once per site list (see ``service.sites``) and reused.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby

import ahocorasick

from classifier.normalize import Normalized, normalize, normalize_with_offsets

BANNED = "banned"
SUSPECT = "suspect"

_TOKEN_RE = re.compile(r"[^\W_]+")
_RUN_RE = re.compile(r"([^\W_])\1+")
# Letters English often doubles; same set as the normalizer's repeat collapsing (a private name
# there, so restated here).
_DOUBLING = frozenset("eoslftpmnrdgcbz")


@dataclass(frozen=True)
class WordHit:
    """A listed term found in a comment; ``start``/``end`` index the original text."""

    kind: str  # BANNED or SUSPECT
    term: str  # as the administrator listed it
    start: int
    end: int


@dataclass(frozen=True)
class _Entry:
    kind: str
    term: str
    runs: tuple[tuple[tuple[str, int], ...], ...]  # per term word: its (letter, count) runs
    open_start: bool
    open_end: bool


def _runs(word: str) -> tuple[tuple[str, int], ...]:
    return tuple((ch, len(list(group))) for ch, group in groupby(word))


def _squeeze(text: str) -> str:
    return _RUN_RE.sub(r"\1", text)


def _run_fits(text_count: int, term_count: int, letter: str, long_run: bool) -> bool:
    # A letter English doubles may only be stretched when the author visibly stretched it (three or
    # more in the original, which the normalizer shortened to two): "fucccck" yes, "good" no.
    if letter in _DOUBLING and not long_run:
        return text_count == term_count
    return text_count >= term_count


def _word_fits(
    text_word: str,
    term_runs: Sequence[tuple[str, int]],
    *,
    open_start: bool,
    open_end: bool,
    long_runs: Sequence[bool] | None = None,
) -> bool:
    """Does ``text_word`` carry the term word's runs (prefix/suffix only where the term is open)?

    ``long_runs`` says, per run of ``text_word``, whether the original text had three or more.
    """
    text_runs = _runs(text_word)
    n = len(term_runs)
    offsets = range(len(text_runs) - n + 1) if open_start else (0,)
    for off in offsets:
        window = text_runs[off : off + n]
        if len(window) != n or (not open_end and off + n != len(text_runs)):
            continue
        ok = True
        for i, ((t_ch, t_n), (u_ch, u_n)) in enumerate(zip(window, term_runs, strict=True)):
            if t_ch != u_ch:
                ok = False
                break
            # A run cut by an open end may be longer in the text ("idiots" for "idiot*" is fine).
            cut = (open_start and i == 0) or (open_end and i == n - 1)
            long_run = bool(long_runs and long_runs[off + i])
            if not (_run_fits(t_n, u_n, t_ch, long_run) or (cut and t_n >= u_n)):
                ok = False
                break
        if ok:
            return True
    return False


def _long_runs(text: str, norm: str, tracked: Normalized) -> list[list[bool]] | None:
    """Per normalized word, per run of one letter: did the original text repeat it three or more times?"""
    if tracked.text != norm:
        return None
    out = []
    for match in _TOKEN_RE.finditer(norm):
        flags = []
        pos = match.start()
        for letter, group in groupby(match.group(0)):
            count = len(list(group))
            start, end = tracked.original_span(pos, pos + count)
            same = sum(1 for ch in text[start:end] if normalize(ch) == letter)
            flags.append(same >= 3)
            pos += count
        out.append(flags)
    return out


def term_key(term: str) -> tuple[str, tuple[str, ...], bool, bool] | None:
    """The automaton key of a term and its normalized words; None when nothing is left to match."""
    raw = term.strip()
    open_start, open_end = raw.startswith("*"), raw.endswith("*")
    words = tuple(_TOKEN_RE.findall(normalize(raw.strip("*"))))
    if not words:
        return None
    key = ("" if open_start else " ") + " ".join(_squeeze(w) for w in words) + ("" if open_end else " ")
    return key, words, open_start, open_end


def fingerprint(text: str) -> str:
    """The text reduced to its squeezed normalized words: equal for trivially varied copies."""
    # Runs of one letter never cross the joining spaces, so squeezing the joined words at once is
    # the same as squeezing each word (and one regex pass instead of one per word).
    return _squeeze(" ".join(_TOKEN_RE.findall(normalize(text))))


class WordListMatcher:
    """Finds a site's banned and suspect terms in a comment in one automaton pass."""

    def __init__(self, banned: Iterable[str] = (), suspect: Iterable[str] = ()) -> None:
        entries: dict[str, list[_Entry]] = {}
        for kind, terms in ((BANNED, banned), (SUSPECT, suspect)):
            for term in terms:
                prepared = term_key(term)
                if prepared is None:
                    continue
                key, words, open_start, open_end = prepared
                entry = _Entry(kind, term, tuple(_runs(w) for w in words), open_start, open_end)
                entries.setdefault(key, []).append(entry)
        self.size = sum(len(v) for v in entries.values())
        self._automaton: ahocorasick.Automaton | None = None
        if entries:
            automaton = ahocorasick.Automaton()
            for key, found in entries.items():
                automaton.add_word(key, (len(key), tuple(found)))
            automaton.make_automaton()
            self._automaton = automaton

    def find(self, text: str) -> list[WordHit]:
        """Every listed term in ``text``, banned first, each with its span in the original text."""
        if self._automaton is None:
            return []
        norm = normalize(text)
        # Squeezing never joins or splits words, so the squeezed words line up with the words.
        squeezed = _TOKEN_RE.findall(_squeeze(norm))
        if not squeezed:
            return []
        haystack = " " + " ".join(squeezed) + " "
        candidates = list(self._automaton.iter(haystack))
        if not candidates:
            return []
        words = _TOKEN_RE.findall(norm)
        # Where each word starts in the haystack, to turn a hit's position into word indexes.
        starts, pos = [], 1
        for w in squeezed:
            starts.append(pos)
            pos += len(w) + 1
        located: dict[tuple[str, str, int, int], None] = {}
        retry: list[tuple[_Entry, int, int]] = []
        for end_index, (length, found) in candidates:
            first_char, last_char = end_index - length + 1, end_index
            # A key's boundary spaces belong to no word.
            if haystack[first_char] == " ":
                first_char += 1
            if haystack[last_char] == " ":
                last_char -= 1
            first = bisect.bisect_right(starts, first_char) - 1
            last = bisect.bisect_right(starts, last_char) - 1
            for entry in found:
                if last - first + 1 != len(entry.runs) or first < 0:
                    continue
                if self._fits(words, first, entry):
                    located[(entry.kind, entry.term, first, last)] = None
                else:
                    retry.append((entry, first, last))
        tracked: Normalized | None = None
        if retry:
            # Rare: a candidate failed on run lengths. Look at the original text to see which runs
            # the author stretched, and try once more.
            tracked = normalize_with_offsets(text)
            long_runs = _long_runs(text, norm, tracked)
            for entry, first, last in retry:
                if long_runs is not None and self._fits(words, first, entry, long_runs):
                    located[(entry.kind, entry.term, first, last)] = None
        if not located:
            return []
        return self._spans(text, norm, located, tracked or normalize_with_offsets(text))

    @staticmethod
    def _fits(
        words: Sequence[str], first: int, entry: _Entry, long_runs: Sequence[Sequence[bool]] | None = None
    ) -> bool:
        n = len(entry.runs)
        for i, term_runs in enumerate(entry.runs):
            if not _word_fits(
                words[first + i],
                term_runs,
                open_start=entry.open_start and i == 0,
                open_end=entry.open_end and i == n - 1,
                long_runs=long_runs[first + i] if long_runs is not None else None,
            ):
                return False
        return True

    @staticmethod
    def _spans(
        text: str, norm: str, located: Iterable[tuple[str, str, int, int]], tracked: Normalized
    ) -> list[WordHit]:
        if tracked.text != norm:  # the normalizer promises equality; never point at the wrong text
            return [WordHit(kind, term, 0, len(text)) for kind, term, _, _ in located]
        positions = [m.span() for m in _TOKEN_RE.finditer(norm)]
        hits = []
        for kind, term, first, last in located:
            start, end = tracked.original_span(positions[first][0], positions[last][1])
            hits.append(WordHit(kind, term, start, end))
        hits.sort(key=lambda h: (h.kind != BANNED, h.start, h.term))
        return hits
