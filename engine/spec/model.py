"""The loaded, compiled form of a destination's spec files (pure data, no I/O).

Every value and expression is compiled once by the loader; the executor only evaluates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


class Compiled(Protocol):
    """What the executor needs from the value language's CompiledValue."""

    def evaluate(self, context: dict[str, Any]) -> Any: ...


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """A request template: each part is one compiled value evaluated per run."""

    method: str
    path: Compiled
    path_is_list: bool
    query: Compiled | None
    headers: Compiled | None
    json: Compiled | None
    has_json: bool
    file: str
    where: str
    #: For a list path: each segment as an already percent-encoded constant string or a
    #: compiled value.
    segments: tuple[Any, ...] | None = None
    #: Whether any part reads `steps` (planning then shows placeholders for earlier responses).
    reads_steps: bool = False


@dataclass(frozen=True, slots=True)
class ErrorRule:
    """How one status (or status class like ``4xx``) of a step is read."""

    kind: str
    message: Compiled | None


@dataclass(frozen=True, slots=True)
class StepSpec:
    name: str
    request: RequestSpec
    when: Compiled | None = None
    when_text: str | None = None
    cache_ttl: float | None = None
    errors: Mapping[str, ErrorRule] = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True, slots=True)
class Assertion:
    expr: Compiled
    text: str
    message: str
    field: str


@dataclass(frozen=True, slots=True)
class Action:
    """One action of a destination, as loaded from ``actions/<key>.json``.

    `fields` is the payload's JSON Schema as written (defaults included, as the spec shows them).
    """

    key: str
    title: str
    description: str
    default_trigger: str
    fields: dict[str, Any]
    defaults: Mapping[str, Any]
    vars: tuple[tuple[str, Compiled], ...]
    validate: tuple[Assertion, ...]
    steps: tuple[StepSpec, ...]
    result: Compiled | None
    file: str
    hidden: bool = False

    @property
    def field_titles(self) -> dict[str, str]:
        """Field name → human title (falls back to the name)."""
        props = self.fields.get("properties", {})
        return {name: str(spec.get("title", name)) for name, spec in props.items()}


@dataclass(frozen=True, slots=True)
class AuthSpec:
    scheme: str
    parts: Mapping[str, Compiled]
    header_name: str = ""


@dataclass(frozen=True, slots=True)
class DynamicSpec:
    name: str
    request: RequestSpec
    choices: Compiled
    style: str | None = None
    limit_param: str = ""
    offset_param: str = ""
    page_size: int = 0
    items: Compiled | None = None
    next: Compiled | None = None
    max_pages: int = 100


@dataclass(frozen=True, slots=True)
class TestAuthSpec:
    request: RequestSpec
    errors: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class DestinationSpec:
    """Everything `destination.json` and the action files say, compiled."""

    name: str
    slug: str
    description: str
    settings_schema: dict[str, Any]
    secret_keys: frozenset[str]
    base_url: Compiled
    auth: AuthSpec | None
    headers: Compiled | None
    timeout: float
    error_message: Compiled | None
    test_authentication: TestAuthSpec | None
    max_subscriptions: int | None
    rate_limit: Mapping[str, float] | None
    dynamic: Mapping[str, DynamicSpec]
    actions: Mapping[str, Action]
    folder: Path
