"""`Trigger`: a parsed, compiled expression — the object the rest of the engine holds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.errors import TriggerSyntaxError
from engine.trigger.ast import Node
from engine.trigger.compiler import Predicate, compile_predicate
from engine.trigger.parser import TriggerWarning, parse_tree
from engine.trigger.printer import to_text


class Trigger:
    """A trigger expression, parsed once and compiled to a predicate.

    `matches` is the compiled function itself (an instance attribute, not a method), so calling
    `trigger.matches(event)` costs one Python call. Triggers compare and hash by their AST:
    `parse('type="track"') == parse('type = "track"')`.
    """

    __slots__ = ("_hash", "ast", "matches", "source", "warnings")

    ast: Node
    matches: Predicate
    source: str | None
    warnings: tuple[TriggerWarning, ...]

    def __init__(self, ast: Node, *, source: str | None = None,
                 warnings: tuple[TriggerWarning, ...] = ()) -> None:
        self.ast = ast
        self.source = source
        self.warnings = warnings
        self.matches = compile_predicate(ast)
        self._hash = hash(ast)

    @property
    def text(self) -> str:
        """The canonical text (same as `str(trigger)`)."""
        return to_text(self.ast)

    def __str__(self) -> str:
        return to_text(self.ast)

    def __repr__(self) -> str:
        return f"Trigger({to_text(self.ast)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Trigger) and other.ast == self.ast

    def __hash__(self) -> int:
        return self._hash

    def __call__(self, event: Mapping[str, Any]) -> bool:
        return self.matches(event)


def parse(text: str) -> Trigger:
    """Parse and compile a trigger expression; raise TriggerSyntaxError with line/column."""
    ast, warnings = parse_tree(text)
    try:
        return Trigger(ast, source=text, warnings=warnings)
    except (RecursionError, SyntaxError):  # Python's own limits on generated code
        raise TriggerSyntaxError("the expression is nested too deeply to compile; split it into several "
                                 "triggers", text=text, line=1, column=1,
                                 expected="a less deeply nested expression") from None


def from_ast(ast: Node) -> Trigger:
    """Compile an AST built in code (for example by the hypothesis strategies)."""
    return Trigger(ast)
