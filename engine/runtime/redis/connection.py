"""Opening Redis clients from a URL, with errors that never leak the password."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio as aredis

from engine.errors import ConfigError

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


def connect(url: str) -> redis.Redis:
    """A synchronous client; replies are decoded to str."""
    _check(url)
    return redis.Redis.from_url(url, decode_responses=True, health_check_interval=30)


def connect_async(url: str) -> aredis.Redis:
    """An asyncio client bound to the running event loop; replies are decoded to str."""
    _check(url)
    return aredis.Redis.from_url(url, decode_responses=True, health_check_interval=30)
