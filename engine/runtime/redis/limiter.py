"""One request budget per destination account, shared by every worker process on every host.

A token bucket kept in a Redis hash and updated by a Lua script, so that taking a token is one
atomic step whatever the number of clients. The script reads Redis's own clock (`TIME`), so hosts
with skewed clocks still share one bucket correctly.

Budget arithmetic: a bucket of capacity C refilled at r tokens/s lets through at most C + r*T
requests in any window of T seconds. To guarantee "never more than B requests in any minute",
the refill rate is (B - C) / 60 per second; with the default burst C = 1 that is (B - 1) / 60.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
import weakref

import redis
import redis.asyncio as aredis
from redis.commands.core import AsyncScript

from engine.errors import ConfigError
from engine.runtime.redis.connection import connect, connect_async

# KEYS[1] bucket hash; ARGV: rate (tokens/s), capacity, cost.
# Returns the seconds to wait as a string ("0" when the token was taken). Time is kept in integer
# microseconds (exact in a double) and written with %.0f / %.17g so nothing is rounded away.
_SCRIPT = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'paused')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
local paused = tonumber(state[3]) or 0
if paused > now then
  return string.format('%.6f', (paused - now) / 1000000)
end
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
if now > ts then
  tokens = math.min(capacity, tokens + (now - ts) * rate / 1000000)
  ts = now
end
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
else
  -- Never report a refusal as a wait that prints as zero: callers read "0" as "granted".
  wait = math.max((cost - tokens) / rate, 0.000001)
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'ts', string.format('%.0f', ts))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return string.format('%.6f', wait)
"""

# KEYS[1] bucket hash; ARGV: seconds to hold every caller. Empties the bucket too, so the
# requests after the pause start at the refill rate instead of a burst.
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_us = now + math.floor(tonumber(ARGV[1]) * 1000000)
local paused = tonumber(redis.call('HGET', KEYS[1], 'paused')) or 0
if until_us > paused then
  redis.call('HSET', KEYS[1], 'paused', string.format('%.0f', until_us), 'tokens', '0',
             'ts', string.format('%.0f', until_us))
  local ttl = redis.call('PTTL', KEYS[1])
  local need = math.ceil((until_us - now) / 1000) + 1000
  if ttl < need then redis.call('PEXPIRE', KEYS[1], need) end
end
return 1
"""

_AsyncPair = tuple[aredis.Redis, AsyncScript]
_MAX_SLEEP = 1.0  # re-ask Redis at least this often, so a bucket reset is noticed


class RedisLimiter:
    """Implements the executor's `Limiter` protocol: `acquire()` / `await aacquire()` block
    until a request may go.

    `per_minute` is the account budget B; `burst` is the bucket capacity C (at most B). Every
    process that uses the same Redis, namespace and `account` draws from the same bucket.
    """

    def __init__(
        self,
        url_or_client: str | redis.Redis,
        account: str,
        *,
        per_minute: float,
        burst: float = 1.0,
        namespace: str = "ddengine",
        retry_seconds: float = 30.0,
    ) -> None:
        if per_minute <= 0:
            raise ConfigError(f"rate limit: per_minute must be positive, got {per_minute}")
        if not 1 <= burst < per_minute:
            raise ConfigError(f"rate limit: burst must be at least 1 and below per_minute, got {burst}")
        self.per_minute = float(per_minute)
        self.burst = float(burst)
        self.rate = (self.per_minute - self.burst) / 60.0
        self.key = f"{namespace}:limiter:{account}"
        if isinstance(url_or_client, str):
            self._url: str | None = url_or_client
            self._client = connect(url_or_client, retry_seconds=retry_seconds)
        else:
            self._url = None
            self._client = url_or_client
        self._script = self._client.register_script(_SCRIPT)
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _AsyncPair]
        self._async = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._retry_seconds = retry_seconds

    def _args(self) -> list[float]:
        return [self.rate, self.burst, 1]

    def try_acquire(self) -> float:
        """Take a token if one is there; return 0.0, or the seconds until one will be."""
        return float(self._script(keys=[self.key], args=self._args()))

    def acquire(self) -> None:
        while True:
            wait = self.try_acquire()
            if wait <= 0:
                return
            time.sleep(_sleep_for(wait))

    async def aacquire(self) -> None:
        script = self._async_script()[1]
        while True:
            wait = float(await script(keys=[self.key], args=self._args()))
            if wait <= 0:
                return
            await asyncio.sleep(_sleep_for(wait))

    def _async_script(self) -> _AsyncPair:
        """An asyncio client per event loop (asyncio connections cannot cross loops)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            found = self._async.get(loop)
            if found is None:
                if self._url is not None:
                    client = connect_async(self._url, retry_seconds=self._retry_seconds)
                else:
                    kwargs = self._client.connection_pool.connection_kwargs
                    client = aredis.Redis(**kwargs)
                found = (client, client.register_script(_SCRIPT))
                self._async[loop] = found
            return found

    def pause(self, seconds: float) -> None:
        """Hold every caller of this account, in every process, for `seconds` (a 429 got through)."""
        if seconds > 0:
            self._client.eval(_PAUSE, 1, self.key, seconds)

    def reset(self) -> None:
        """Forget the bucket (it starts full again); for tests and maintenance."""
        self._client.delete(self.key)

    def close(self) -> None:
        self._client.close()

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            found = self._async.pop(loop, None)
        if found is not None:
            await found[0].aclose()


def _sleep_for(wait: float) -> float:
    """Sleep a little past the due time, with jitter so waiting processes do not stampede."""
    return min(_MAX_SLEEP, wait + random.uniform(0, min(0.05, wait)))
