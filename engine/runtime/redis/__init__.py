"""Redis-backed shared state so that many workers on many hosts behave as one.

`RedisQueue` is the delivery queue on Redis Streams; `RedisCache` is the executor's step cache
shared by every process; `RedisLimiter` is one token bucket per account held atomically in Redis,
so the account budget holds however many workers run. See docs/operations.md.
"""

from engine.runtime.redis.cache import RedisCache
from engine.runtime.redis.connection import connect, connect_async, redact_url
from engine.runtime.redis.limiter import RedisLimiter
from engine.runtime.redis.queue import RedisQueue

__all__ = ["RedisCache", "RedisLimiter", "RedisQueue", "connect", "connect_async", "redact_url"]
