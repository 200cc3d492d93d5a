"""Backoff with full jitter and the token-bucket limiter (laws as property tests)."""

from __future__ import annotations

import asyncio
import random
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.runtime.backoff import RetryPolicy
from engine.runtime.limiter import TokenBucket


@settings(max_examples=200, deadline=None)
@given(attempt=st.integers(0, 100), base=st.floats(0.01, 10), cap=st.floats(0.1, 1000),
       retry_after=st.none() | st.floats(0, 5000), seed=st.integers(0, 2**32))
def test_delay_bounds(attempt: int, base: float, cap: float, retry_after: float | None, seed: int) -> None:
    policy = RetryPolicy(base=base, cap=cap, max_retry_after=3600)
    delay = policy.delay(attempt, retry_after, random.Random(seed))
    ceiling = min(cap, base * 2 ** attempt)
    floor = min(retry_after or 0.0, 3600)
    assert delay >= floor
    assert delay <= max(ceiling, floor) + 1e-9


def test_jitter_spreads_and_grows() -> None:
    rng = random.Random(7)
    policy = RetryPolicy(base=1, cap=1000)
    early = [policy.delay(1, None, rng) for _ in range(500)]
    late = [policy.delay(6, None, rng) for _ in range(500)]
    assert max(early) <= 2 and min(early) < 0.2  # full jitter reaches near zero
    assert sum(late) / 500 > 4 * sum(early) / 500


def test_exhausted() -> None:
    assert not RetryPolicy(max_attempts=3).exhausted(2)
    assert RetryPolicy(max_attempts=3).exhausted(3)


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@settings(max_examples=50, deadline=None)
@given(rate=st.floats(0.5, 100), burst=st.integers(1, 20), n=st.integers(1, 200))
def test_bucket_never_exceeds_rate_plus_burst(rate: float, burst: int, n: int) -> None:
    """Law: after k acquisitions, elapsed time >= (k - burst) / rate."""
    t = FakeTime()
    bucket = TokenBucket(rate, burst, clock=t.clock, sleep=t.sleep)
    for k in range(1, n + 1):
        bucket.acquire()
        assert t.now + 1e-6 >= (k - burst) / rate


def test_pause_holds_callers() -> None:
    t = FakeTime()
    bucket = TokenBucket(100, 10, clock=t.clock, sleep=t.sleep)
    bucket.pause(3)
    bucket.acquire()
    assert t.now >= 3


def test_async_acquire_paces_in_real_time() -> None:
    bucket = TokenBucket(50, 1)

    async def go() -> float:
        start = time.monotonic()
        await asyncio.gather(*(bucket.aacquire() for _ in range(11)))
        return time.monotonic() - start

    assert asyncio.run(go()) >= 0.18
