"""Per-key rate limiting: a token bucket per API key. Pure: the caller passes the clock.

A bucket holds up to ``burst`` tokens and gains ``per_second`` tokens a second; each request
takes one. The state lives in the process, so with N instances behind a load balancer a key
may make up to N times its limit (see docs/hardening.md).
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    """The outcome of one request against its key's bucket, and what the headers say."""

    allowed: bool
    limit: int  # the burst: requests a full bucket allows at once
    remaining: int  # whole tokens left after this request
    reset_s: int  # seconds until the bucket is full again
    retry_after_s: int  # when refused: seconds until one token is back (at least 1)
    per_second: float


@dataclass
class _Bucket:
    tokens: float
    updated: float
    per_second: float
    burst: int

    def full_at(self, now: float) -> bool:
        return self.tokens + (now - self.updated) * self.per_second >= self.burst


class RateLimiter:
    """Token buckets keyed by API key id; ``max_buckets`` bounds memory (full buckets are dropped)."""

    def __init__(self, max_buckets: int = 100_000) -> None:
        self._buckets: dict[Hashable, _Bucket] = {}
        self._max_buckets = max_buckets

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: Hashable, *, per_second: float, burst: int, now: float) -> Verdict:
        """Spend one token of ``key``'s bucket if there is one."""
        if per_second <= 0 or burst < 1:
            raise ValueError("per_second must be > 0 and burst >= 1")
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_buckets:
                self._prune(now)
            bucket = self._buckets[key] = _Bucket(float(burst), now, per_second, burst)
        bucket.per_second, bucket.burst = per_second, burst
        # A clock that went backwards (it should not: callers pass a monotonic clock) adds nothing.
        elapsed = max(0.0, now - bucket.updated)
        bucket.tokens = min(float(burst), bucket.tokens + elapsed * per_second)
        bucket.updated = max(bucket.updated, now)
        allowed = bucket.tokens >= 1.0
        if allowed:
            bucket.tokens -= 1.0
        missing_for_one = max(0.0, 1.0 - bucket.tokens)
        return Verdict(
            allowed=allowed,
            limit=burst,
            remaining=int(bucket.tokens),
            reset_s=math.ceil((burst - bucket.tokens) / per_second),
            retry_after_s=max(1, math.ceil(missing_for_one / per_second)),
            per_second=per_second,
        )

    def _prune(self, now: float) -> None:
        """Forget buckets that have refilled (forgetting them changes nothing); else the oldest half."""
        for k in [k for k, b in self._buckets.items() if b.full_at(now)]:
            del self._buckets[k]
        if len(self._buckets) >= self._max_buckets:
            oldest = sorted(self._buckets, key=lambda k: self._buckets[k].updated)
            for k in oldest[: len(oldest) // 2]:
                del self._buckets[k]
