"""The step-response cache: a small protocol so the runtime can pass a shared (e.g. Redis) cache."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Cache(Protocol):
    """What the executor needs from a cache. Values are JSON-able dicts; keys are opaque strings."""

    def get(self, key: str) -> Any | None: ...

    def set(self, key: str, value: Any, ttl: float) -> None: ...

    def delete(self, key: str) -> None: ...


class MemoryCache:
    """An in-process TTL cache, bounded (least recently used entries go first), thread-safe."""

    def __init__(self, max_entries: int = 10_000, *, clock: Any = time.monotonic) -> None:
        self._data: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return None
            expires, value = entry
            if expires <= self._clock():
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return value

    def set(self, key: str, value: Any, ttl: float) -> None:
        with self._lock:
            self._data[key] = (self._clock() + ttl, value)
            self._data.move_to_end(key)
            while len(self._data) > self._max:
                self._data.popitem(last=False)

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def __len__(self) -> int:
        return len(self._data)
