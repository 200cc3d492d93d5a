"""The executor's step cache (contact ids, data-field definitions) kept in Redis.

Every worker on every host reads the same entries, so adding workers does not multiply the API
calls the cache exists to save. Values are stored as JSON under a namespace prefix with a TTL.
"""

from __future__ import annotations

import json
import math
from typing import Any

import redis

from engine.runtime.redis.connection import connect


class RedisCache:
    """Implements the executor's `Cache` protocol: get / set(ttl seconds) / delete.

    A Redis failure on `get` counts as a miss and on `set`/`delete` is ignored (the cache only
    saves calls; it must never fail a delivery), except that `delete` after a 404 is retried
    once because a stale id would otherwise survive until its TTL.
    """

    def __init__(self, client: redis.Redis | str, *, namespace: str = "ddengine") -> None:
        self._client = connect(client) if isinstance(client, str) else client
        self._prefix = f"{namespace}:cache:"

    def key(self, key: str) -> str:
        """The Redis key that holds `key` (namespaced so several instances can share a Redis)."""
        return self._prefix + key

    def get(self, key: str) -> Any | None:
        try:
            raw = self._client.get(self.key(key))
        except redis.RedisError:
            return None
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def set(self, key: str, value: Any, ttl: float) -> None:
        if ttl <= 0:
            self.delete(key)
            return
        data = json.dumps(value, separators=(",", ":"), sort_keys=True)
        try:
            self._client.set(self.key(key), data, px=max(1, math.ceil(ttl * 1000)))
        except redis.RedisError:
            return

    def delete(self, key: str) -> None:
        for _ in range(2):
            try:
                self._client.delete(self.key(key))
                return
            except redis.RedisError:
                continue

    def clear(self) -> int:
        """Remove every entry of this namespace (for `ddengine` maintenance and tests)."""
        removed = 0
        for name in self._client.scan_iter(match=self._prefix + "*", count=500):
            removed += int(self._client.delete(name))
        return removed
