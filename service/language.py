"""Language detection, offline (py3langid ships its model), so non-English text is not scored as English.

py3langid counts the model's byte n-gram features by walking each text's UTF-8 bytes through an
automaton, one Python step per byte. The count of a feature is the number of positions where it is
the longest feature ending there (the automaton's state outputs one feature, its longest), so the
same counts come from looking up every n-gram of a whole batch at once in a sorted array of the
features' byte strings, which are read off the automaton once at load. The scoring after the counts
is py3langid's own, operation for operation, so the probabilities are the same.
"""

from __future__ import annotations

import math
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


class LanguageDetector:
    """py3langid's model and scoring, with its per-byte automaton walk replaced by batch lookups.

    About 1 s to load; the automaton itself is not kept, only the features' keys (1.2 MB) beside
    the model's float16 table (28 MB).
    """

    def __init__(self) -> None:
        from py3langid.langid import MODEL_DIR, MODEL_FILE
        from py3langid.modelio import load_model

        # py3langid 0.4 ships its model as npz arrays loaded with allow_pickle=False.
        ptc, pc, classes, nextmove, row, output = load_model(MODEL_DIR / MODEL_FILE)
        self._table: npt.NDArray[np.float16] = np.asarray(ptc)
        self._prior: npt.NDArray[np.float32] = np.asarray(pc)
        self._classes: list[str] = [str(c) for c in classes]
        self._keys, self._features, self._lengths = _feature_keys(nextmove, row, output)
        # Labels listed twice (a script alias, srl -> sr): py3langid folds the second column into
        # the first.
        first: dict[str, int] = {}
        self._aliases: list[tuple[int, int]] = []
        for i, c in enumerate(self._classes):
            if c in first:
                self._aliases.append((first[c], i))
            else:
                first[c] = i

    def detect(self, text: str) -> str | None:
        """The text's language (ISO 639-1), or None when the text is too short or the guess unsure."""
        return self.detect_many([text])[0]

    def detect_many(self, texts: Sequence[str]) -> list[str | None]:
        """``detect`` for each text, identified together (one set of array operations per batch)."""
        found: list[str | None] = [None] * len(texts)
        chosen: list[int] = []
        samples: list[str] = []
        for i, text in enumerate(texts):
            prose = _URL_RE.sub(" ", text)
            words = _WORD_RE.findall(prose)
            if len(words) < MIN_WORDS or sum(len(w) for w in words) < MIN_LETTERS:
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
        text_of, feature, count = self._counts(encoded, sizes)
        scores = np.zeros((len(texts), len(self._classes)), dtype=np.float32)
        # One product per text, its features in order of first appearance, as py3langid computes
        # it: a single product for the batch would add in another order (1e-7 apart, not equal).
        ends = np.searchsorted(text_of, np.arange(len(texts) + 1))
        logs = np.log1p(count.astype(np.float32))
        for t in np.flatnonzero(ends[1:] > ends[:-1]).tolist():
            a, b = ends[t], ends[t + 1]
            scores[t] = logs[a:b] @ self._table[feature[a:b]] + self._prior
        # A text with no feature keeps scores of 0 (py3langid's "uniform" under normalization).
        scores *= (1.0 / np.sqrt(np.maximum(sizes, 1))).astype(np.float32)[:, None]
        np.exp(scores - scores.max(axis=1, keepdims=True), out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        for i, j in self._aliases:
            scores[:, i] += scores[:, j]
            scores[:, j] = 0.0
        best = scores.argmax(axis=1)
        confidence = scores[np.arange(len(texts)), best]
        return [(self._classes[i], float(p)) for i, p in zip(best.tolist(), confidence.tolist(), strict=True)]

    def _counts(
        self, encoded: list[bytes], sizes: npt.NDArray[np.intp]
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """(text, feature, count) triples, by text and then by each feature's first position."""
        data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        n = len(data)
        empty = np.zeros(0, dtype=np.intp)
        if n == 0:
            return empty, empty, empty
        # Each byte's offset inside its own text: an n-gram may not reach back into the text before.
        offset = np.arange(n) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        pad = self._lengths[-1] - 1
        padded = np.concatenate((np.zeros(pad, dtype=np.uint64), data.astype(np.uint64)))
        # key[k] packs the ``length`` bytes ending at padded[k + length - 1]; its last n entries end
        # at the text bytes.
        key = padded
        probes = []
        for length in range(1, self._lengths[-1] + 1):
            if length > 1:
                key = (key[:-1] << np.uint64(8)) | padded[length - 1 :]
            if length in self._lengths:
                probe = key[-n:] | np.uint64(length << _LENGTH_SHIFT)
                probe[offset < length - 1] = 0  # no key is 0: every key carries its length
                probes.append(probe)
        probe_all = np.stack(probes)
        at = np.searchsorted(self._keys, probe_all)
        np.minimum(at, len(self._keys) - 1, out=at)
        hit = self._keys[at] == probe_all
        # The longest feature ending at each byte is the one counted there.
        longest = len(probes) - 1 - hit[::-1].argmax(axis=0)
        where = np.flatnonzero(hit.any(axis=0))
        if len(where) == 0:
            return empty, empty, empty
        feature = self._features[at[longest[where], where]]
        text = np.repeat(np.arange(len(encoded)), sizes)[where]
        pair = text * len(self._table) + feature
        order = np.argsort(pair, kind="stable")
        pair = pair[order]
        starts = np.flatnonzero(np.concatenate(([True], pair[1:] != pair[:-1])))
        count = np.diff(np.append(starts, len(pair)))
        by_first = np.argsort(order[starts])  # positions grow text by text, so this sorts by text too
        pair = pair[starts][by_first]
        return pair // len(self._table), pair % len(self._table), count[by_first]


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
        step = moves[rows[level]]
        parent, byte = np.nonzero(~seen[step])
        new = step[parent, byte].astype(np.intp)
        seen[new] = True
        depth[new] = d
        label[new] = (label[level[parent]] << np.uint64(8)) | byte.astype(np.uint64)
        level = new
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
