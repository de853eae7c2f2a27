"""Webhook signing and retry timing: pure functions, shared by the deliverer and by receivers' tests."""

from __future__ import annotations

import hashlib
import hmac
import random
from collections.abc import Callable

from service.domain.types import Status

SIGNATURE_HEADER = "X-Moderation-Signature"
EVENT_ID_HEADER = "X-Moderation-Event-Id"
EVENT_TYPE_HEADER = "X-Moderation-Event"

REPORTED = "comment.reported"


def status_event(status: Status) -> str:
    """The event type announcing that a comment now has ``status``."""
    return f"comment.{status.value}"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value: HMAC-SHA256 over ``"{timestamp}.{body}"`` with the site's secret.

    Signing the timestamp with the body lets receivers refuse replays of old deliveries.
    """
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, *, now: int, tolerance_s: int = 300) -> bool:
    """Check a signature header as a receiver should: right secret, right body, recent timestamp."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body)
    return hmac.compare_digest(expected, header.split(",v1=")[0] + ",v1=" + fields.get("v1", ""))


def retry_delay(attempt: int, *, base_s: float, cap_s: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based): exponential, capped, jittered.

    "Equal jitter": half the exponential step is fixed, half random, so retries from many events
    that failed together spread out but never come back immediately.
    """
    step = min(cap_s, base_s * (2 ** (attempt - 1)))
    return step / 2 + rand() * step / 2
