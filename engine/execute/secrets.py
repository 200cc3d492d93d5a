"""Replace secret setting values with ``***`` anywhere in a JSON-like object or string."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"
#: Secrets shorter than this are masked only where a whole string equals them: replacing every
#: occurrence of a one-letter "secret" would garble unrelated text and still reveal nothing useful.
MIN_SUBSTRING_SECRET = 4


def secret_values(settings: Mapping[str, Any], secret_keys: Iterable[str]) -> tuple[str, ...]:
    """The secret strings of `settings`, longest first (so overlapping secrets mask fully)."""
    found = {str(settings[k]) for k in secret_keys if k in settings and settings[k] not in (None, "")}
    return tuple(sorted(found, key=len, reverse=True))


def mask(obj: Any, secrets: tuple[str, ...]) -> Any:
    """A copy of `obj` where every occurrence of a secret (also inside longer strings) is ``***``."""
    if not secrets:
        return obj
    if not isinstance(obj, str):
        # Serialising is C-fast: when no secret appears anywhere, skip the Python-level walk.
        try:
            text = json.dumps(obj, default=str, ensure_ascii=False)
        except (TypeError, ValueError):
            text = None
        # A secret with quotes, backslashes or control characters appears escaped in JSON.
        if text is not None and not any(
            secret in text or json.dumps(secret, ensure_ascii=False)[1:-1] in text for secret in secrets
        ):
            return obj
    return _mask(obj, secrets)


def _mask(obj: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(obj, str):
        for secret in secrets:
            if obj == secret:
                return MASK
            if len(secret) >= MIN_SUBSTRING_SECRET and secret in obj:
                obj = obj.replace(secret, MASK)
        return obj
    if isinstance(obj, Mapping):
        return {_mask(k, secrets): _mask(v, secrets) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_mask(v, secrets) for v in obj]
    return obj
