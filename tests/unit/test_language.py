"""Language detection: the batch n-gram counting gives py3langid's own answers, text for text."""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from classifier.data import default_data_dir
from service.language import MIN_LETTERS, MIN_PROBABILITY, MIN_WORDS, SAMPLE_CHARS, LanguageDetector

WORDS = {
    "en": "the people who said this were wrong about what happened in the city council meeting last week".split(),
    "fr": "les gens qui ont dit cela se trompaient sur ce qui est arrivé au conseil municipal la semaine".split(),
    "de": "die Leute die das gesagt haben lagen falsch über das was im Stadtrat letzte Woche geschah".split(),
    "es": "la gente que dijo esto estaba equivocada sobre lo que pasó en el consejo municipal señor".split(),
    "it": "le persone che hanno detto questo sbagliavano su ciò che è successo nel consiglio comunale".split(),
    "pt": "as pessoas que disseram isso estavam erradas sobre o que aconteceu na câmara municipal não".split(),
    "nl": "de mensen die dit zeiden hadden het mis over wat er gebeurde in de gemeenteraad vorige week".split(),
    "pl": "ludzie którzy to powiedzieli mylili się co do tego co wydarzyło się w radzie miejskiej źle".split(),
    "tr": "bunu söyleyen insanlar geçen hafta belediye meclisinde olanlar hakkında yanılıyorlardı çok".split(),
    "vi": "những người nói điều này đã sai về những gì đã xảy ra trong hội đồng thành phố tuần trước".split(),
    "ru": "люди которые это сказали ошибались насчёт того что произошло в городском совете на неделе".split(),
    "uk": "люди які це сказали помилялися щодо того що сталося в міській раді минулого тижня їхній".split(),
    "el": "οι άνθρωποι που το είπαν αυτό έκαναν λάθος για το τι συνέβη στο δημοτικό συμβούλιο".split(),
    "ar": "الناس الذين قالوا هذا كانوا مخطئين بشأن ما حدث في مجلس المدينة الأسبوع الماضي".split(),
    "he": "האנשים שאמרו את זה טעו לגבי מה שקרה במועצת העיר בשבוע שעבר".split(),
    "hi": "जिन लोगों ने यह कहा वे पिछले सप्ताह नगर परिषद में जो हुआ उसके बारे में गलत थे".split(),
    "zh": list("说这话的人对上周市议会发生的事情的看法是错误的我们都知道"),
    "ja": "これを 言った 人々は 先週 市議会で 起きた ことに ついて 間違って いました カタカナ".split(),
    "ko": "이 말을 한 사람들은 지난주 시의회에서 일어난 일에 대해 틀렸습니다".split(),
    "th": "คน ที่ พูด แบบ นี้ เข้าใจ ผิด เกี่ยว กับ สิ่ง ที่ เกิด ขึ้น ใน สภา เมือง".split(),
}
EMOJI = ["😀", "🙄", "👍🏽", "🇫🇷", "❤️", "🤦‍♀️", "🔥🔥🔥", "😂😂"]
ODD = ["e\u0301", "A\u030a", "\u00a0", "\u200b", "\ufeff", "\x00", "\t", "\n\n", "\ud800", "ß", "İ", "ﬁ", "ÿ"]
URLS = ["https://example.com/a?b=c", "www.example.org/path", "http://t.co/xyz", "HTTPS://EXAMPLE.COM/X"]


def generated_texts(count: int, seed: int) -> list[str]:
    """Varied texts: one language or several, any case, with URLs, emoji, digits and odd characters."""
    rng = random.Random(seed)
    languages = sorted(WORDS)
    texts: list[str] = []
    for _ in range(count):
        mix = rng.sample(languages, rng.choice([1, 1, 1, 2, 3]))
        size = rng.choice([0, 1, 2, 4, 5, 6, 8, 12, 20, 40, 80, 200])
        parts = [rng.choice(WORDS[rng.choice(mix)]) for _ in range(size)]
        for _ in range(rng.choice([0, 0, 1, 3])):
            parts.insert(rng.randrange(len(parts) + 1), rng.choice(EMOJI + ODD + URLS + ["123", "!!", "?", "..."]))
        text = rng.choice([" ", " ", ", ", "", "  "]).join(parts)
        style = rng.random()
        if style < 0.15:
            text = text.upper()
        elif style < 0.25:
            text = text.title()
        elif style < 0.3:
            text = text.swapcase()
        texts.append(text)
    return texts


def edge_texts() -> list[str]:
    """Texts at the detector's thresholds and other edges (empty, no letters, one script run)."""
    word5 = "abcde"  # five letters a word: MIN_WORDS words have exactly MIN_LETTERS letters
    assert MIN_WORDS * len(word5) == MIN_LETTERS
    at_threshold = " ".join([word5] * MIN_WORDS)
    long_prose = " ".join(WORDS["en"] * 10)
    return [
        "",
        " ",
        "a",
        "!!!",
        "12345 67890",
        "😀" * 50,
        "\ud800\udc00 lone surrogates \udfff",
        at_threshold,
        at_threshold[:-1],  # one letter short
        " ".join([word5] * (MIN_WORDS - 1)),  # one word short
        " ".join(["the quick brown fox jumps"] * 2),
        "THIS IS ALL IN CAPITALS AND SHOULD BE LOWERED FIRST",
        "Das ist ein ganz normaler deutscher Satz über das Wetter heute",
        long_prose[:SAMPLE_CHARS],
        long_prose[: SAMPLE_CHARS + 1],
        "x" * (SAMPLE_CHARS + 50),  # no space to cut at
        long_prose * 3,  # far past the sample: classify_many itself takes whole texts
        "https://example.com/only/a/link www.example.org/and/another",
        "see https://example.com/page for the people who said this were wrong about",
        "WwW.Example.com/the-people-who-said-this were wrong about",  # links in any case
        "HtTpſ://example.com/the-people-who-said-this were wrong about",  # long s matches s when ignoring case
        "ftp://example.com/the/people/who/said/this were wrong about it",  # not a link to the rules
    ]


def reference_detect(identifier: Any, text: str) -> str | None:
    """The detector's rules as they stood, on py3langid's own ``classify``."""
    prose = re.sub(r"(?:https?://|www\.)\S+", " ", text, flags=re.I)
    words = re.findall(r"[^\W\d_]{2,}", prose)
    if len(words) < MIN_WORDS or sum(len(w) for w in words) < MIN_LETTERS:
        return None
    sample = prose if len(prose) <= SAMPLE_CHARS else prose[: prose.rfind(" ", 0, SAMPLE_CHARS) + 1 or SAMPLE_CHARS]
    language, probability = identifier.classify(sample)
    return str(language) if float(probability) >= MIN_PROBABILITY else None


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector()


@pytest.fixture(scope="module")
def identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def assert_same_as_py3langid(detector: LanguageDetector, identifier: Any, texts: list[str], batch: int) -> None:
    got = [r for i in range(0, len(texts), batch) for r in detector.classify_many(texts[i : i + batch])]
    want = [identifier.classify(t) for t in texts]
    differ = [
        (t[:60], g, w)
        for t, g, w in zip(texts, got, want, strict=True)
        if g[0] != w[0] or abs(g[1] - float(w[1])) > 1e-5
    ]
    assert not differ, f"{len(differ)} of {len(texts)} differ from py3langid, e.g. {differ[:3]}"


@pytest.mark.parametrize("batch", [1, 7, 32, 1000])
def test_generated_texts_are_classified_as_py3langid_does(
    detector: LanguageDetector, identifier: Any, batch: int
) -> None:
    texts = generated_texts(3000 if batch >= 32 else 600, seed=batch) + edge_texts()
    assert_same_as_py3langid(detector, identifier, texts, batch)


def test_the_generated_texts_cover_what_they_claim(detector: LanguageDetector) -> None:
    """A guard on the test above: its texts are identified as many languages, confidently and not."""
    texts = generated_texts(3000, seed=32)
    found = [language for language, _ in detector.classify_many(texts)]
    assert len(set(found)) >= 15
    assert {"en", "fr", "de", "ru", "el", "ar", "zh", "ja", "ko"} <= set(found)
    assert any(t.isupper() for t in texts) and any("http" in t for t in texts) and any("😀" in t for t in texts)


def test_detect_keeps_its_rules(detector: LanguageDetector, identifier: Any) -> None:
    texts = generated_texts(1500, seed=7) + edge_texts()
    want = [reference_detect(identifier, t) for t in texts]
    assert detector.detect_many(texts) == want
    assert [detector.detect(t) for t in texts[:200]] == want[:200]
    assert detector.detect_many([]) == []
    # Both outcomes happen: languages claimed, and none (too short, or unsure).
    assert None in want and len({w for w in want if w}) >= 10


def test_thresholds_decide_whether_a_language_is_claimed(detector: LanguageDetector) -> None:
    english = "the people who said this were wrong about what happened"
    assert detector.detect(english) == "en"
    assert detector.detect("people said this") is None  # too few words
    assert detector.detect("https://example.com/the/people/who/said/this/were/wrong") is None  # a link is not prose
    assert detector.detect_many([english, "ok", english.upper()]) == ["en", None, "en"]


def test_no_ngram_spans_two_texts_of_a_batch(detector: LanguageDetector) -> None:
    """A text's answer does not depend on its neighbours in the batch (nor on their order)."""
    texts = ["the people who", "ople who said", "", "Leute die das", "😀", "\ud800", "the the the"]
    alone = [detector.classify_many([t])[0] for t in texts]
    assert detector.classify_many(texts) == alone
    assert detector.classify_many(texts[::-1]) == alone[::-1]


DATA = default_data_dir()


@pytest.mark.data
@pytest.mark.skipif(not DATA.is_dir(), reason="shared data not present")
def test_real_comments_are_classified_as_py3langid_does(detector: LanguageDetector, identifier: Any) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    try:
        from bench_load import comment_texts
    finally:
        sys.path.pop(0)
    texts, _ = comment_texts(20000, 1)
    assert_same_as_py3langid(detector, identifier, texts, batch=8)
    want = [reference_detect(identifier, t) for t in texts]
    assert detector.detect_many(texts) == want
