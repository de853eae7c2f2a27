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
    "DEFAULT_TERMS",
    "IDENTITY_TERMS",
    "IDENTITY_TERM_SETS",
    "LATEST_TERMS",
    "UNVERSIONED_TERMS",
    "PLACEHOLDER",
    "is_placeholder_only",
    "identity_pattern",
    "mask_identity",
    "mentions_identity",
    "prepare_text",
    "prepare_text_with_offsets",
]

# A private-use character: normalization deletes any the user typed, so it only ever marks a
# folded identity term, and its own n-grams (" \ue000", "\ue000 ", ...) are unique to it.
PLACEHOLDER = "\ue000"

_TERMS_V1: tuple[str, ...] = (
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

# Peoples by nationality, ethnicity and religion that the first set lacked: an international-
# relations site's comments name them in attacks and in plain statements alike ("I am Turkish."
# went to review under v1, and "Pakistanis are filthy animals." had half the identity_attack of
# "Muslims are ..."). Languages that are mostly named as languages (English, French, Spanish,
# Polish, Dutch) and words with a common other sense (poles) are left out; slurs are never
# identity terms.
_TERMS_V2_ADDED: tuple[str, ...] = (
    "pakistanis?",
    "turks?",
    "turkish",
    "kurds?",
    "kurdish",
    "armenians?",
    "afghans?",
    "afghanis?",
    "bangladeshis?",
    "bengalis?",
    "kashmiris?",
    "punjabis?",
    "sindhis?",
    "pashtuns?",
    "baloch",
    "balochis?",
    "tamils?",
    "sinhalese",
    "nepalis?",
    "sri lankans?",
    "iranians?",
    "persians?",
    "iraqis?",
    "syrians?",
    "palestinians?",
    "israelis?",
    "saudis?",
    "yemenis?",
    "lebanese",
    "egyptians?",
    "moroccans?",
    "algerians?",
    "somalis?",
    "nigerians?",
    "ethiopians?",
    "eritreans?",
    "sudanese",
    "uyghurs?",
    "uighurs?",
    "tibetans?",
    "rohingyas?",
    "koreans?",
    "japanese",
    "vietnamese",
    "filipinos?",
    "filipinas?",
    "indonesians?",
    "malaysians?",
    "roma",
    "romani",
    "russians?",
    "ukrainians?",
    "romanians?",
    "bulgarians?",
    "albanians?",
    "serbs?",
    "serbians?",
    "bosnians?",
    "croats?",
    "greeks?",
    "germans?",
    "italians?",
    "irish",
    "british",
    "brits?",
    "americans?",
    "canadians?",
    "brazilians?",
    "colombians?",
    "venezuelans?",
    "cubans?",
    "haitians?",
    "jamaicans?",
    "puerto ricans?",
    "europeans?",
    "westerners?",
    "native americans?",
    "aboriginals?",
    "aborigines",
    "indigenous",
    "shias?",
    "shiites?",
    "sunnis?",
    "ahmadis?",
    "mormons?",
    "protestants?",
    "yazidis?",
    "parsis?",
    "dalits?",
    "pagans?",
)

# Each artifact records the set it was trained with (manifest feature_config "identity_terms";
# artifacts from before v2 record none and are v1), and is scored with that set. Recipes fold
# DEFAULT_TERMS unless they name another (classifier.train: why the default is not v2 yet).
IDENTITY_TERM_SETS: dict[str, tuple[str, ...]] = {"v1": _TERMS_V1, "v2": _TERMS_V1 + _TERMS_V2_ADDED}
DEFAULT_TERMS = "v1"
LATEST_TERMS = "v2"
UNVERSIONED_TERMS = "v1"  # what an artifact that records no set folded (fixed: older artifacts)
IDENTITY_TERMS = IDENTITY_TERM_SETS[DEFAULT_TERMS]

_PATTERNS = {
    name: re.compile(r"(?<![\w'])(?:" + "|".join(terms) + r")(?![\w'])") for name, terms in IDENTITY_TERM_SETS.items()
}


def identity_pattern(terms: str = DEFAULT_TERMS) -> re.Pattern[str]:
    """The compiled pattern of a term set; ValueError for a set this code does not know."""
    try:
        return _PATTERNS[terms]
    except KeyError:
        raise ValueError(f"unknown identity term set {terms!r} (known: {', '.join(_PATTERNS)})") from None


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


def mask_identity(normalized: str, terms: str = DEFAULT_TERMS) -> str:
    """Replace identity terms (of the set ``terms``) in already-normalized text with :data:`PLACEHOLDER`."""
    return identity_pattern(terms).sub(_placeholder, normalized)


def prepare_text(text: str, identity_mask: bool = True, terms: str = DEFAULT_TERMS) -> str:
    """What the model featurizes: normalized text, the identity terms of the set ``terms`` folded
    when ``identity_mask``."""
    normalized = normalize(text)
    return mask_identity(normalized, terms) if identity_mask else normalized


def prepare_text_with_offsets(text: str, identity_mask: bool = True, terms: str = DEFAULT_TERMS) -> Normalized:
    """:func:`prepare_text` plus the map back to the original characters."""
    norm = normalize_with_offsets(text)
    pattern = identity_pattern(terms)
    if not identity_mask or pattern.search(norm.text) is None:
        return norm
    out, starts, ends = _sub_tracked(pattern, _placeholder, norm.text, list(norm.starts), list(norm.ends))
    return Normalized(out, tuple(starts), tuple(ends))
