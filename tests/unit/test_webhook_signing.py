"""Webhook signatures and retry timing are pure functions."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from service.domain.webhooks import retry_delay, sign, verify

SECRET = "a-site-secret-of-some-length"


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"id":"e1"}'
    header = sign(SECRET, 1_700_000_000, body)
    expected = hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_verify_accepts_the_right_secret_and_body_only_when_recent() -> None:
    body = b'{"id":"e1"}'
    header = sign(SECRET, 1_000, body)
    assert verify(SECRET, header, body, now=1_010)
    assert not verify("another-secret-entirely", header, body, now=1_010)
    assert not verify(SECRET, header, body + b" ", now=1_010)
    assert not verify(SECRET, header, body, now=1_000 + 301)  # a replay from long ago
    assert not verify(SECRET, "garbage", body, now=1_000)


@pytest.mark.parametrize("attempt", range(1, 15))
def test_retry_delay_grows_exponentially_within_jitter_and_cap(attempt: int) -> None:
    step = min(3600.0, 5.0 * 2 ** (attempt - 1))
    low = retry_delay(attempt, base_s=5.0, cap_s=3600.0, rand=lambda: 0.0)
    high = retry_delay(attempt, base_s=5.0, cap_s=3600.0, rand=lambda: 0.999999)
    assert low == pytest.approx(step / 2)
    assert step / 2 <= high <= step
