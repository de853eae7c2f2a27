"""The per-key token bucket is pure: exact checks with a hand-driven clock, and properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain.ratelimit import RateLimiter


def test_burst_then_refused_with_retry_after_then_refilled() -> None:
    limiter = RateLimiter()
    verdicts = [limiter.take("k", per_second=2, burst=3, now=100.0) for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert [v.remaining for v in verdicts] == [2, 1, 0, 0]
    refused = verdicts[-1]
    assert refused.limit == 3 and refused.retry_after_s == 1 and refused.reset_s == 2
    assert not limiter.take("k", per_second=2, burst=3, now=100.4).allowed
    assert limiter.take("k", per_second=2, burst=3, now=100.5).allowed  # one token back after 1/rate


def test_keys_do_not_share_buckets() -> None:
    limiter = RateLimiter()
    for _ in range(2):
        limiter.take("a", per_second=1, burst=2, now=0.0)
    assert not limiter.take("a", per_second=1, burst=2, now=0.0).allowed
    assert limiter.take("b", per_second=1, burst=2, now=0.0).allowed


def test_slow_rate_gives_a_long_retry_after() -> None:
    limiter = RateLimiter()
    limiter.take("k", per_second=0.1, burst=1, now=0.0)
    refused = limiter.take("k", per_second=0.1, burst=1, now=0.0)
    assert not refused.allowed and refused.retry_after_s == 10


def test_a_clock_going_backwards_adds_no_tokens() -> None:
    limiter = RateLimiter()
    limiter.take("k", per_second=1, burst=1, now=50.0)
    assert not limiter.take("k", per_second=1, burst=1, now=10.0).allowed


def test_memory_is_bounded_and_pruning_forgets_only_refilled_buckets_first() -> None:
    limiter = RateLimiter(max_buckets=4)
    for i in range(3):
        limiter.take(f"idle{i}", per_second=1, burst=1, now=0.0)
    limiter.take("busy", per_second=0.001, burst=1, now=9.0)
    limiter.take("new", per_second=1, burst=1, now=10.0)  # prunes the three refilled idle buckets
    assert len(limiter) == 2
    assert not limiter.take("busy", per_second=0.001, burst=1, now=10.0).allowed  # kept its empty bucket
    for i in range(100):
        limiter.take(i, per_second=0.001, burst=1, now=11.0)
        assert len(limiter) <= 4


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        RateLimiter().take("k", per_second=0, burst=1, now=0.0)
    with pytest.raises(ValueError):
        RateLimiter().take("k", per_second=1, burst=0, now=0.0)


@given(
    per_second=st.floats(min_value=0.01, max_value=1000),
    burst=st.integers(min_value=1, max_value=500),
    gaps=st.lists(st.floats(min_value=0, max_value=5), min_size=1, max_size=300),
)
def test_never_more_than_burst_plus_rate_times_elapsed(per_second: float, burst: int, gaps: list[float]) -> None:
    """Over any run, allowed requests <= burst + rate * elapsed; and a refusal always says when to retry."""
    limiter = RateLimiter()
    now, allowed = 0.0, 0
    for gap in gaps:
        now += gap
        v = limiter.take("k", per_second=per_second, burst=burst, now=now)
        assert 0 <= v.remaining <= burst and v.limit == burst and v.reset_s >= 0
        if v.allowed:
            allowed += 1
        else:
            assert v.retry_after_s >= 1
            assert v.retry_after_s <= math.ceil(1 / per_second) + 1
    assert allowed <= burst + per_second * now + 1e-6


@given(per_second=st.floats(min_value=0.01, max_value=100), burst=st.integers(min_value=1, max_value=100))
def test_a_full_bucket_allows_exactly_burst_at_once(per_second: float, burst: int) -> None:
    limiter = RateLimiter()
    results = [limiter.take("k", per_second=per_second, burst=burst, now=7.0).allowed for _ in range(burst + 1)]
    assert results == [True] * burst + [False]
