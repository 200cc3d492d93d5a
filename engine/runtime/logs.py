"""Structured logs (one JSON object per line) with secrets masked on the way out.

Masking happens in the handler's formatter, after every field is known, so no code path can
forget it: secret setting values, values that came from the environment, write keys and any
`Authorization` header or password-like key become `***`.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterable, Mapping
from typing import IO, Any

_SECRET_KEYS = {"authorization", "password", "secret", "token", "api_key", "apikey", "write_key", "writekey"}
MASK = "***"


class Masker:
    """Replace known secret values (and values under secret-looking keys) by `***`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is replaced whole.
        self._secrets = sorted({s for s in secrets if isinstance(s, str) and len(s) >= 3}, key=len,
                               reverse=True)

    def add(self, secrets: Iterable[str]) -> None:
        fresh = {s for s in secrets if isinstance(s, str) and len(s) >= 3}
        self._secrets = sorted(set(self._secrets) | fresh, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: (MASK if str(k).lower() in _SECRET_KEYS and v not in (None, "") else self(v))
                    for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self(v) for v in value]
        return value


class JsonFormatter(logging.Formatter):
    """`{"ts": …, "level": …, "logger": …, "msg": …, **fields}` with secrets masked."""

    def __init__(self, masker: Masker) -> None:
        super().__init__()
        self.masker = masker

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        data: dict[str, Any] = {
            "ts": f"{stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            data.update(fields)
        if record.exc_info and record.exc_info[1] is not None:
            data["exception"] = f"{type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        return json.dumps(self.masker(data), default=str, ensure_ascii=False)


_masker = Masker()


def masker() -> Masker:
    """The process-wide masker (secrets are added as configs load)."""
    return _masker


def configure(level: str | int = "INFO", stream: IO[str] | None = None) -> None:
    """Send `engine.*` logs as JSON lines to `stream` (stderr by default)."""
    root = logging.getLogger("engine")
    for handler in list(root.handlers):
        if getattr(handler, "_ddengine", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(_masker))
    handler._ddengine = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False


def event(logger: logging.Logger, level: int, msg: str, **fields: Any) -> None:
    """Log `msg` with structured `fields` (masked by the formatter)."""
    if logger.isEnabledFor(level):
        logger.log(level, msg, extra={"fields": fields})
