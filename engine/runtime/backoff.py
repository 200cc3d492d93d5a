"""Retry delays: exponential backoff with full jitter, never shorter than the API asked for.

Full jitter (a uniform draw between 0 and the exponential cap) spreads retries of many workers
so they do not hit a recovering API in lock-step; when the API names a wait (`Retry-After`,
`X-RateLimit-Reset`), that wait is a floor, because retrying earlier only earns another 429.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a delivery is retried."""

    max_attempts: int = 8
    base: float = 0.5
    cap: float = 300.0
    #: Upper bound for a server-requested wait, against absurd headers.
    max_retry_after: float = 3600.0

    def ceiling(self, attempt: int) -> float:
        """The jitter ceiling for the given 0-based attempt number: min(cap, base·2^attempt)."""
        return min(self.cap, self.base * (2.0 ** min(max(attempt, 0), 62)))

    def delay(self, attempt: int, retry_after: float | None = None,
              rng: random.Random | None = None) -> float:
        """Seconds to wait before the next attempt after `attempt` failed attempts (0-based)."""
        draw = (rng or random).uniform(0.0, self.ceiling(attempt))
        if retry_after is not None and retry_after > 0:
            return max(draw, min(float(retry_after), self.max_retry_after))
        return draw

    def exhausted(self, attempts_made: int) -> bool:
        """True when `attempts_made` attempts leave no retry."""
        return attempts_made >= self.max_attempts
