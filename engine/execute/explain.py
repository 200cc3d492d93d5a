"""Render an explain trace as lines for authors (the CLI's ``--explain``)."""

from __future__ import annotations

import json
from typing import Any


def _short(value: Any, limit: int = 100) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_trace(trace: list[dict[str, Any]]) -> list[str]:
    """One line per trace entry: fields with their source expression, vars, asserts, steps, result."""
    lines = []
    for entry in trace:
        kind = entry.get("kind")
        if kind == "field":
            expr = entry.get("expression")
            source = f" <- {entry['source']} {_short(expr, 70)}" if expr is not None else ""
            lines.append(f"field {entry['field']} = {_short(entry['value'])}{source}")
        elif kind == "var":
            lines.append(f"var {entry['name']} = {_short(entry['value'])}")
        elif kind == "validate":
            lines.append(f"assert {entry['assert']}: {'ok' if entry['ok'] else 'FAILED'}")
        elif kind == "step" and "skipped" in entry:
            lines.append(f"step {entry['step']}: skipped ({entry['skipped']})")
        elif kind == "step":
            req = entry.get("request", {})
            line = f"step {entry['step']}: {req.get('method')} {req.get('url')}"
            if req.get("query"):
                line += f" query={_short(req['query'], 60)}"
            if "json" in req:
                line += f" json={_short(req['json'], 80)}"
            if entry.get("cache"):
                line += f" [cache {entry['cache']}]"
            resp = entry.get("response", {})
            if "status" in resp:
                line += f" -> {resp['status']}"
            if "failure" in resp:
                line += f" -> {resp['failure']}"
            if entry.get("classified"):
                line += f" ({entry['classified']})"
            lines.append(line)
        elif kind == "retry":
            lines.append(f"retry: {entry['why']}")
        elif kind == "result":
            lines.append(f"result = {_short(entry['value'])}")
        else:
            lines.append(_short(entry, 200))
    return lines
