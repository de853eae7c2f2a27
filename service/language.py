"""Language detection, offline (py3langid ships its model), so non-English text is not scored as English.

py3langid counts the model's byte n-gram features by walking each text's UTF-8 bytes through an
automaton, one Python step per byte. The count of a feature is the number of positions where it is
the longest feature ending there (each state outputs the longest feature its n-gram ends with:
checked for all 104,583 states of the shipped model), so the same counts come from looking up
every 2- to 6-byte n-gram of a whole batch at once in a hash of the features' byte strings, which
are read off the automaton once at load. The scoring after the counts is py3langid's own, operation
for operation, so the probabilities are the same, bit for bit.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from service.domain.policy import DEFAULT_LANGUAGES

# A few words are too little to tell languages apart ("great job" comes out Finnish): below these
# sizes no language is claimed, and the comment is judged like any other.
MIN_WORDS = 5
MIN_LETTERS = 25
# Only a confident guess sends a comment to review; a hesitant one is treated as unknown.
MIN_PROBABILITY = 0.9
# A long comment is identified from its first few hundred characters (plenty to tell languages
# apart), so its cost stays bounded.
SAMPLE_CHARS = 400

_WORD_RE = re.compile(r"[^\W\d_]{2,}")
_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.I)

# An n-gram's key: its bytes big-endian in the low 56 bits, its length in the top byte (so "ab"
# and "\0ab" differ). py3langid's features are 2 to 6 bytes long.
_LENGTH_SHIFT = 56
_MAX_FEATURE_BYTES = 7
# Between texts: 0xFF never occurs in UTF-8, so no feature contains it (checked at load).
_GAP = b"\xff" * _MAX_FEATURE_BYTES


class LanguageDetector:
    """py3langid's model and scoring, with its per-byte automaton walk replaced by batch lookups.

    About 1 s to load (py3langid: 0.6 s). The automaton (43 MB) is not kept: the features' hash
    (4.5 MB) and the table in float32 (57 MB) take about what py3langid's identifier takes.
    """

    def __init__(self) -> None:
        from py3langid.langid import MODEL_DIR, MODEL_FILE
        from py3langid.modelio import load_model

        # py3langid 0.4 ships its model as npz arrays loaded with allow_pickle=False.
        ptc, pc, classes, nextmove, row, output = load_model(MODEL_DIR / MODEL_FILE)
        keys, features, lengths = _feature_keys(nextmove, row, output)
        del nextmove, row, output  # the automaton (43 MB) is not needed past this point
        self._features = _FeatureTable(keys, features)
        # One row of probes per feature length: a word's last ``length`` bytes, and the length.
        self._masks = np.array([[(1 << 8 * n) - 1] for n in lengths], dtype=np.uint64)
        self._length_bits = np.array([[n << _LENGTH_SHIFT] for n in lengths], dtype=np.uint64)
        self._rank = np.arange(1, len(lengths) + 1, dtype=np.uint8)[:, None]
        # float32 rows, as py3langid's product casts them to: the product is then the same, and
        # ~10 us a text faster. The 28 MB this adds are fewer than the automaton's.
        self._table: npt.NDArray[np.float32] = np.asarray(ptc, dtype=np.float32)
        del ptc
        self._prior: npt.NDArray[np.float32] = np.asarray(pc)
        self._classes: list[str] = [str(c) for c in classes]
        # Labels listed twice (a script alias, srl -> sr): py3langid folds the second column into
        # the first.
        first: dict[str, int] = {}
        aliases: list[tuple[int, int]] = []
        for i, c in enumerate(self._classes):
            if c in first:
                aliases.append((first[c], i))
            else:
                first[c] = i
        self._alias_of = np.array([i for i, _ in aliases], dtype=np.intp)
        if len(set(self._alias_of.tolist())) != len(aliases):  # "+=" below would add only one of them
            raise ValueError("language model lists a label three times or more")
        self._alias = np.array([j for _, j in aliases], dtype=np.intp)

    def detect(self, text: str) -> str | None:
        """The text's language (ISO 639-1), or None when the text is too short or the guess unsure."""
        return self.detect_many([text])[0]

    def detect_many(self, texts: Sequence[str]) -> list[str | None]:
        """``detect`` for each text, identified together (one set of array operations per batch)."""
        found: list[str | None] = [None] * len(texts)
        chosen: list[int] = []
        samples: list[str] = []
        for i, text in enumerate(texts):
            prose = _prose(text)
            if prose is None:
                continue
            if len(prose) > SAMPLE_CHARS:
                prose = prose[: prose.rfind(" ", 0, SAMPLE_CHARS) + 1 or SAMPLE_CHARS]
            chosen.append(i)
            samples.append(prose)
        for i, (language, probability) in zip(chosen, self.classify_many(samples), strict=True):
            found[i] = language if probability >= MIN_PROBABILITY else None
        return found

    def classify_many(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """py3langid's ``classify`` (normalized probabilities) for each text: (language, probability)."""
        if not texts:
            return []
        encoded = [_encode(t) for t in texts]
        sizes = np.fromiter(map(len, encoded), dtype=np.intp, count=len(encoded))
        ends, feature, count = self._counts(encoded, sizes)
        scores = np.zeros((len(texts), len(self._classes)), dtype=np.float32)
        # One product per text, its features in order of first appearance, as py3langid computes
        # it: one product for the whole batch would add in another order, last bits apart.
        logs = np.log1p(count, dtype=np.float32)
        for t in np.flatnonzero(ends[1:] > ends[:-1]).tolist():
            a, b = ends[t], ends[t + 1]
            scores[t] = logs[a:b] @ self._table[feature[a:b]] + self._prior
        # A text with no feature keeps scores of 0 (py3langid's "uniform" under normalization).
        scores *= (1.0 / np.sqrt(np.maximum(sizes, 1))).astype(np.float32)[:, None]
        np.exp(scores - scores.max(axis=1, keepdims=True), out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        scores[:, self._alias_of] += scores[:, self._alias]
        scores[:, self._alias] = 0.0
        best = scores.argmax(axis=1)
        confidence = scores[np.arange(len(texts)), best]
        return [(self._classes[i], float(p)) for i, p in zip(best.tolist(), confidence.tolist(), strict=True)]

    def _counts(
        self, encoded: list[bytes], sizes: npt.NDArray[np.intp]
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """The features found and their counts, text by text, each text's in order of first position.

        Text ``t``'s are at ``[ends[t], ends[t + 1])`` in the features and counts returned.
        """
        # The texts joined by a gap of bytes that no feature contains, so no n-gram spans two texts,
        # then read as overlapping big-endian words: word k holds the 8 bytes ending at byte k + 7.
        joined = _GAP + _GAP.join(encoded)
        words = np.ndarray((len(joined) - 7,), dtype=">u8", buffer=joined, strides=(1,)).astype(np.uint64)
        hit, slot = self._features.find((words & self._masks) | self._length_bits)
        # The longest feature ending at each byte is the one counted there (rows go by length).
        longest = (hit * self._rank).max(axis=0)
        where = np.flatnonzero(longest)
        feature = self._features.feature(slot[longest[where] - 1, where])
        if len(encoded) > 1:
            text_starts = np.cumsum(sizes + len(_GAP)) - (sizes + len(_GAP))
            feature += (np.searchsorted(text_starts, where, side="right") - 1) * len(self._table)
        # Sorting (text, feature, position) groups each text's occurrences of a feature, its first
        # position leading; a value below and one above all others bound the first and last group.
        shift = max(len(words), 1).bit_length()
        ordered = np.empty(len(where) + 2, dtype=np.int64)
        ordered[0], ordered[-1] = -1, np.iinfo(np.int64).max
        np.bitwise_or(feature << shift, where, out=ordered[1:-1])
        ordered.sort()
        pair = ordered >> shift
        bounds = np.flatnonzero(pair[1:] != pair[:-1])  # group g is ordered[bounds[g] + 1 : bounds[g + 1] + 1]
        by_first = np.argsort(ordered[bounds[:-1] + 1] & ((1 << shift) - 1))  # positions grow text by text
        pair = pair[bounds[:-1] + 1][by_first]
        count = np.diff(bounds)[by_first]
        if len(encoded) == 1:
            return np.array([0, len(pair)]), pair, count
        ends = np.searchsorted(pair // len(self._table), np.arange(len(encoded) + 1))
        return ends, pair % len(self._table), count


class _FeatureTable:
    """A perfect hash of the features' keys: one lookup is a few array reads, none dependent.

    (A binary search in the sorted keys costs ~65 ns a probe, a chain of cache misses; this ~9 ns.)
    Hash and displace: a key's bucket gives a displacement, chosen at build time so that every
    key of the bucket lands in a slot of its own.
    """

    _BUCKET_BITS = 16  # ~1.5 keys a bucket for py3langid's 100k features
    _SLOT_BITS = 18  # 262,144 slots for 100k keys: most buckets place at the first or second try
    _EMPTY = np.uint64(2**64 - 1)  # a length byte of 255: not a key, and not a probe
    _BUCKET_FACTOR, _BUCKET_SHIFT = np.uint64(0x9E3779B97F4A7C15), np.uint64(64 - _BUCKET_BITS)
    _SLOT_FACTOR, _SLOT_SHIFT = np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(64 - _SLOT_BITS)

    def __init__(self, keys: npt.NDArray[np.uint64], features: npt.NDArray[np.intp]) -> None:
        if len(keys) > (1 << self._SLOT_BITS) // 2:
            raise ValueError("language model has too many features for the lookup table")
        bucket, home = self._hash(keys)
        self._displacement = np.zeros(1 << self._BUCKET_BITS, dtype=np.uint32)
        self._keys = np.full(1 << self._SLOT_BITS, self._EMPTY, dtype=np.uint64)
        self._features = np.full(1 << self._SLOT_BITS, -1, dtype=np.intp)
        order = np.argsort(bucket, kind="stable")
        starts = np.flatnonzero(np.concatenate(([True], bucket[order][1:] != bucket[order][:-1])))
        ends = np.append(starts[1:], len(order))
        used = bytearray(1 << self._SLOT_BITS)
        slot = np.empty(len(keys), dtype=np.intp)
        members_of, homes = order.tolist(), home.tolist()
        # The fullest buckets first, while most slots are free.
        for g in np.argsort(starts - ends, kind="stable").tolist():
            members = members_of[starts[g] : ends[g]]
            wanted = [homes[k] for k in members]
            for shift in range(1 << self._SLOT_BITS):
                slots = [h ^ shift for h in wanted]
                if len(set(slots)) == len(slots) and not any(used[s] for s in slots):
                    break
            else:
                raise ValueError("language model's features could not be hashed")
            for k, s in zip(members, slots, strict=True):
                used[s] = 1
                slot[k] = s
            self._displacement[bucket[members[0]]] = shift
        self._keys[slot] = keys
        self._features[slot] = features

    def _hash(self, keys: npt.NDArray[np.uint64]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
        """Each key's bucket and home slot (multiplicative hashing: the top bits of a product)."""
        bucket = (keys * self._BUCKET_FACTOR) >> self._BUCKET_SHIFT
        home = (keys * self._SLOT_FACTOR) >> self._SLOT_SHIFT
        return bucket, home

    def find(self, probes: npt.NDArray[np.uint64]) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.uint64]]:
        """Whether each probe is a feature's key, and its slot (see ``feature``)."""
        bucket, home = self._hash(probes)
        slot = home ^ self._displacement[bucket]
        return self._keys[slot] == probes, slot

    def feature(self, slots: npt.NDArray[np.uint64]) -> npt.NDArray[np.intp]:
        """The features in slots where ``find`` found a key."""
        return self._features[slots]


def _prose(text: str) -> str | None:
    """The text with its links blanked out, or None when it has too few words to tell a language."""
    # Only a text with "://" or "www." can hold a link (the check costs a tenth of the search).
    if "://" in text or "www." in text.lower():
        text = _URL_RE.sub(" ", text)
    words = letters = 0
    for word in _WORD_RE.finditer(text):  # stops once there are enough words
        words += 1
        letters += word.end() - word.start()
        if words >= MIN_WORDS and letters >= MIN_LETTERS:
            return text
    return None


def _encode(text: str) -> bytes:
    """py3langid's preprocessing: an all-capitals text lowercased, NFC, UTF-8 (surrogates kept)."""
    if text.isupper():
        text = text.lower()
    return unicodedata.normalize("NFC", text).encode("utf8", errors="surrogatepass")


def _feature_keys(
    nextmove: Any, row: Any, output: list[int]
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.intp], list[int]]:
    """The features' keys (sorted), the feature of each key, and the feature lengths present.

    The automaton is Aho-Corasick's: a state's shortest path from the start spells the n-gram it
    stands for, found by a breadth-first walk (each new state is reached by exactly one edge from
    the previous level). A feature is output by the states that end in it; the shortest of them
    is the feature itself.
    """
    moves = np.frombuffer(nextmove, dtype=f"u{nextmove.itemsize}").reshape(-1, 256)
    rows = np.frombuffer(row, dtype=f"u{row.itemsize}")
    states = len(rows)
    seen = np.zeros(states, dtype=bool)
    depth = np.zeros(states, dtype=np.uint64)
    label = np.zeros(states, dtype=np.uint64)
    seen[0] = True
    level = np.zeros(1, dtype=np.intp)
    d = 0
    while len(level):
        d += 1
        if d > _MAX_FEATURE_BYTES:
            raise ValueError(f"language model has n-grams longer than {_MAX_FEATURE_BYTES} bytes")
        reached = []
        # A few thousand states at a time: a level's moves at once would take ~40 MB more.
        for part in np.array_split(level, len(level) // 4096 + 1):
            step = moves[rows[part]]
            parent, byte = np.nonzero(~seen[step])
            new = step[parent, byte].astype(np.intp)
            seen[new] = True
            depth[new] = d
            label[new] = (label[part[parent]] << np.uint64(8)) | byte.astype(np.uint64)
            reached.append(new)
        level = np.concatenate(reached)
    out = np.asarray(output, dtype=np.intp)
    if not seen.all() or len(out) != states:
        raise ValueError("language model's automaton is not the expected shape")
    outputting = np.flatnonzero(out >= 0)
    # By feature, then shortest first: the first state of each feature spells it.
    outputting = outputting[np.lexsort((depth[outputting], out[outputting]))]
    feature = out[outputting]
    first = np.concatenate(([True], feature[1:] != feature[:-1]))
    spelled = outputting[first]
    if len(spelled) != len(np.unique(feature)):
        raise ValueError("language model's features are not the expected shape")
    keys = label[spelled] | (depth[spelled] << np.uint64(_LENGTH_SHIFT))
    order = np.argsort(keys)
    keys = keys[order]
    if len(np.unique(keys)) != len(keys):
        raise ValueError("language model has two features with the same bytes")
    lengths = sorted({int(x) for x in np.unique(depth[spelled])})
    spelled_bytes = label[spelled]
    for k in range(lengths[-1]):
        if (((spelled_bytes >> np.uint64(8 * k)) & np.uint64(0xFF)) == 0xFF).any():
            raise ValueError("language model has a feature with a 0xFF byte (not UTF-8)")
    return keys, feature[first][order], lengths


def supported_languages(manifest: dict[str, Any]) -> frozenset[str]:
    """The languages a model was trained on: its manifest's ``languages`` when it says, else English."""
    for source in (manifest, manifest.get("feature_config") or {}):
        listed = source.get("languages")
        if isinstance(listed, Iterable) and not isinstance(listed, str | bytes):
            found = frozenset(str(x) for x in listed)
            if found:
                return found
    return DEFAULT_LANGUAGES
