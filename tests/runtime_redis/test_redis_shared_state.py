"""RedisCache and RedisLimiter against a real redis-server, including across processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import ConfigError
from engine.runtime.redis import RedisCache, RedisLimiter, redact_url
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]
HELPER = Path(__file__).with_name("_helper.py")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _run(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(HELPER), *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )


def _out(proc: subprocess.Popen[str]) -> object:
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    return json.loads(out)


# --- cache -------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=json_values.filter(lambda v: v is not None), key=st.text(min_size=1, max_size=30))
def test_cache_round_trips_any_json_value(redis_url: str, redis_ns: str, value: object, key: str) -> None:
    cache = RedisCache(redis_url, namespace=redis_ns)
    cache.set(key, value, 60)
    assert cache.get(key) == value
    cache.delete(key)
    assert cache.get(key) is None


def test_cache_entries_expire_after_their_ttl(redis_url: str, redis_ns: str) -> None:
    cache = RedisCache(redis_url, namespace=redis_ns)
    cache.set("contact:a@x.com", {"contactId": 7}, 0.15)
    assert cache.get("contact:a@x.com") == {"contactId": 7}
    time.sleep(0.3)
    assert cache.get("contact:a@x.com") is None


def test_cache_namespaces_do_not_see_each_other(redis_url: str, redis_ns: str) -> None:
    one = RedisCache(redis_url, namespace=redis_ns + "a")
    two = RedisCache(redis_url, namespace=redis_ns + "b")
    one.set("k", 1, 60)
    assert two.get("k") is None
    assert one.clear() == 1
    assert one.get("k") is None


def test_cache_is_shared_across_processes(redis_url: str, redis_ns: str) -> None:
    _out(_run("cache-set", redis_url, redis_ns, "fields", json.dumps([{"name": "FIRSTNAME"}]), "60"))
    assert _out(_run("cache-get", redis_url, redis_ns, "fields")) == [{"name": "FIRSTNAME"}]
    RedisCache(redis_url, namespace=redis_ns).delete("fields")
    assert _out(_run("cache-get", redis_url, redis_ns, "fields")) is None


def test_cache_treats_an_unreachable_redis_as_a_miss() -> None:
    server = RedisServer()
    cache = RedisCache(server.url)  # never started: nothing listens on that port
    assert cache.get("k") is None
    cache.set("k", 1, 10)
    cache.delete("k")
    server.close()


# --- limiter -----------------------------------------------------------------------------


def _assert_within_budget(stamps: list[float], burst: float, rate: float, slack: float) -> None:
    """In every window [t_i, t_j] at most burst + rate * (t_j - t_i + slack) grants."""
    stamps = sorted(stamps)
    for i in range(len(stamps)):
        for j in range(i, len(stamps)):
            granted = j - i + 1
            allowed = burst + rate * (stamps[j] - stamps[i] + slack)
            assert granted <= allowed, (
                f"{granted} grants in {stamps[j] - stamps[i]:.3f}s exceed {allowed:.2f}"
            )


def test_limiter_budget_is_shared_by_processes_sync_and_async(redis_url: str, redis_ns: str) -> None:
    per_minute, seconds = 900.0, 2.5  # 15 requests/s for everyone together
    procs = [_run("limit", redis_url, redis_ns, str(per_minute), str(seconds), mode)
             for mode in ("sync", "sync", "async", "async")]
    per_proc = [_out(p) for p in procs]
    stamps = [t for got in per_proc for t in got]  # type: ignore[attr-defined]
    rate = (per_minute - 1) / 60
    _assert_within_budget(stamps, burst=1, rate=rate, slack=0.03)
    # ...and the budget is actually used, by every process.
    assert len(stamps) >= 0.8 * rate * seconds
    assert all(len(got) > 0 for got in per_proc)  # type: ignore[arg-type]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(per_minute=st.floats(600, 12000), burst=st.integers(1, 5))
def test_limiter_never_grants_more_than_burst_plus_refill(
    redis_url: str, redis_ns: str, per_minute: float, burst: int
) -> None:
    limiter = RedisLimiter(redis_url, f"p{per_minute}-{burst}", per_minute=per_minute, burst=burst,
                           namespace=redis_ns)
    limiter.reset()
    start = time.time()
    granted = 0
    while time.time() - start < 0.3:
        if limiter.try_acquire() == 0:
            granted += 1
    elapsed = time.time() - start
    assert granted <= burst + limiter.rate * elapsed
    assert granted >= burst  # a fresh bucket is full


def test_limiter_tells_how_long_to_wait(redis_url: str, redis_ns: str) -> None:
    limiter = RedisLimiter(redis_url, "wait", per_minute=61, burst=1, namespace=redis_ns)  # 1/s
    assert limiter.try_acquire() == 0
    wait = limiter.try_acquire()
    assert 0.9 < wait <= 1.0
    t0 = time.monotonic()
    limiter.acquire()
    assert time.monotonic() - t0 > 0.85


def test_limiter_accounts_are_independent(redis_url: str, redis_ns: str) -> None:
    one = RedisLimiter(redis_url, "one", per_minute=61, namespace=redis_ns)
    two = RedisLimiter(redis_url, "two", per_minute=61, namespace=redis_ns)
    assert one.try_acquire() == 0
    assert two.try_acquire() == 0
    assert one.try_acquire() > 0


@pytest.mark.parametrize(("per_minute", "burst"), [(0, 1), (-5, 1), (10, 0), (10, 10)])
def test_limiter_rejects_impossible_budgets(per_minute: float, burst: float) -> None:
    with pytest.raises(ConfigError, match="rate limit"):
        RedisLimiter("redis://127.0.0.1:1/0", "a", per_minute=per_minute, burst=burst)


def test_urls_are_checked_and_redacted() -> None:
    assert redact_url("redis://user:s3cret@host:6380/0") == "redis://user:***@host:6380/0"
    assert redact_url("redis://host/0") == "redis://host/0"
    with pytest.raises(ConfigError) as err:
        RedisCache("http://:s3cret@host/0")
    assert "s3cret" not in str(err.value)


def test_server_fixture_is_persistent(redis_server: RedisServer) -> None:
    config = redis_server.client().config_get("append*")
    assert config["appendonly"] == "yes"
    assert config["appendfsync"] == "always"


def test_limiter_pause_holds_every_instance(redis_url: str, redis_ns: str) -> None:
    one = RedisLimiter(redis_url, "paused", per_minute=6000, burst=5, namespace=redis_ns)
    two = RedisLimiter(redis_url, "paused", per_minute=6000, burst=5, namespace=redis_ns)
    one.pause(0.4)
    wait = two.try_acquire()
    assert 0.3 < wait <= 0.4
    t0 = time.monotonic()
    two.acquire()
    assert time.monotonic() - t0 > 0.3
    one.pause(0)  # no-op


def test_limiter_restarts_empty_after_a_pause(redis_url: str, redis_ns: str) -> None:
    limiter = RedisLimiter(redis_url, "slow", per_minute=61, burst=1, namespace=redis_ns)  # 1/s
    limiter.pause(0.2)
    time.sleep(0.25)
    assert limiter.try_acquire() > 0.5  # no burst right after the pause


def test_a_refusal_is_never_reported_as_a_zero_wait(redis_url: str, redis_ns: str) -> None:
    """A bucket a hair below one token must refuse, even when the wait rounds to 0 µs."""
    limiter = RedisLimiter(redis_url, "hair", per_minute=12000, burst=1, namespace=redis_ns)
    limiter.reset()
    client = redis.Redis.from_url(redis_url)
    now_us = int(time.time() * 1_000_000) + 10_000_000  # a future stamp: no refill meanwhile
    client.hset(limiter.key, mapping={"tokens": "0.9999999999", "ts": str(now_us)})
    assert limiter.try_acquire() > 0
