"""Event files: one JSON document (object, array, Segment batch) or JSON Lines.

`ddengine trigger eval` and `ddengine send` accept the same files, so they share this reader:
the whole text is tried as one JSON document first, then line by line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from engine.errors import EngineError


class EventFileError(EngineError, ValueError):
    """An event file cannot be read, or one of its lines is not JSON."""


@dataclass(frozen=True, slots=True)
class Document:
    """One parsed JSON document; `line` is set when it came from a JSON Lines line."""

    origin: str
    line: int | None
    value: Any

    @property
    def label(self) -> str:
        return self.origin if self.line is None else f"{self.origin}:{self.line}"


def read_source(source: str, stdin: IO[str] | None = None) -> tuple[str, str]:
    """`(origin, text)` of a file path, or of standard input for ``-``."""
    if source == "-":
        return "<stdin>", (stdin or sys.stdin).read()
    try:
        return source, Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise EventFileError(f"cannot read {source}: {exc.strerror or exc}") from None


def documents(text: str, origin: str, *, problems: list[str] | None = None) -> Iterator[Document]:
    """The documents of an event file. Blank lines and lines starting with ``//`` are skipped.

    A line that is not JSON raises `EventFileError`; when `problems` is given, it is recorded
    there instead and the remaining lines are still read (so one bad line loses nothing else).
    """
    stripped = text.strip()
    if not stripped:
        return
    try:
        yield Document(origin, None, json.loads(stripped))
        return
    except json.JSONDecodeError:
        pass
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            message = f"{origin}: line {number}, column {exc.colno}: invalid JSON: {exc.msg}"
            if problems is None:
                raise EventFileError(message) from None
            problems.append(message)
            continue
        yield Document(origin, number, value)
