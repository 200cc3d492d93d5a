"""What running or planning an action returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class SentRequest:
    """One HTTP request that went out (secrets masked), with the status it got."""

    method: str
    url: str
    json: Any
    status: int | None
    step: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class PlannedRequest:
    """A request as it would be sent; values that need an earlier response are shown as
    ``<steps.NAME...>`` and listed in `depends_on`."""

    step: str
    method: str
    url: str
    query: dict[str, Any]
    json: Any
    condition: str = "always"
    depends_on: tuple[str, ...] = ()
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["depends_on"] = list(self.depends_on)
        return out


@dataclass(slots=True)
class ActionResult:
    """The outcome of one action run: mapped payload, requests sent, declared result, explain trace."""

    action: str
    payload: dict[str, Any]
    requests: list[SentRequest] = field(default_factory=list)
    result: Any = None
    trace: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "payload": self.payload,
            "requests": [r.to_dict() for r in self.requests],
            "result": self.result,
            "trace": self.trace,
        }
