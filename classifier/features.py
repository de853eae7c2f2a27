"""Vectorised word and character n-gram features over normalized text.

Python-level loops over n-grams cost ~0.7 ms per comment (REFERENCE.md), which caps throughput far
below the target. Here a whole batch is laid out as one code-point array and every n-gram is
hashed at once with a polynomial prefix hash in wrapping uint64 arithmetic, then looked up in a
sorted array of vocabulary hashes. The same code builds the vocabulary at training time and
featurizes at inference, so there is no train/serve skew.

Layout: documents are joined with a NUL separator; each document is ``" " + text + " "``.

* Character n-grams (n = 2..5) never cross a NUL and have no space strictly inside them, which is
  scikit-learn's ``char_wb`` analyzer: n-grams of space-padded words.
* Words are maximal runs of letters/digits (apostrophes allowed between them); word bigrams join
  consecutive words of the same document.

With ``scopes``, words inside a negation, reported-speech or quotation scope also count a second
time as a marked variant (see :func:`_scope_marks`).

Each block (words, characters) is TF-IDF weighted with sublinear term frequency and L2-normalised
on its own, like a ``FeatureUnion`` of two ``TfidfVectorizer``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

try:  # the inner loop in C (classifier/_ngrams.c), built when the install found a C compiler
    from classifier import _ngrams  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - exercised on installs without a compiler
    _ngrams = None

__all__ = [
    "FeatureSpace",
    "Hits",
    "Occurrences",
    "COMPILED",
    "Vocabulary",
    "extract",
    "document_frequencies",
    "ngram_texts",
    "strip_marks",
    "CHAR_NGRAMS",
    "NEGATION_MARK",
    "REPORT_MARK",
    "SCOPE_KINDS",
]

CHAR_NGRAMS: tuple[int, int] = (2, 5)

# Whether FeatureSpace.featurize can use the C loop (it computes the very same matrix).
COMPILED: bool = _ngrams is not None
# The C loop uses its space's scratch counters and holds the GIL while it runs; this lock keeps two
# threads out of it where there is no GIL (free-threaded Python). Module-level, so that a space
# stays picklable; the loop takes microseconds.
_SCRATCH_LOCK = threading.Lock()

_P = np.uint64(0x100000001B3)  # odd, so invertible modulo 2**64
_Q = np.uint64(pow(0x100000001B3, -1, 2**64))
_SALT_WORD = np.uint64(0x9E3779B97F4A7C15)
_SALT_BIGRAM = np.uint64(0xC2B2AE3D27D4EB4F)
_SALT_CHAR = np.uint64(0x165667B19E3779F9)
_BIGRAM_MULT = np.uint64(0x27D4EB2F165667C5)

WORD_BLOCK = 0
CHAR_BLOCK = 1

# Scope marks: private-use characters (normalization deletes any the user typed) that prefix the
# stored text of a marked word or bigram, e.g. "\ue001vermin" for "vermin" after "not".
NEGATION_MARK = "\ue001"
REPORT_MARK = "\ue002"  # reported or quoted speech
# Words that open a negation scope. Forms split by a character that is no apostrophe ("doesn`t",
# "doesn´t" → "doesn", "t"; normalization turns "’" and its kin into "'") are listed when the
# stem is no English word of its own ("don", "won" are).
NEGATION_CUES: tuple[str, ...] = (
    "not", "no", "never", "nobody", "nothing", "none", "neither", "nor", "without", "cannot",
    "don't", "doesn't", "didn't", "isn't", "aren't", "wasn't", "weren't", "can't", "couldn't",
    "won't", "wouldn't", "shouldn't", "mustn't", "haven't", "hasn't", "hadn't", "ain't",
    "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "cant", "couldnt", "wont",
    "wouldnt", "shouldnt", "havent", "hasnt",
    "doesn", "didn", "isn", "aren", "wasn", "weren", "couldn", "wouldn", "shouldn", "hasn", "haven",
)  # fmt: skip
# Verbs of saying that open a reported-speech scope: what follows is someone's claim, which a
# comment may be condemning ("people who call them vermin ...") rather than making.
REPORT_CUES: tuple[str, ...] = (
    "say", "says", "saying", "said", "claim", "claims", "claiming", "claimed",
    "call", "calls", "calling", "called", "write", "writes", "writing", "wrote", "written",
    "tell", "tells", "telling", "told", "suggest", "suggests", "suggesting", "suggested",
    "insist", "insists", "insisting", "insisted", "argue", "argues", "arguing", "argued",
    "stating", "stated", "imply", "implies", "implying", "implied", "posted", "tweeted",
    "chant", "chants", "chanting", "chanted", "shout", "shouts", "shouting", "shouted",
    "spread", "spreads", "spreading", "repeat", "repeats", "repeating", "repeated",
)  # fmt: skip
# The kinds of scope and their marks; reported speech includes text between quotation marks.
SCOPE_KINDS: dict[str, str] = {"negation": NEGATION_MARK, "report": REPORT_MARK}
# A cue's scope ends at the next clause punctuation or after this many words (the classic
# sentiment-analysis negation scope, Das & Chen 2001; Pang et al. 2002).
SCOPE_WORDS = 6
_SCOPE_END = ".,;:!?()\x00"
# Double quotation marks (straight, typographic, guillemets): words between a pair are quoted.
_QUOTES = '"\u201c\u201d\u201e\u00ab\u00bb'

U64 = NDArray[np.uint64]
I64 = NDArray[np.int64]


def _fmix(x: U64) -> U64:
    """MurmurHash3's 64-bit finaliser: spreads the polynomial hash over all bits."""
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xFF51AFD7ED558CCD)
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xC4CEB9FE1A85EC53)
    return x ^ (x >> np.uint64(33))


class _PrefixHash:
    """Polynomial hashes of arbitrary substrings of one code-point array, O(1) per substring."""

    def __init__(self, codes: U64) -> None:
        n = codes.shape[0]
        q_pow = np.empty(n, dtype=np.uint64)
        p_pow = np.empty(n + 1, dtype=np.uint64)
        if n:
            q_pow[0] = 1
            q_pow[1:] = _Q
            np.cumprod(q_pow, out=q_pow)
        p_pow[0] = 1
        p_pow[1:] = _P
        np.cumprod(p_pow, out=p_pow)
        self._p_pow = p_pow
        self._prefix = np.zeros(n + 1, dtype=np.uint64)
        # sum_k (c_k + 1) * Q^k; the +1 keeps NUL from hashing like nothing
        np.cumsum((codes + np.uint64(1)) * q_pow, out=self._prefix[1:])

    def substrings(self, starts: I64, ends: I64) -> U64:
        """Position-independent hash of ``codes[starts[i]:ends[i]]`` for every i."""
        raw = (self._prefix[ends] - self._prefix[starts]) * self._p_pow[starts]
        length = (ends - starts).astype(np.uint64)
        return raw + length * _SALT_CHAR


def _word_mask(codes: U64) -> NDArray[np.bool_]:
    lower = (codes >= 97) & (codes <= 122)
    upper = (codes >= 65) & (codes <= 90)
    digit = (codes >= 48) & (codes <= 57)
    # Non-ASCII counts as a letter except general punctuation, symbols and emoji blocks.
    other = (codes >= 128) & ~((codes >= 0x2000) & (codes <= 0x2BFF)) & (codes < 0x1F000)
    other &= ~((codes >= 0xA0) & (codes <= 0xBF)) & (codes != 0xD7) & (codes != 0xF7)
    alnum = lower | upper | digit | other
    apostrophe = codes == 39
    inner = np.zeros_like(alnum)
    inner[1:-1] = apostrophe[1:-1] & alnum[:-2] & alnum[2:]
    return alnum | inner


@dataclass(frozen=True, slots=True)
class Occurrences:
    """Every n-gram occurrence in a batch: document, hash, block and position in the batch string."""

    doc: I64
    hashes: U64
    block: NDArray[np.int8]
    start: I64
    end: I64
    doc_offset: I64  # where each document's " text " starts in the batch string
    batch: str
    # Per occurrence, the scope mark's code point (0: unmarked); None when scopes were off.
    mark: NDArray[np.uint32] | None = None


def extract(
    texts: Sequence[str], char_ngrams: tuple[int, int] = CHAR_NGRAMS, scopes: Sequence[str] = ()
) -> Occurrences:
    """Hash every word unigram, word bigram and character n-gram of already-normalized ``texts``;
    with ``scopes`` (kinds of :data:`SCOPE_KINDS`), also the marked variant of every word and
    bigram inside a scope of those kinds."""
    batch, seg_len, doc_offset = _layout(texts)
    codes = np.frombuffer(batch.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    doc_of_pos = np.repeat(np.arange(len(texts), dtype=np.int64), seg_len)
    ph = _PrefixHash(codes)
    length = codes.shape[0]

    docs: list[I64] = []
    hashes: list[U64] = []
    blocks: list[NDArray[np.int8]] = []
    starts: list[I64] = []
    ends: list[I64] = []

    # Words and bigrams.
    is_word = _word_mask(codes)
    prev = np.concatenate(([False], is_word[:-1]))
    nxt = np.concatenate((is_word[1:], [False]))
    w_start = np.flatnonzero(is_word & ~prev).astype(np.int64)
    w_end = np.flatnonzero(is_word & ~nxt).astype(np.int64) + 1
    w_hash = _fmix(ph.substrings(w_start, w_end) ^ _SALT_WORD)
    w_doc = doc_of_pos[w_start]
    same = w_doc[1:] == w_doc[:-1]
    b_hash = _fmix((w_hash[:-1] * _BIGRAM_MULT + w_hash[1:]) ^ _SALT_BIGRAM)[same]
    docs += [w_doc, w_doc[:-1][same]]
    hashes += [w_hash, b_hash]
    blocks += [np.full(w_hash.shape[0] + b_hash.shape[0], WORD_BLOCK, dtype=np.int8)]
    starts += [w_start, w_start[:-1][same]]
    ends += [w_end, w_end[1:][same]]
    # The mark of each word occurrence so far (none), then of the marked ones appended below.
    marks: list[NDArray[np.uint32]] = [np.zeros(w_hash.shape[0] + b_hash.shape[0], dtype=np.uint32)] if scopes else []

    if scopes and w_start.size:
        word_mark = _scope_marks(codes, w_start, w_end, w_hash, doc_of_pos, scopes)
        marked = np.flatnonzero(word_mark)
        if marked.size:
            # The hash of mark + word, from the word's own hash: prepending one code point c to a
            # string s gives (c + 1) + Q * raw(s) (see _PrefixHash), so Vocabulary.hashes() of the
            # stored "\ue001word" equals this.
            size = (w_end[marked] - w_start[marked]).astype(np.uint64)
            raw = ph.substrings(w_start[marked], w_end[marked]) - size * _SALT_CHAR
            code = word_mark[marked].astype(np.uint64)
            mw_hash = _fmix(((code + np.uint64(1)) + _Q * raw + (size + np.uint64(1)) * _SALT_CHAR) ^ _SALT_WORD)
            # Bigrams of two consecutive words under the same mark.
            pair = (marked[1:] == marked[:-1] + 1) & (word_mark[marked[1:]] == word_mark[marked[:-1]])
            pair &= w_doc[marked[1:]] == w_doc[marked[:-1]]
            mb_hash = _fmix((mw_hash[:-1] * _BIGRAM_MULT + mw_hash[1:]) ^ _SALT_BIGRAM)[pair]
            left, right = marked[:-1][pair], marked[1:][pair]
            docs += [w_doc[marked], w_doc[left]]
            hashes += [mw_hash, mb_hash]
            blocks += [np.full(marked.shape[0] + left.shape[0], WORD_BLOCK, dtype=np.int8)]
            starts += [w_start[marked], w_start[left]]
            ends += [w_end[marked], w_end[right]]
            marks += [word_mark[marked], word_mark[left]]

    # Character n-grams of space-padded words (char_wb).
    is_sep = codes == 0
    is_space = codes == 32
    sep_cum = np.concatenate(([0], np.cumsum(is_sep)))
    space_cum = np.concatenate(([0], np.cumsum(is_space)))
    for n in range(char_ngrams[0], char_ngrams[1] + 1):
        if length < n:
            break
        i = np.arange(length - n + 1, dtype=np.int64)
        ok = sep_cum[i + n] == sep_cum[i]
        if n > 2:
            ok &= space_cum[i + n - 1] == space_cum[i + 1]
        i = i[ok]
        h = _fmix(ph.substrings(i, i + n))
        docs.append(doc_of_pos[i])
        hashes.append(h)
        blocks.append(np.full(h.shape[0], CHAR_BLOCK, dtype=np.int8))
        starts.append(i)
        ends.append(i + n)

    mark = None
    if scopes:
        n_char = sum(h.shape[0] for h in hashes) - sum(m.shape[0] for m in marks)
        mark = np.concatenate([*marks, np.zeros(n_char, dtype=np.uint32)])
    return Occurrences(
        doc=np.concatenate(docs),
        hashes=np.concatenate(hashes),
        block=np.concatenate(blocks),
        start=np.concatenate(starts),
        end=np.concatenate(ends),
        doc_offset=doc_offset,
        batch=batch,
        mark=mark,
    )


def _layout(texts: Sequence[str]) -> tuple[str, I64, I64]:
    """The batch string (each document as " text ", or nothing when empty, then a NUL), each
    segment's length with its NUL, and where each starts."""
    segments = [f" {t} " if t else "" for t in texts]
    batch = "\x00".join(segments) + "\x00"
    seg_len = np.fromiter((len(s) + 1 for s in segments), dtype=np.int64, count=len(segments))
    doc_offset = np.concatenate(([0], np.cumsum(seg_len)[:-1])).astype(np.int64)
    return batch, seg_len, doc_offset


@dataclass(frozen=True, slots=True)
class Hits:
    """The in-vocabulary n-gram occurrences of a featurized batch, for explanations: per
    occurrence its document, column and range in the batch string (see :func:`extract`)."""

    doc: I64
    col: NDArray[np.int32]
    start: I64
    end: I64
    doc_offset: I64  # where each document's " text " starts in the batch string
    batch: str


def _cue_hashes(words: Sequence[str]) -> U64:
    lengths = np.array([len(w) for w in words], dtype=np.int32)
    return np.sort(_fmix(_hash_pieces(_codes("".join(words)), lengths) ^ _SALT_WORD))


def _scope_marks(
    codes: U64, w_start: I64, w_end: I64, w_hash: U64, doc_of_pos: I64, kinds: Sequence[str]
) -> NDArray[np.uint32]:
    """Per word, the code point of its scope mark, or 0 (scopes of ``kinds`` only).

    A word is in a negation (reported-speech) scope when a negation cue (verb of saying) precedes
    it in the same clause, at most :data:`SCOPE_WORDS` words before it; the nearer cue wins.
    Words between a pair of double quotation marks in the same document are reported speech
    whatever their cues. Cue words themselves are not marked.
    """
    n = w_start.shape[0]
    idx = np.arange(n, dtype=np.int64)
    # Last clause boundary at or before each word's start (the NUL between documents is one).
    ends = np.concatenate(([-1], np.flatnonzero(np.isin(codes, _SCOPE_END_CODES))))
    last_end = ends[np.searchsorted(ends, w_start, side="right") - 1]
    best = np.full(n, -1, dtype=np.int64)
    mark = np.zeros(n, dtype=np.uint32)
    for kind in kinds:
        cues, code = _CUE_HASHES[kind], ord(SCOPE_KINDS[kind])
        pos = np.searchsorted(cues, w_hash)
        is_cue = cues[np.minimum(pos, cues.shape[0] - 1)] == w_hash
        last_cue = np.maximum.accumulate(np.where(is_cue, idx, -1))
        prev = np.concatenate(([-1], last_cue[:-1]))  # nearest cue strictly before the word
        safe = np.maximum(prev, 0)
        inside = (prev >= 0) & (w_end[safe] > last_end) & (idx - prev <= SCOPE_WORDS) & ~is_cue
        nearer = inside & (prev > best)
        best[nearer] = prev[nearer]
        mark[nearer] = code
    quotes = np.flatnonzero(np.isin(codes, _QUOTE_CODES)) if "report" in kinds else np.zeros(0, dtype=np.int64)
    if quotes.size:
        # Quotes before each word (odd: inside) and after it, both counted within its document.
        q_doc = doc_of_pos[quotes]
        w_doc = doc_of_pos[w_start]
        before = np.searchsorted(quotes, w_start)
        doc_first = np.searchsorted(q_doc, w_doc, side="left")
        doc_last = np.searchsorted(q_doc, w_doc, side="right")
        quoted = ((before - doc_first) % 2 == 1) & (doc_last > before)
        mark[quoted] = ord(REPORT_MARK)
    return mark


def strip_marks(entry: str) -> str:
    """A vocabulary entry without its scope marks (what the text says, for reports)."""
    return entry.replace(NEGATION_MARK, "").replace(REPORT_MARK, "")


@dataclass(frozen=True)
class Vocabulary:
    """Vocabulary entries as plain code-point arrays (what the artifact stores).

    ``unigram_*``: words; ``bigram_*``: word pairs, ``bigram_lengths[i] = (len(left), len(right))``
    with the two words' code points stored back to back; ``char_*``: character n-grams (may begin
    or end with the padding space). Columns are unigrams, then bigrams, then character n-grams.
    """

    unigram_codes: NDArray[np.uint32]
    unigram_lengths: NDArray[np.int32]
    bigram_codes: NDArray[np.uint32]
    bigram_lengths: NDArray[np.int32]
    char_codes: NDArray[np.uint32]
    char_lengths: NDArray[np.int32]

    @classmethod
    def from_strings(cls, words: Sequence[str], chars: Sequence[str]) -> Vocabulary:
        """Encode entries; ``words`` must list unigrams before bigrams ("w1 w2")."""
        unigrams = [w for w in words if " " not in w]
        bigrams = [w.split(" ", 1) for w in words if " " in w]
        if [*unigrams, *(f"{a} {b}" for a, b in bigrams)] != list(words):
            raise ValueError("words must list unigrams before bigrams")
        return cls(
            _codes("".join(unigrams)),
            np.array([len(w) for w in unigrams], dtype=np.int32),
            _codes("".join(a + b for a, b in bigrams)),
            np.array([(len(a), len(b)) for a, b in bigrams], dtype=np.int32).reshape(-1, 2),
            _codes("".join(chars)),
            np.array([len(c) for c in chars], dtype=np.int32),
        )

    @property
    def n_word(self) -> int:
        return int(self.unigram_lengths.shape[0] + self.bigram_lengths.shape[0])

    @property
    def n_features(self) -> int:
        return self.n_word + int(self.char_lengths.shape[0])

    def hashes(self) -> U64:
        """The hash of every column, computed with the same code as :func:`extract`."""
        uni = _fmix(_hash_pieces(self.unigram_codes, self.unigram_lengths) ^ _SALT_WORD)
        pair = _fmix(_hash_pieces(self.bigram_codes, self.bigram_lengths.reshape(-1)) ^ _SALT_WORD)
        left, right = pair[0::2], pair[1::2]
        bi = _fmix((left * _BIGRAM_MULT + right) ^ _SALT_BIGRAM)
        ch = _fmix(_hash_pieces(self.char_codes, self.char_lengths))
        return np.concatenate((uni, bi, ch))

    def strings(self) -> list[str]:
        """Column texts (bigrams as "w1 w2"); for reports and debugging, not on the hot path."""
        out = _split(self.unigram_codes, self.unigram_lengths)
        pieces = _split(self.bigram_codes, self.bigram_lengths.reshape(-1))
        out += [f"{a} {b}" for a, b in zip(pieces[0::2], pieces[1::2], strict=True)]
        return out + _split(self.char_codes, self.char_lengths)

    def arrays(self) -> dict[str, NDArray[Any]]:
        """The arrays stored in the artifact, by name."""
        return {f"vocab_{k}": getattr(self, k) for k in self.__dataclass_fields__}


_SCOPE_END_CODES = np.array([ord(c) for c in _SCOPE_END], dtype=np.uint64)
_QUOTE_CODES = np.array([ord(c) for c in _QUOTES], dtype=np.uint64)


def _codes(text: str) -> NDArray[np.uint32]:
    return np.frombuffer(text.encode("utf-32-le"), dtype="<u4").astype(np.uint32)


def _split(codes: NDArray[np.uint32], lengths: NDArray[np.int32]) -> list[str]:
    text = codes.astype("<u4").tobytes().decode("utf-32-le")
    ends = np.cumsum(lengths).tolist()
    starts = [0, *ends[:-1]]
    return [text[a:b] for a, b in zip(starts, ends, strict=True)]


def _hash_pieces(codes: NDArray[np.uint32], lengths: NDArray[np.int32]) -> U64:
    if lengths.shape[0] == 0:
        return np.empty(0, dtype=np.uint64)
    ends = np.cumsum(lengths.astype(np.int64))
    starts = ends - lengths
    return _PrefixHash(codes.astype(np.uint64)).substrings(starts, ends)


_CUE_HASHES = {"negation": _cue_hashes(NEGATION_CUES), "report": _cue_hashes(REPORT_CUES)}


class FeatureSpace:
    """A fitted vocabulary: an open-addressing hash table (n-gram hash → column) and idf weights.

    A sorted array with ``searchsorted`` costs ~300 ns per lookup in cache misses; the table,
    sized to a load factor below 0.25, resolves almost every lookup in one vectorised probe.
    Columns ``[0, n_word)`` are words and bigrams, ``[n_word, n_features)`` character n-grams.
    ``scopes``: the kinds of scope whose words are also featurized marked (the vocabulary was built so).
    """

    def __init__(
        self,
        vocabulary: Vocabulary,
        idf: NDArray[np.float32],
        char_ngrams: tuple[int, int] = CHAR_NGRAMS,
        scopes: Sequence[str] = (),
    ) -> None:
        unknown = set(scopes) - set(SCOPE_KINDS)
        if unknown:
            raise ValueError(f"unknown scope kinds {sorted(unknown)}")
        hashes = vocabulary.hashes()
        if idf.shape[0] != hashes.shape[0]:
            raise ValueError("idf length does not match the vocabulary")
        ordered = np.sort(hashes)  # a sort is ~20x faster here than np.unique's hash table
        if np.any(ordered[1:] == ordered[:-1]):
            raise ValueError("vocabulary hash collision")
        self.vocabulary = vocabulary
        self.char_ngrams = (int(char_ngrams[0]), int(char_ngrams[1]))
        self.scopes = tuple(scopes)
        self.idf = idf.astype(np.float32)
        self.n_word = vocabulary.n_word
        size = 1 << max(4, int(np.ceil(np.log2(max(hashes.shape[0], 1) * 4))))
        self._mask = np.uint64(size - 1)
        keys = np.zeros(size, dtype=np.uint64)
        cols = np.full(size, -1, dtype=np.int32)
        # 0 marks an empty slot, so a real hash of 0 (astronomically unlikely) is remapped.
        hashes = np.where(hashes == 0, np.uint64(1), hashes)
        pending = np.arange(hashes.shape[0])
        slot = hashes & self._mask
        while pending.size:
            s = slot[pending]
            # first claimant of each empty slot wins this round; the rest probe the next slot
            empty = keys[s] == 0
            cand = pending[empty]
            uniq_slots, first = np.unique(s[empty], return_index=True)
            winners = cand[first]
            keys[uniq_slots] = hashes[winners]
            cols[uniq_slots] = winners.astype(np.int32)
            placed = np.zeros(hashes.shape[0], dtype=bool)
            placed[winners] = True
            pending = pending[~placed[pending]]
            slot[pending] = (slot[pending] + np.uint64(1)) & self._mask
        self._keys = keys
        self._cols = cols
        # The C loop's per-column counter, zero between calls (see _SCRATCH_LOCK).
        self._scratch = np.zeros(max(self.n_features, 1), dtype=np.int32)

    @property
    def n_features(self) -> int:
        return int(self.idf.shape[0])

    def lookup(self, hashes: U64) -> NDArray[np.int32]:
        """Column of each hash, or -1 when it is not in the vocabulary."""
        hashes = np.where(hashes == 0, np.uint64(1), hashes)
        slot = hashes & self._mask
        out = np.full(hashes.shape[0], -1, dtype=np.int32)
        pending = np.arange(hashes.shape[0])
        while pending.size:
            s = slot[pending]
            k = self._keys[s]
            hit = k == hashes[pending]
            out[pending[hit]] = self._cols[s[hit]]
            # keep probing only where the slot holds another key (an empty slot means absent)
            go_on = ~hit & (k != 0)
            pending = pending[go_on]
            slot[pending] = (s[go_on] + np.uint64(1)) & self._mask
        return out

    def extract(self, texts: Sequence[str]) -> Occurrences:
        """:func:`extract` with this space's settings."""
        return extract(texts, self.char_ngrams, self.scopes)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """TF-IDF matrix (sublinear tf, each block L2-normalised) of already-normalized texts."""
        return self._featurize(texts, None, hits=False)[0]

    def featurize(self, texts: Sequence[str], compiled: bool | None = None) -> tuple[sp.csr_matrix, Hits]:
        """:meth:`transform`, and where every in-vocabulary n-gram occurred (for explanations).

        ``compiled``: use the C loop (default: when it is built and no scope marks are on); False
        forces the numpy path, which builds the vocabulary at training time. Both give the same
        matrix, bit for bit, and the same hits in the same order within each document.
        """
        matrix, hits = self._featurize(texts, compiled, hits=True)
        assert hits is not None
        return matrix, hits

    def _featurize(self, texts: Sequence[str], compiled: bool | None, hits: bool) -> tuple[sp.csr_matrix, Hits | None]:
        if compiled is None:
            compiled = COMPILED and not self.scopes
        elif compiled and (not COMPILED or self.scopes):
            raise ValueError("the C featurizer is not built or cannot mark scopes")
        if not compiled:
            occ = self.extract(texts)
            matrix, cols = self.transform_occurrences(occ, len(texts))
            if not hits:
                return matrix, None
            keep = cols >= 0
            return matrix, Hits(occ.doc[keep], cols[keep], occ.start[keep], occ.end[keep], occ.doc_offset, occ.batch)
        n_docs = len(texts)
        batch, _seg_len, doc_offset = _layout(texts)
        if batch.count("\x00") != n_docs:  # a NUL inside a text (normalization removes them)
            return self._featurize(texts, False, hits)
        # Code points in this machine's byte order (a no-op view on little-endian machines).
        codes = np.frombuffer(batch.encode("utf-32-le"), dtype="<u4").astype(np.uint32, copy=False)
        low, high = self.char_ngrams
        # Every position starts at most one word, one bigram and one n-gram of each length.
        cap = codes.shape[0] * (3 + high - low)
        per_hit = cap if hits else 0
        doc, start, end = (np.empty(per_hit, dtype=np.int64) for _ in range(3))
        col = np.empty(per_hit, dtype=np.int32)
        indices, tmp = np.empty(cap, dtype=np.int32), np.empty(cap, dtype=np.int32)
        counts = np.empty(cap, dtype=np.float32)
        indptr = np.empty(n_docs + 1, dtype=np.int64)
        with _SCRATCH_LOCK:
            n_hits, nnz = _ngrams.featurize(
                codes, self._keys, self._cols, int(self._mask), low, high, n_docs, self._scratch,
                doc, col, start, end, indptr, indices, counts, tmp, max(self.n_features - 1, 1).bit_length(), int(hits),
            )  # fmt: skip
        matrix = self._weigh(counts[:nnz], indices[:nnz], indptr, n_docs)
        if not hits:
            return matrix, None
        return matrix, Hits(doc[:n_hits], col[:n_hits], start[:n_hits], end[:n_hits], doc_offset, batch)

    def transform_occurrences(self, occ: Occurrences, n_docs: int) -> tuple[sp.csr_matrix, NDArray[np.int32]]:
        """The TF-IDF matrix and, per occurrence, its column (-1 when out of vocabulary)."""
        cols = self.lookup(occ.hashes)
        keep = cols >= 0
        doc, col = occ.doc[keep], cols[keep]
        n_feat = self.n_features
        # Term counts per (document, column): sort one integer key per occurrence and count runs.
        # int32 keys sort about twice as fast, and fit for batches up to ~10k documents.
        key_type = np.dtype(np.int32) if n_docs * n_feat < 2**31 else np.dtype(np.int64)
        key: NDArray[np.signedinteger[Any]] = doc.astype(key_type) * np.asarray(n_feat, dtype=key_type)
        key += col.astype(key_type)
        key.sort()
        if key.shape[0]:
            run_start = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
        else:
            run_start = np.zeros(0, dtype=np.int64)
        counts = np.diff(np.concatenate((run_start, [key.shape[0]]))).astype(np.float32)
        uniq = key[run_start]
        u_doc = (uniq // n_feat).astype(np.int64)
        u_col = (uniq % n_feat).astype(np.int32)
        indptr = np.concatenate(([0], np.cumsum(np.bincount(u_doc, minlength=n_docs))))
        return self._weigh(counts, u_col, indptr, n_docs), cols

    def _weigh(
        self, counts: NDArray[np.float32], indices: NDArray[np.int32], indptr: I64, n_docs: int
    ) -> sp.csr_matrix:
        """Term counts (CSR, sorted columns) → TF-IDF, sublinear tf, each block L2-normalised."""
        matrix = sp.csr_matrix((counts, indices, indptr), shape=(n_docs, self.n_features), dtype=np.float32)
        values = (1.0 + np.log(matrix.data)) * self.idf[matrix.indices]
        row = np.repeat(np.arange(n_docs, dtype=np.int64), np.diff(matrix.indptr))
        key = row * 2 + (matrix.indices >= self.n_word)
        norms = np.sqrt(np.bincount(key, weights=values * values, minlength=2 * n_docs))
        matrix.data = (values / norms[key]).astype(np.float32)
        return matrix


def document_frequencies(
    texts: Sequence[str], chunk: int = 4000, char_ngrams: tuple[int, int] = CHAR_NGRAMS, scopes: Sequence[str] = ()
) -> tuple[U64, I64, NDArray[np.int8]]:
    """Document frequency of every distinct n-gram hash in ``texts`` (normalized), sorted by hash.

    Returns ``(hashes, df, block)``. Used to choose the vocabulary.
    """
    all_h: list[U64] = []
    all_df: list[I64] = []
    all_b: list[NDArray[np.int8]] = []
    for lo in range(0, len(texts), chunk):
        occ = extract(texts[lo : lo + chunk], char_ngrams, scopes)
        # one (doc, hash) pair per document: df counts documents, not occurrences
        pair = np.unique(np.stack((occ.doc.astype(np.uint64), occ.hashes)), axis=1)
        h, df = np.unique(pair[1], return_counts=True)
        blocks = _block_of(occ, h)
        all_h.append(h)
        all_df.append(df.astype(np.int64))
        all_b.append(blocks)
    hashes = np.concatenate(all_h)
    dfs = np.concatenate(all_df)
    blocks = np.concatenate(all_b)
    uniq, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    total = np.bincount(inverse, weights=dfs).astype(np.int64)
    return uniq, total, blocks[first]


def _block_of(occ: Occurrences, hashes: U64) -> NDArray[np.int8]:
    order = np.argsort(occ.hashes, kind="stable")
    pos = np.searchsorted(occ.hashes[order], hashes)
    return occ.block[order[pos]]


def ngram_texts(
    texts: Sequence[str],
    wanted: U64,
    chunk: int = 4000,
    char_ngrams: tuple[int, int] = CHAR_NGRAMS,
    scopes: Sequence[str] = (),
) -> dict[int, str]:
    """The text of each n-gram hash in ``wanted`` (first occurrence in ``texts``)."""
    found: dict[int, str] = {}
    remaining = np.unique(wanted)
    for lo in range(0, len(texts), chunk):
        if remaining.size == 0:
            break
        occ = extract(texts[lo : lo + chunk], char_ngrams, scopes)
        hit = np.isin(occ.hashes, remaining)
        idx = np.flatnonzero(hit)
        _, first = np.unique(occ.hashes[idx], return_index=True)
        for i in idx[first].tolist():
            found[int(occ.hashes[i])] = _occurrence_text(occ, i)
        remaining = remaining[~np.isin(remaining, np.array(list(found), dtype=np.uint64))]
    return found


def _occurrence_text(occ: Occurrences, idx: int) -> str:
    text = occ.batch[int(occ.start[idx]) : int(occ.end[idx])]
    mark = chr(int(occ.mark[idx])) if occ.mark is not None and occ.mark[idx] else ""
    if occ.block[idx] == WORD_BLOCK and not text.replace("'", "").isalnum():
        mask = _word_mask(np.frombuffer(text.encode("utf-32-le"), dtype="<u4").astype(np.uint64))
        if mask.all():  # a word of letters str.isalnum does not know (the identity placeholder)
            return mark + text
        # A bigram spans "w1<gap>w2" in the batch; it is stored canonically as "w1 w2".
        first_end = int(np.argmin(mask)) if not mask.all() else len(text)
        last_start = len(text) - int(np.argmin(mask[::-1]))
        return f"{mark}{text[:first_end]} {mark}{text[last_start:]}"
    return mark + text
