"""Fixtures with a real, private redis-server (see tests/redis_server.py)."""

from tests.redis_server import fresh_redis, redis_ns, redis_server, redis_url

__all__ = ["fresh_redis", "redis_ns", "redis_server", "redis_url"]
