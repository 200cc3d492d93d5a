"""Turn a compiled request template and a context into a concrete request (no I/O)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from engine.errors import EngineError, MappingError
from engine.spec.model import RequestSpec

_PLAIN_SEGMENT = re.compile(r"[A-Za-z0-9_.~@-]*\Z")


class Pending(dict[str, Any]):
    """Stands in for an earlier step's response while planning (nothing was sent).

    JMESPath reads fields with ``.get``, so every lookup on a Pending yields a deeper Pending
    that remembers its path; rendering shows it as ``<steps.NAME.body.x>``. It is truthy.
    """

    def __init__(self, path: str) -> None:
        super().__init__({"$pending": path})
        self.path = path

    def get(self, key: Any, default: Any = None) -> Any:
        return Pending(f"{self.path}.{key}")

    def __str__(self) -> str:
        return f"<{self.path}>"


@dataclass(slots=True)
class RenderedRequest:
    method: str
    url: str
    path: str
    query: dict[str, Any]
    headers: dict[str, str]
    json: Any
    has_json: bool
    pending: set[str] = field(default_factory=set)

    def cache_key_material(self) -> list[Any]:
        """The parts that make two requests the same for the step cache (auth headers excluded:
        the settings are part of the key already)."""
        return [self.method, self.url, sorted(self.query.items()), self.json if self.has_json else None]


def scalar_text(value: Any, *, what: str) -> str:
    """How a scalar is written in a URL: integral floats lose ``.0``, booleans are lower case."""
    if isinstance(value, Pending):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float | str):
        return str(value)
    raise MappingError(f"{what} must be a string or number, got {json.dumps(value)[:80]}")


def encode_segment(value: Any, *, index: int) -> str:
    """Percent-encode one path segment; ``@`` stays literal (``a+b@x.com`` → ``a%2Bb@x.com``)."""
    if value is None:
        raise MappingError(f"path segment {index} is null")
    if isinstance(value, str) and _PLAIN_SEGMENT.match(value):
        return value  # nothing to encode: skip quote()'s per-character work
    if isinstance(value, Pending):
        return str(value)
    return quote(scalar_text(value, what=f"path segment {index}"), safe="@")


def render_path(spec: RequestSpec, context: dict[str, Any]) -> str:
    if spec.segments is not None:
        return "/" + "/".join(
            seg if isinstance(seg, str) else encode_segment(seg.evaluate(context), index=i)
            for i, seg in enumerate(spec.segments)
        )
    raw = spec.path.evaluate(context)
    if spec.path_is_list:
        if not isinstance(raw, list):
            raise MappingError("path did not evaluate to a list of segments")
        return "/" + "/".join(encode_segment(seg, index=i) for i, seg in enumerate(raw))
    if isinstance(raw, list):
        return "/" + "/".join(encode_segment(seg, index=i) for i, seg in enumerate(raw))
    if not isinstance(raw, str) or not raw:
        raise MappingError("path must evaluate to a non-empty string")
    return raw if raw.startswith("/") else "/" + raw


def _query(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise MappingError("query must evaluate to an object")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if value is None:
            continue
        if isinstance(value, list):
            out[key] = [scalar_text(v, what=f"query {key}") for v in value if v is not None]
        else:
            out[key] = scalar_text(value, what=f"query {key}")
    return out


def _headers(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise MappingError("headers must evaluate to an object")
    return {k: scalar_text(v, what=f"header {k}") for k, v in raw.items() if v is not None}


def unpend(value: Any, found: set[str]) -> Any:
    """Replace Pending placeholders by their ``<steps...>`` text, noting which steps they name."""
    if isinstance(value, Pending):
        found.add(value.path.split(".")[1] if value.path.count(".") else value.path)
        return str(value)
    if isinstance(value, dict):
        return {k: unpend(v, found) for k, v in value.items()}
    if isinstance(value, list):
        return [unpend(v, found) for v in value]
    return value


def _plan_body(value: Any, context: dict[str, Any], pending: set[str]) -> Any:
    """Render a body while planning; a body that computes with an earlier step's response
    (e.g. passes it to a function) cannot be known before that response exists, so it is
    shown as a placeholder naming the steps it waits for instead of failing the plan."""
    try:
        return value.evaluate(context)
    except EngineError:
        reads = sorted(n for n in (getattr(value, "step_refs", None) or ()) if n != "*")
        pending.update(reads)
        names = ", ".join(f"steps.{n}" for n in reads) or "earlier steps"
        return f"<computed when sent, from the response of {names}>"


def render_request(
    spec: RequestSpec,
    context: dict[str, Any],
    *,
    base_url: str,
    base_headers: dict[str, str],
    planning: bool = False,
) -> RenderedRequest:
    """Evaluate every part of `spec` over `context`; the URL is `base_url` + the encoded path."""
    path = render_path(spec, context)
    query = _query(spec.query.evaluate(context)) if spec.query is not None else {}
    headers = dict(base_headers)
    if spec.headers is not None:
        headers.update(_headers(spec.headers.evaluate(context)))
    pending: set[str] = set()
    if planning and spec.reads_steps and spec.json is not None:
        body = _plan_body(spec.json, context, pending)
    else:
        body = spec.json.evaluate(context) if spec.json is not None else None
    if planning and spec.reads_steps:
        body = unpend(body, pending)
        query = unpend(query, pending)
        if "<steps." in path:
            for part in path.split("/"):
                if part.startswith("<steps."):
                    pending.add(part[1:-1].split(".")[1])
    return RenderedRequest(
        method=spec.method,
        url=base_url + path,
        path=path,
        query=query,
        headers=headers,
        json=body,
        has_json=spec.has_json,
        pending=pending,
    )
