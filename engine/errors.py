"""Every error the engine raises, in one place so that embedders can catch by family.

The delivery runtime decides what to do with a failure by its class alone: retry
(`RetryableError`), stop until the settings change (`AuthenticationError`), or dead-letter
(everything else). Errors never carry secrets: messages are built from the API's own text and
the engine's field paths, never from settings values or headers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""

    #: Whether delivering the same event again later may succeed.
    retryable: bool = False


class TriggerSyntaxError(EngineError, ValueError):
    """A trigger expression could not be parsed.

    `line` and `column` are 1-based; `text` is the whole expression. The message shows the
    offending line with a caret under the column and says what was expected there.
    """

    def __init__(self, message: str, *, text: str, line: int, column: int, expected: str = "") -> None:
        self.text = text
        self.line = line
        self.column = column
        self.expected = expected
        self.reason = message
        super().__init__(self._render())

    def _render(self) -> str:
        lines = self.text.splitlines() or [""]
        source = lines[self.line - 1] if 0 < self.line <= len(lines) else ""
        caret = " " * max(self.column - 1, 0) + "^"
        return f"{self.reason} (line {self.line}, column {self.column})\n  {source}\n  {caret}"


class SpecError(EngineError):
    """A spec file (destination, action, fixture or instance config) is invalid.

    `file` is the path of the offending file and `path` the JSON path inside it
    (for example ``$.steps[1].request.path[2]``).
    """

    def __init__(self, message: str, *, file: str | None = None, path: str = "$",
                 line: int | None = None, column: int | None = None) -> None:
        self.file = file
        self.path = path
        self.line = line
        self.column = column
        self.reason = message
        where = file or "<spec>"
        if line is not None:
            where += f":{line}" + (f":{column}" if column is not None else "")
        super().__init__(f"{where}: {path}: {message}")


class ConfigError(SpecError):
    """An instance config is invalid (points at the subscription and field)."""


@dataclass(frozen=True)
class Problem:
    """One violation inside a payload: where (`field`, a dotted/indexed path) and why."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field or '<payload>'}: {self.message}"


class _ActionError(EngineError):
    """Shared shape for failures that happen while running an action."""

    def __init__(self, message: str, *, action: str | None = None, step: str | None = None,
                 status: int | None = None, api_message: str | None = None,
                 requests: list[Any] | None = None) -> None:
        self.action = action
        self.step = step
        self.status = status
        self.api_message = api_message
        #: Requests actually sent before the failure (so callers can count API calls).
        self.requests: list[Any] = list(requests or [])
        self.reason = message
        super().__init__(self._render())

    def _render(self) -> str:
        where = ".".join(p for p in (self.action, self.step) if p)
        text = f"{where}: {self.reason}" if where else self.reason
        if self.status is not None:
            text += f" (HTTP {self.status})"
        if self.api_message and self.api_message not in self.reason:
            text += f": {self.api_message}"
        return text


class MappingError(_ActionError):
    """A mapping expression failed while it was evaluated against an event."""


class PayloadValidationError(_ActionError):
    """The mapped payload breaks the action's field schema; `problems` lists every violation."""

    def __init__(self, message: str, *, problems: list[Problem] | None = None, **kw: Any) -> None:
        self.problems: list[Problem] = list(problems or [])
        if self.problems and message == "":
            message = "; ".join(str(p) for p in self.problems)
        super().__init__(message, **kw)

    @property
    def fields(self) -> list[str]:
        return [p.field for p in self.problems]


class DestinationError(_ActionError):
    """The API refused the request for good (a 4xx other than auth and throttling)."""


class AuthenticationError(DestinationError):
    """The API refused the credentials (401/403); permanent until the settings change."""


class RetryableError(DestinationError):
    """A failure worth retrying: 408, 429, 5xx, timeouts, dropped connections."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        #: Seconds the API asked us to wait (Retry-After or X-RateLimit-Reset), if it said.
        self.retry_after = retry_after
        super().__init__(message, **kw)


@dataclass
class ErrorInfo:
    """A serialisable summary of an engine error (for dead letters, logs and JSON output)."""

    type: str
    message: str
    action: str | None = None
    step: str | None = None
    status: int | None = None
    retry_after: float | None = None
    problems: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def from_exception(cls, exc: BaseException) -> ErrorInfo:
        problems = [{"field": p.field, "message": p.message} for p in getattr(exc, "problems", [])]
        return cls(
            type=type(exc).__name__,
            message=str(exc),
            action=getattr(exc, "action", None),
            step=getattr(exc, "step", None),
            status=getattr(exc, "status", None),
            retry_after=getattr(exc, "retry_after", None),
            problems=problems,
        )


__all__ = [
    "AuthenticationError",
    "ConfigError",
    "DestinationError",
    "EngineError",
    "ErrorInfo",
    "MappingError",
    "PayloadValidationError",
    "Problem",
    "RetryableError",
    "SpecError",
    "TriggerSyntaxError",
]
