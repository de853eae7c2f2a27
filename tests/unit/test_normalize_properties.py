"""Properties of text normalization over arbitrary Unicode (hypothesis): it must never crash,
agree with its offset-tracking twin, and keep its output clean and bounded."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from classifier.normalize import _normalize_tracked, normalize, normalize_with_offsets

# Arbitrary text, plus text built from the characters evasion uses (leet, masks, spacing, look-alikes,
# zero-width and control characters, URLs), so the interesting branches run often.
TRICKY = "aeioufckshtb1!@$*#%.-_ 0\u200b\u00ad\u0430\u043e\u0435\u03bf\t\n\r\x00\x7f\ufeff:/wq"
texts = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=TRICKY, max_size=200),
    st.builds(
        lambda a, b: f"{a} http://x.example/{b} {a}", st.text(alphabet=TRICKY, max_size=40), st.text(max_size=20)
    ),
)


@settings(max_examples=400)
@given(texts)
def test_offsets_version_agrees_and_maps_into_the_original(text: str) -> None:
    tracked = normalize_with_offsets(text)
    assert tracked.text == normalize(text)
    assert len(tracked.starts) == len(tracked.ends) == len(tracked.text)
    for start, end in zip(tracked.starts, tracked.ends, strict=True):
        assert 0 <= start < end <= len(text)
    if tracked.text:
        a, b = tracked.original_span(0, len(tracked.text))
        assert 0 <= a < b <= len(text)


@settings(max_examples=400)
@given(
    st.one_of(
        st.text(alphabet=st.characters(max_codepoint=127), max_size=300),
        st.text(alphabet="".join(c for c in TRICKY if c.isascii()), max_size=200),
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz ,.'", max_size=200),  # mostly left as it is
    )
)
def test_the_shortcut_for_unchanged_ascii_maps_like_the_tracked_steps(text: str) -> None:
    assert normalize_with_offsets(text) == _normalize_tracked(text)


@settings(max_examples=400)
@given(texts)
def test_output_is_clean(text: str) -> None:
    out = normalize(text)
    assert out == out.strip()
    assert "  " not in out
    assert not any(ch in out for ch in "\t\n\r\x00\x7f\u200b\u00ad\ufeff")
    assert out == out.lower() or not out.isascii()
    # NFKC can expand a code point (U+FDFA is 18 characters); nothing else may grow the text.
    assert len(out) <= 18 * len(text)
