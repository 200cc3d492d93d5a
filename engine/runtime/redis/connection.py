"""Opening Redis clients from a URL, with errors that never leak the password."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio as aredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from engine.errors import ConfigError

_RETRY_ON = [redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError]

_SCHEMES = ("redis", "rediss", "unix")


def redact_url(url: str) -> str:
    """The URL with any password replaced by ***, for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _check(url: str) -> None:
    scheme = urlsplit(url).scheme
    if scheme not in _SCHEMES:
        raise ConfigError(
            f"queue.url: expected a redis://, rediss:// or unix:// URL, got {redact_url(url)!r}"
        )


def _retries(retry_seconds: float) -> int:
    """Attempts of a backoff capped at 0.5 s that together last about `retry_seconds`."""
    return max(0, int(retry_seconds / 0.5))


def connect(url: str, *, retry_seconds: float = 0.0) -> redis.Redis:
    """A synchronous client; replies are decoded to str. With `retry_seconds`, a command waits
    out a Redis restart or failover of about that long instead of failing at once."""
    _check(url)
    retry = Retry(ExponentialBackoff(cap=0.5, base=0.02), _retries(retry_seconds),
                  supported_errors=tuple(_RETRY_ON))
    return redis.Redis.from_url(url, decode_responses=True, health_check_interval=30, retry=retry)


def connect_async(url: str, *, retry_seconds: float = 0.0) -> aredis.Redis:
    """An asyncio client bound to the running event loop (see `connect`)."""
    _check(url)
    retry = AsyncRetry(ExponentialBackoff(cap=0.5, base=0.02), _retries(retry_seconds),
                       supported_errors=tuple(_RETRY_ON))
    return aredis.Redis.from_url(url, decode_responses=True, health_check_interval=30, retry=retry)
