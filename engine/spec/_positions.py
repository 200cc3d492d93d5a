"""Where each value of a JSON document starts, so that errors can say `file:line:column`.

The loaders report problems by JSON path (``$.steps[0].request.path[3]``); `PositionIndex`
turns such a path back into the line and column of the value (or of its key) in the original
text. It is built with a small scanner over the text, only when an error is being reported, so
loading a good file costs nothing extra. Lines and columns are 1-based and counted in code points,
the same way `json.JSONDecodeError` counts them, so syntax errors and these agree.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import NamedTuple

from engine.errors import SpecError

Part = str | int
Parts = tuple[Part, ...]

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
#: What `json.loads` accepts besides numbers and strings (it allows NaN and the infinities too).
_LITERALS = ("true", "false", "null", "NaN", "Infinity", "-Infinity")
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
#: A whole JSON string literal, as strictly as `json.loads` reads it (no raw control characters).
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*+"')


def _string_end(text: str, i: int) -> int:
    """Offset just past the string literal starting at `i`; ValueError if there is none."""
    match = _STRING.match(text, i)
    if match is None:
        raise ValueError(f"expected a string at offset {i}")
    return match.end()


@dataclass(frozen=True)
class Position:
    """A place in the text: 1-based line and column, and the 0-based character offset."""

    line: int
    column: int
    offset: int


class _Node(NamedTuple):
    start: int  # offset of the value's first character
    end: int  # offset just past the value
    key: int | None  # offset of the opening quote of its key, for object members
    is_string: bool


class Duplicate(NamedTuple):
    """A key written twice in one object: the second occurrence, and where its object ends."""

    parts: Parts
    key: str
    key_offset: int
    object_end: int


def parse_path(path: str) -> Parts | None:
    """`$.a.b[2]["odd key"]` → ``("a", "b", 2, "odd key")``; None when it is not such a path.

    Accepts both spellings the engine writes: bare names after a dot (up to the next ``.`` or
    ``[``) and JSON-quoted names in brackets; bracketed integers are array indexes.
    """
    if not path.startswith("$"):
        return None
    parts: list[Part] = []
    i, n = 1, len(path)
    while i < n:
        if path[i] == ".":
            j = i + 1
            while j < n and path[j] not in ".[":
                j += 1
            if j == i + 1:
                return None
            parts.append(path[i + 1 : j])
            i = j
        elif path[i] == "[":
            if path.startswith('["', i):
                match = _STRING.match(path, i + 1)
                if match is None or not path.startswith("]", match.end()):
                    return None
                parts.append(json.loads(match.group()))
                i = match.end() + 1
            else:
                j = path.find("]", i)
                digits = path[i + 1 : j] if j > 0 else ""
                if not digits.isdigit():
                    return None
                parts.append(int(digits))
                i = j + 1
        else:
            return None
    return tuple(parts)


class PositionIndex:
    """Every value of one JSON text by its path; raises ValueError if the text is not JSON."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._nodes: dict[Parts, _Node] = {}
        self.duplicates: list[Duplicate] = []
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        end = self._value(self._skip(0), (), None)
        if self._skip(end) != len(text):
            raise ValueError(f"extra data at offset {self._skip(end)}")
        self.duplicates.sort(key=lambda d: (d.object_end, d.key_offset))

    # -- queries ------------------------------------------------------------------------------
    def position(self, offset: int) -> Position:
        """Line and column of a character offset."""
        line = bisect_right(self._line_starts, offset)
        return Position(line, offset - self._line_starts[line - 1] + 1, offset)

    def offset(self, parts: Parts, *, key: bool = False) -> int | None:
        """Offset where the value at `parts` starts (its key's opening quote if `key`); exact only."""
        node = self._nodes.get(tuple(parts))
        if node is None:
            return None
        return node.key if key else node.start

    def locate(self, path: str, *, key: bool = False, inner: int | None = None) -> Position | None:
        """Where the value at JSON path `path` starts, or the nearest enclosing value that exists.

        `key`: point at the member's key instead of its value (for "unknown key" errors).
        `inner`: a 0-based character index inside a string value (as the engine saw the decoded
        string); the position then points at that character in the text, escapes accounted for.
        Paths the document does not hold (a synthetic ``["@jmespath"]`` under a plain string, a
        missing member) fall back to the deepest existing ancestor. None if `path` is not a path.
        """
        parts = parse_path(path)
        if parts is None:
            return None
        exact = True
        while parts not in self._nodes:
            parts, exact = parts[:-1], False
        node = self._nodes[parts]
        if key and exact and node.key is not None:
            return self.position(node.key)
        if inner is not None and node.is_string:
            return self.position(self._string_offset(node, inner))
        return self.position(node.start)

    def string_value(self, path: str) -> str | None:
        """The decoded string at `path` (exact match only), or None when it is not a string."""
        parts = parse_path(path)
        node = self._nodes.get(parts) if parts is not None else None
        if node is None or not node.is_string:
            return None
        value: str = json.loads(self.text[node.start : node.end])
        return value

    def paths(self) -> list[Parts]:
        """Every path in the document, in text order."""
        return sorted(self._nodes, key=lambda p: self._nodes[p].start)

    # -- scanner ------------------------------------------------------------------------------
    def _skip(self, i: int) -> int:
        match = _WS.match(self.text, i)
        return match.end() if match else i

    def _value(self, i: int, parts: Parts, key_at: int | None) -> int:
        text = self.text
        char = text[i : i + 1]
        if char == "{":
            end = self._object(i, parts)
        elif char == "[":
            end = self._array(i, parts)
        elif char == '"':
            end = _string_end(text, i)
        else:
            literal = next((w for w in _LITERALS if text.startswith(w, i)), None)
            if literal is not None:
                end = i + len(literal)
            else:
                match = _NUMBER.match(text, i)
                if match is None:
                    raise ValueError(f"expected a JSON value at offset {i}")
                end = match.end()
        self._nodes[parts] = _Node(i, end, key_at, char == '"')
        return end

    def _object(self, i: int, parts: Parts) -> int:
        text = self.text
        seen: dict[str, int] = {}
        pending: list[tuple[str, int]] = []
        i = self._skip(i + 1)
        if text.startswith("}", i):
            return i + 1
        while True:
            if not text.startswith('"', i):
                raise ValueError(f"expected a key at offset {i}")
            after = _string_end(text, i)
            key = json.loads(text[i:after])
            colon = self._skip(after)
            if not text.startswith(":", colon):
                raise ValueError(f"expected ':' at offset {colon}")
            if key in seen:
                pending.append((key, i))
            seen[key] = i
            i = self._skip(self._value(self._skip(colon + 1), (*parts, key), i))
            if text.startswith(",", i):
                i = self._skip(i + 1)
            elif text.startswith("}", i):
                self.duplicates.extend(Duplicate((*parts, k), k, at, i + 1) for k, at in pending)
                return i + 1
            else:
                raise ValueError(f"expected ',' or '}}' at offset {i}")

    def _array(self, i: int, parts: Parts) -> int:
        text = self.text
        i = self._skip(i + 1)
        if text.startswith("]", i):
            return i + 1
        index = 0
        while True:
            i = self._skip(self._value(i, (*parts, index), None))
            index += 1
            if text.startswith(",", i):
                i = self._skip(i + 1)
            elif text.startswith("]", i):
                return i + 1
            else:
                raise ValueError(f"expected ',' or ']' at offset {i}")

    def _string_offset(self, node: _Node, index: int) -> int:
        """Text offset of decoded character `index` of the string at `node` (its closing quote
        when `index` is past the end)."""
        text = self.text
        i, last = node.start + 1, node.end - 1
        seen = 0
        while i < last and seen < index:
            if text[i] != "\\":
                i += 1
            elif text[i + 1] != "u":
                i += 2
            else:
                unit = int(text[i + 2 : i + 6], 16)
                i += 6
                # json joins an escaped surrogate pair into one character.
                low = text[i + 2 : i + 6] if text.startswith("\\u", i) else ""
                if 0xD800 <= unit <= 0xDBFF and _HEX4.fullmatch(low) and 0xDC00 <= int(low, 16) <= 0xDFFF:
                    i += 6
            seen += 1
        return i


def index_of(text: str | None) -> PositionIndex | None:
    """The index of `text`, or None when there is no text or it is not JSON."""
    if text is None:
        return None
    try:
        return PositionIndex(text)
    except (ValueError, RecursionError):
        return None


def place(exc: SpecError, index: PositionIndex | None, *, path: str | None = None,
          key: bool = False) -> SpecError:
    """`exc` again, now carrying the line and column of its JSON path.

    Same class, file, path and message; only the position is added. An error that already has
    a line (a JSON syntax error), or whose path is not a JSON path, is returned unchanged. A
    column set without a line is a 1-based position inside the string at the path (where a
    JMESPath or template error sits) and is added to the string's start. `path` looks up another
    place than `exc.path` (the reported path stays); `key` points at the member's key.
    """
    if exc.line is not None or index is None:
        return exc
    inner = exc.column - 1 if exc.column is not None and exc.column > 0 else None
    where = index.locate(path or exc.path, key=key, inner=inner)
    if where is None:
        return exc
    return relocated(exc, exc.path, where)


def relocated(exc: SpecError, path: str, where: Position) -> SpecError:
    """A copy of `exc` (same class, file and message) at JSON path `path` and position `where`."""
    located = type(exc)(exc.reason, file=exc.file, path=path, line=where.line, column=where.column)
    for name, value in vars(exc).items():  # extra attributes some sites attach (e.g. `problems`)
        if name not in vars(located):
            setattr(located, name, value)
    return located
