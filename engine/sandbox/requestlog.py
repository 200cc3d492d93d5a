"""A bounded log of every API request the sandbox received (for call counting in tests)."""

from __future__ import annotations

from collections import deque
from typing import Any

DEFAULT_SIZE = 100_000


class RequestLog:
    """Last `size` requests as dicts: method, path (as sent), query, json, status, time, user.

    Appends happen under the sandbox lock; `entries()` copies under the same lock.
    """

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self.total = 0

    def add(self, entry: dict[str, Any]) -> None:
        self._entries.append(entry)
        self.total += 1

    def entries(self) -> list[dict[str, Any]]:
        return list(self._entries)

    def clear(self) -> None:
        self._entries.clear()
        self.total = 0
