"""Redis-backed shared state so that many workers on many hosts behave as one.

`RedisCache` is the executor's step cache shared by every process; `RedisLimiter` is one token
bucket per account held atomically in Redis, so the account budget holds however many workers run.
"""

from engine.runtime.redis.cache import RedisCache
from engine.runtime.redis.connection import connect, connect_async, redact_url
from engine.runtime.redis.limiter import RedisLimiter

__all__ = ["RedisCache", "RedisLimiter", "connect", "connect_async", "redact_url"]
