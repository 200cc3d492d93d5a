"""Build the shared (Redis) parts of a runtime from an instance config whose queue is Redis.

With `"queue": {"backend": "redis", "url": ...}` every process of the instance, on any host,
shares three things through that Redis: the queue, the account's rate budget and the step cache.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from engine.errors import ConfigError
from engine.runtime.config import InstanceConfig
from engine.runtime.redis.cache import RedisCache
from engine.runtime.redis.limiter import RedisLimiter


def is_redis(config: InstanceConfig) -> bool:
    return config.queue.backend == "redis"


def _url(config: InstanceConfig) -> str:
    if not config.queue.url:
        raise ConfigError('queue.url is required when queue.backend is "redis" '
                          '(e.g. "redis://127.0.0.1:6379/0")', file=config.file, path="$.queue.url")
    return config.queue.url


def account_key(config: InstanceConfig, settings_schema: Mapping[str, Any] | None = None) -> str:
    """Which API account the config delivers to, as an opaque key.

    Two configs (or two hosts) that talk to the same account with the same user share one
    budget. Built from the endpoint and every non-secret setting, hashed so that neither user
    names nor anything else readable ends up in Redis key names.
    """
    props = (settings_schema or {}).get("properties", {})
    secret = {k for k, p in props.items() if isinstance(p, Mapping) and p.get("writeOnly")}
    public = {k: v for k, v in config.settings.items() if k not in secret and "password" not in k.lower()}
    text = json.dumps([config.destination, config.endpoint, public], sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def shared_limiter(config: InstanceConfig, per_minute: float,
                   settings_schema: Mapping[str, Any] | None = None) -> RedisLimiter:
    """The account's one budget, shared by every worker of every host (see RedisLimiter)."""
    if per_minute <= 1:
        raise ConfigError("rate_limit.requests_per_minute must be above 1 with the redis backend",
                          file=config.file, path="$.rate_limit.requests_per_minute")
    burst = config.burst if config.burst is not None else max(1.0, min(per_minute / 60.0, per_minute / 2))
    if burst >= per_minute:
        raise ConfigError(f"rate_limit.burst must be below requests_per_minute ({per_minute:g})",
                          file=config.file, path="$.rate_limit.burst")
    return RedisLimiter(_url(config), account_key(config, settings_schema), per_minute=per_minute,
                        burst=burst)


def shared_cache(config: InstanceConfig) -> RedisCache:
    """The step cache (contact ids, data fields) every worker reads, so more workers cost no
    more lookups."""
    return RedisCache(_url(config))
