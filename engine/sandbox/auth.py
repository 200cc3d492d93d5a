"""HTTP Basic authentication of API users; each user owns one sandbox account."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping


class Authenticator:
    """Maps an `Authorization` header to a user name, caching decoded headers (bounded)."""

    _CACHE_LIMIT = 1024

    def __init__(self, users: Mapping[str, str]) -> None:
        self._users = dict(users)
        self._cache: dict[bytes, str] = {}

    def user_for(self, header: bytes | None) -> str | None:
        """The authenticated user name, or None for a missing/malformed/wrong credential."""
        if not header:
            return None
        cached = self._cache.get(header)
        if cached is not None:
            return cached
        scheme, _, token = header.partition(b" ")
        if scheme.lower() != b"basic":
            return None
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        name, sep, password = decoded.partition(":")
        expected = self._users.get(name)
        if not sep or expected is None or not hmac.compare_digest(expected.encode(), password.encode()):
            return None
        if len(self._cache) < self._CACHE_LIMIT:
            self._cache[header] = name
        return name
