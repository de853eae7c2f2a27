"""Identity terms folded into one placeholder before feature extraction (a debiasing step).

Real comment data mentions "gay", "Muslim" or "black" far more often in attacks than otherwise,
so a bag-of-n-grams model learns the identity word itself as toxic and flags "I am a Muslim
woman". Replacing every identity term with the same placeholder removes that per-group bias, and the
training vocabulary leaves out the n-grams made only of the placeholder and punctuation (see
:func:`is_placeholder_only`), so an identity term by itself carries exactly zero weight. What is
left to learn is the context ("<id> are vermin" vs "I am a <id>"), shared across groups; the
templated sentences of :mod:`classifier.augment` teach it. Slurs are not identity terms and stay.

Applied after :func:`classifier.normalize.normalize` (so the input is lower-case); the
offset-tracking variant lets explanations still point at the original word.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from classifier.normalize import Normalized, _sub_tracked, normalize, normalize_with_offsets

__all__ = [
    "IDENTITY_TERMS",
    "PLACEHOLDER",
    "is_placeholder_only",
    "mask_identity",
    "mentions_identity",
    "prepare_text",
    "prepare_text_with_offsets",
]

# A private-use character: normalization deletes any the user typed, so it only ever marks a
# folded identity term, and its own n-grams (" \ue000", "\ue000 ", ...) are unique to it.
PLACEHOLDER = "\ue000"

IDENTITY_TERMS: tuple[str, ...] = (
    "women",
    "woman",
    "females?",
    "trans",
    "transgenders?",
    "transsexuals?",
    "gays?",
    "lesbians?",
    "bisexuals?",
    "queers?",
    "homosexuals?",
    "lgbtq?\\+?",
    "lgbtqia\\+?",
    "blacks?",
    "whites?",
    "asians?",
    "africans?",
    "mexicans?",
    "latinos?",
    "latinas?",
    "hispanics?",
    "arabs?",
    "muslims?",
    "moslems?",
    "islam",
    "islamic",
    "jews?",
    "jewish",
    "christians?",
    "hindus?",
    "sikhs?",
    "buddhists?",
    "catholics?",
    "atheists?",
    "immigrants?",
    "refugees?",
    "migrants?",
    "disabled",
    "handicapped",
    "deaf",
    "blind",
    "autistic",
    "chinese",
    "indians?",
    "elderly",
)

_IDENTITY_RE = re.compile(r"(?<![\w'])(?:" + "|".join(IDENTITY_TERMS) + r")(?![\w'])")


def mentions_identity(texts: Sequence[str]) -> NDArray[np.bool_]:
    """Which prepared texts mention an identity term (hold the folded placeholder)."""
    return np.fromiter((PLACEHOLDER in t for t in texts), dtype=bool, count=len(texts))


def is_placeholder_only(ngram: str) -> bool:
    """True for vocabulary entries made of the placeholder, spaces and punctuation only (never
    features). Punctuation is no context: with "<id>." and "<id>!" as features, every sentence that
    ends on an identity term gained identity_attack weight (+1.5 log-odds for "<id>.")."""
    return PLACEHOLDER in ngram and not any(ch.isalnum() for ch in ngram.replace(PLACEHOLDER, ""))


def _placeholder(_match: re.Match[str]) -> str:
    return PLACEHOLDER


def mask_identity(normalized: str) -> str:
    """Replace identity terms in already-normalized text with :data:`PLACEHOLDER`."""
    return _IDENTITY_RE.sub(_placeholder, normalized)


def prepare_text(text: str, identity_mask: bool = True) -> str:
    """What the model featurizes: normalized text, identity terms folded when ``identity_mask``."""
    normalized = normalize(text)
    return mask_identity(normalized) if identity_mask else normalized


def prepare_text_with_offsets(text: str, identity_mask: bool = True) -> Normalized:
    """:func:`prepare_text` plus the map back to the original characters."""
    norm = normalize_with_offsets(text)
    if not identity_mask or _IDENTITY_RE.search(norm.text) is None:
        return norm
    out, starts, ends = _sub_tracked(_IDENTITY_RE, _placeholder, norm.text, list(norm.starts), list(norm.ends))
    return Normalized(out, tuple(starts), tuple(ends))
