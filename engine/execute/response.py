"""A transport-neutral HTTP response and how the engine reads it (success or which error class)."""

from __future__ import annotations

import email.utils
import json
import time
from dataclasses import dataclass, field
from typing import Any

from engine.errors import AuthenticationError, DestinationError, RetryableError
from engine.spec.model import ErrorRule

_MAX_TEXT = 300


@dataclass(slots=True)
class Response:
    """What came back (or `failure` text when nothing did: timeout, refused, dropped)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    text: str = ""
    failure: str = ""

    def as_step(self) -> dict[str, Any]:
        """The ``steps.<name>`` view a later step or the result reads."""
        return {"status": self.status, "body": self.body, "headers": self.headers}


def parse_body(content: bytes, content_type: str) -> tuple[Any, str]:
    """JSON when it parses (whatever the content type says), else None; plus the text."""
    text = content.decode("utf-8", errors="replace") if content else ""
    if not text.strip():
        return None, text
    if "json" in content_type or text.lstrip()[:1] in ("{", "[", '"'):
        try:
            return json.loads(text), text
        except ValueError:
            pass
    return None, text


def retry_after(headers: dict[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or HTTP date) or ``X-RateLimit-Reset``
    (seconds until reset; a value that looks like an epoch timestamp is converted)."""
    now = time.time() if now is None else now
    value = headers.get("retry-after")
    if value:
        try:
            return max(float(value), 0.0)
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value) if value else None
            if parsed is not None:
                return max(parsed.timestamp() - now, 0.0)
    value = headers.get("x-ratelimit-reset")
    if value:
        try:
            seconds = float(value)
        except ValueError:
            return None
        if seconds > 1_000_000_000:  # an epoch timestamp, not a duration
            seconds -= now
        return max(seconds, 0.0)
    return None


def api_message(response: Response, extractor: Any | None) -> str:
    """The API's own message: the destination's `error_message` JMESPath, else the text."""
    if extractor is not None and response.body is not None:
        try:
            found = extractor.evaluate(response.body)
        except Exception:  # a message extractor must never hide the real failure
            found = None
        if found not in (None, "", [], {}):
            return found if isinstance(found, str) else json.dumps(found)
    return response.text.strip()[:_MAX_TEXT]


def find_rule(rules: dict[str, ErrorRule] | Any, status: int) -> ErrorRule | None:
    return rules.get(str(status)) or rules.get(f"{status // 100}xx")


def default_kind(response: Response) -> str:
    """The engine's classification when the spec says nothing about this status."""
    status = response.status
    if response.failure:
        return "retryable"
    if 200 <= status < 300:
        return "ok"
    if status in (401, 403):
        return "authentication"
    if status in (408, 429) or status >= 500:
        return "retryable"
    return "permanent"


def build_error(kind: str, message: str, response: Response, **where: Any) -> DestinationError:
    """The error instance for a classified failure; retryable ones carry `retry_after`."""
    if kind == "retryable":
        return RetryableError(message, retry_after=retry_after(response.headers), **where)
    if kind == "authentication":
        return AuthenticationError(message, **where)
    return DestinationError(message, **where)
