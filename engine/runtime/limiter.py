"""Per-account token bucket handed to the executor as `limiter` (acquired before every request).

The account's budget covers every API call of every action, so the bucket lives with the
account (one per destination settings), not with a subscription. A 429 that still gets through
(the budget is shared with other clients of the account) pauses the bucket for the time the API
named, so the other workers stop sending too.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable


class TokenBucket:
    """Allow `rate` requests per second on average with bursts of up to `burst`."""

    def __init__(self, rate: float, burst: float | None = None, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(1.0, rate))
        if self.burst < 1:
            raise ValueError("burst must be at least 1")
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._updated = clock()
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.waited = 0.0  # total seconds callers spent waiting (for metrics)

    @classmethod
    def per_minute(cls, requests_per_minute: float, burst: float | None = None) -> TokenBucket:
        return cls(requests_per_minute / 60.0, burst)

    def _reserve(self) -> float:
        """Take one token now (possibly going into debt); return how long the caller must wait."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1.0
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
            wait = max(wait, self._paused_until - now)
            self.waited += wait
            return wait

    def acquire(self) -> None:
        """Block until a request may go."""
        wait = self._reserve()
        if wait > 0:
            self._sleep(wait)

    async def aacquire(self) -> None:
        """Wait (without blocking the event loop) until a request may go."""
        wait = self._reserve()
        if wait > 0:
            await asyncio.sleep(wait)

    def pause(self, seconds: float) -> None:
        """Hold every caller for `seconds` (the API said the budget is spent)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + max(seconds, 0.0))
            self._tokens = min(self._tokens, 0.0)


class NoLimit:
    """A limiter that never waits (tests, unlimited budgets)."""

    def acquire(self) -> None:
        return None

    async def aacquire(self) -> None:
        return None

    def pause(self, seconds: float) -> None:
        return None
