"""Read a JSON spec file so that every failure names the file and, for syntax errors, line and column."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.errors import SpecError


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Refuse duplicate keys: JSON parsers silently keep the last one, hiding author mistakes."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def load_json_file(path: Path) -> Any:
    """Parse `path` as JSON; raise SpecError with line/column on bad syntax."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError("file not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read file: {exc}", file=str(path)) from None
    return parse_json_text(text, file=str(path))


def parse_json_text(text: str, *, file: str | None = None) -> Any:
    """Parse JSON text; syntax errors become SpecError carrying line and column."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise SpecError(f"invalid JSON: {exc.msg}", file=file, line=exc.lineno, column=exc.colno) from None
    except ValueError as exc:
        raise SpecError(f"invalid JSON: {exc}", file=file) from None


def json_path(parts: Any) -> str:
    """Render a sequence of keys/indexes as a JSON path like ``$.steps[1].request``."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and part.replace("_", "a").replace("-", "a").isalnum():
            out += f".{part}"
        else:
            out += f"[{json.dumps(part)}]"
    return out
