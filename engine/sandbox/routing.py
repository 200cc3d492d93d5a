"""Route table for the API: templates over percent-decoded path segments.

The real API tolerates a trailing slash (Segment calls `/v2/data-fields/`) and values such as
emails and phone numbers travel as path segments, so matching works on the raw path split at
'/', each segment percent-decoded on its own (a literal '+' stays '+'; '%2F' stays inside its
segment). Literal segments match case-insensitively, as .NET routing does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from engine.sandbox.errors import Family


@dataclass
class Reply:
    """A handler's success answer: status, JSON body (None = empty body), extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Call:
    """What a handler sees: the account, path params, query, parsed JSON body and context."""

    account: Any
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    base_url: str
    now: float
    options: Any = None


Handler = Callable[[Call], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    family: Family
    tier: str
    segments: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """`METHOD /template`, the name faults and docs use for an endpoint."""
        return f"{self.method} {self.template}"


class MethodNotAllowed(Exception):
    """The path exists but not with this method."""


def split_path(raw_path: str) -> list[str]:
    """Raw path -> decoded segments; empty segments (trailing/double slashes) are dropped."""
    return [unquote(seg, errors="replace") for seg in raw_path.split("/") if seg]


def family_of(segments: list[str]) -> Family:
    """Which error family answers for this path (decides 401/404/429 body shapes)."""
    head = segments[0].lower() if segments else ""
    if head == "contacts":
        return "v3"
    if head == "cpaas":
        return "cpaas"
    return "v2"


class Router:
    def __init__(self) -> None:
        self._routes: dict[int, list[Route]] = {}

    def add(self, method: str, template: str, handler: Handler, family: Family, tier: str) -> None:
        segments = tuple(s for s in template.split("/") if s)
        route = Route(method, template, handler, family, tier, segments)
        self._routes.setdefault(len(segments), []).append(route)

    def routes(self) -> list[Route]:
        return [r for group in self._routes.values() for r in group]

    def match(self, method: str, segments: list[str]) -> tuple[Route, dict[str, str]] | None:
        """The route and its params; None if no template fits; MethodNotAllowed if only the method differs."""
        path_matched = False
        lowered = [s.lower() for s in segments]
        for route in self._routes.get(len(segments), ()):
            params: dict[str, str] = {}
            for tmpl, seg, low in zip(route.segments, segments, lowered, strict=True):
                if tmpl[0] == "{":
                    params[tmpl[1:-1]] = seg
                elif tmpl != low:
                    break
            else:
                if route.method == method:
                    return route, params
                path_matched = True
        if path_matched:
            raise MethodNotAllowed(method)
        return None
