"""Language detection, offline (py3langid ships its model), so non-English text is not scored as English."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from service.domain.policy import DEFAULT_LANGUAGES

# A few words are too little to tell languages apart ("great job" comes out Finnish): below these
# sizes no language is claimed, and the comment is judged like any other.
MIN_WORDS = 5
MIN_LETTERS = 25
# Only a confident guess sends a comment to review; a hesitant one is treated as unknown.
MIN_PROBABILITY = 0.9
# The identifier walks the text byte by byte in Python: a long comment is identified from its
# first few hundred characters (plenty to tell languages apart), so its cost stays bounded.
SAMPLE_CHARS = 400

_WORD_RE = re.compile(r"[^\W\d_]{2,}")
_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.I)


class LanguageDetector:
    """Wraps one loaded py3langid identifier (about 80 ms to load, at most ~0.2 ms per comment)."""

    def __init__(self) -> None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        # py3langid 0.4 ships its model as npz arrays loaded with allow_pickle=False.
        self._identifier: Any = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)

    def detect(self, text: str) -> str | None:
        """The text's language (ISO 639-1), or None when the text is too short or the guess unsure."""
        prose = _URL_RE.sub(" ", text)
        words = _WORD_RE.findall(prose)
        if len(words) < MIN_WORDS or sum(len(w) for w in words) < MIN_LETTERS:
            return None
        sample = prose if len(prose) <= SAMPLE_CHARS else prose[: prose.rfind(" ", 0, SAMPLE_CHARS) + 1 or SAMPLE_CHARS]
        language, probability = self._identifier.classify(sample)
        return str(language) if float(probability) >= MIN_PROBABILITY else None


def supported_languages(manifest: dict[str, Any]) -> frozenset[str]:
    """The languages a model was trained on: its manifest's ``languages`` when it says, else English."""
    for source in (manifest, manifest.get("feature_config") or {}):
        listed = source.get("languages")
        if isinstance(listed, Iterable) and not isinstance(listed, str | bytes):
            found = frozenset(str(x) for x in listed)
            if found:
                return found
    return DEFAULT_LANGUAGES
