"""Decision-policy properties over arbitrary thresholds, overrides and modes (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain.policy import LABEL_WORDS, NEVER, PolicyInput, decide, merge_thresholds
from service.domain.rules import _LINK_HINT_RE, _LINK_RE
from service.domain.types import ArticleMode, LabelThresholds, Status

LABELS = sorted(LABEL_WORDS)
SEVERITY = {Status.APPROVED: 0, Status.PENDING: 1, Status.REJECTED: 2}

unit = st.floats(0, 1)
pairs = st.tuples(unit, unit).map(sorted).map(lambda p: LabelThresholds(review=p[0], reject=p[1]))
thresholds = st.dictionaries(st.sampled_from(LABELS), pairs)
scores = st.dictionaries(st.sampled_from(LABELS), unit, min_size=1)
modes = st.sampled_from([ArticleMode.POSTMOD, ArticleMode.PREMOD])
overrides = st.dictionaries(
    st.sampled_from(LABELS),
    st.tuples(unit, unit).map(sorted).map(lambda p: {"review": p[0], "reject": p[1]}),
)


@given(scores, thresholds, modes)
def test_status_follows_the_worst_label_exactly(s: dict[str, float], t: dict, mode: ArticleMode) -> None:
    d = decide(PolicyInput(s, t, mode))
    # A threshold of 1.0 means "never" (policy.NEVER): the model found no usable cut-off.
    rejected = any(label in t and v >= t[label].reject < NEVER for label, v in s.items())
    held = any(label in t and v >= t[label].review < NEVER for label, v in s.items())
    if rejected:
        assert d.status is Status.REJECTED
    elif held or mode is ArticleMode.PREMOD:
        assert d.status is Status.PENDING
    else:
        assert d.status is Status.APPROVED
    assert d.reasons, "every decision explains itself"
    for reason in d.reasons:
        if reason.label is not None:
            assert reason.score is not None and reason.threshold is not None
            assert reason.score >= reason.threshold


@given(scores, thresholds, modes, st.sampled_from(LABELS), unit)
def test_raising_one_score_is_never_more_lenient(
    s: dict[str, float], t: dict, mode: ArticleMode, label: str, bump: float
) -> None:
    before = decide(PolicyInput(s, t, mode))
    raised = {**s, label: max(s.get(label, 0.0), bump)}
    after = decide(PolicyInput(raised, t, mode))
    assert SEVERITY[after.status] >= SEVERITY[before.status]


@given(scores, thresholds)
def test_premoderation_never_approves_and_is_at_least_as_strict_as_postmod(s: dict[str, float], t: dict) -> None:
    pre = decide(PolicyInput(s, t, ArticleMode.PREMOD))
    post = decide(PolicyInput(s, t, ArticleMode.POSTMOD))
    assert pre.status is not Status.APPROVED
    assert SEVERITY[pre.status] >= SEVERITY[post.status]


@given(scores, thresholds)
def test_closed_articles_are_refused_before_deciding(s: dict[str, float], t: dict) -> None:
    with pytest.raises(ValueError):
        decide(PolicyInput(s, t, ArticleMode.CLOSED))


@given(thresholds, overrides)
def test_overrides_win_label_by_label_and_keep_the_rest(t: dict, o: dict) -> None:
    merged = merge_thresholds(t, o)
    assert set(merged) == set(t) | set(o)
    for label, pair in merged.items():
        assert 0.0 <= pair.review <= pair.reject <= 1.0
        if label in o:
            assert (pair.review, pair.reject) == (o[label]["review"], o[label]["reject"])
        else:
            assert pair == t[label]


# Text made of what links are made of, so that links (and near misses) are frequent.
_LINK_PIECES = ["ab", "x9", "COM", "org", "io", "q", ".", ".", " ", "www", "http", "://", "@", "-", "_", "/", ",", "\n"]
_LINKISH = st.lists(st.sampled_from(_LINK_PIECES), max_size=14).map("".join) | st.text(max_size=80)


@given(_LINKISH)
def test_every_link_text_passes_the_cheap_link_hint(text: str) -> None:
    # extract_link_hosts skips texts without the hint: it must never skip a text with a link.
    if _LINK_RE.search(text) is not None:
        assert _LINK_HINT_RE.search(text) is not None
