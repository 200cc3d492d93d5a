"""Text → AST: the Lark LALR parser over grammar/trigger.lark, plus the checks a grammar cannot
express (unknown functions, operators that need numbers, bad escapes) and Segment-compatibility
warnings.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import cache

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedInput

from engine._resources import grammar_dir
from engine.trigger.ast import (
    FUNCTIONS,
    ORDER_OPS,
    And,
    Compare,
    Contains,
    Field,
    Match,
    Node,
    Not,
    Or,
    Value,
)
from engine.trigger.errors import syntax_error, translate

#: Top-level fields Segment's parser understands (anything else is fine here, but warned about).
SEGMENT_TOP_LEVEL = frozenset({"type", "event", "name", "userId"})
SEGMENT_ROOTS = frozenset({"properties", "traits", "context"})


@dataclass(frozen=True, slots=True)
class TriggerWarning:
    """Something that parses fine here but that Segment would read differently (or reject)."""

    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


@cache
def _lark() -> Lark:
    grammar = (grammar_dir() / "trigger.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="basic", propagate_positions=True,
                maybe_placeholders=False)


def parse_tree(text: str) -> tuple[Node, tuple[TriggerWarning, ...]]:
    """Parse `text` into an AST and its compatibility warnings; raise TriggerSyntaxError."""
    if not isinstance(text, str):
        raise TypeError(f"a trigger expression must be a string, not {type(text).__name__}")
    lark = _lark()
    try:
        tree = lark.parse(text)
    except UnexpectedInput as exc:
        raise translate(exc, text, lark) from None
    _check_depth(tree, text)
    builder = _Builder(text)
    node = builder.build(tree.children[0])
    return node, tuple(sorted(builder.warnings, key=lambda w: (w.line, w.column)))


#: Deepest nesting accepted: each `and`/`or`/`not`/parenthesis adds a level (the AST is binary,
#: so a chain of N `and`s is N levels). Far beyond real subscriptions, well within Python's limits.
MAX_DEPTH = 200


def _check_depth(tree: Tree, text: str) -> None:
    """Reject absurdly deep expressions with a clear error instead of a RecursionError later."""
    stack: list[tuple[Tree, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            line, column = _position(node)
            raise syntax_error(f"the expression nests more than {MAX_DEPTH} levels deep (operators and "
                               "parentheses); split it into several triggers", text, line, column,
                               f"at most {MAX_DEPTH} levels")
        for child in node.children:
            if isinstance(child, Tree) and child.data not in ("field", "value", "segment"):
                stack.append((child, depth + 1))


class _Builder:
    """Walks the Lark tree once, building AST nodes and collecting warnings."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.warnings: list[TriggerWarning] = []
        self._paren_depth = 0

    def warn(self, at: Token | Tree, message: str) -> None:
        line, column = _position(at)
        warning = TriggerWarning(line, column, message)
        if warning not in self.warnings:
            self.warnings.append(warning)

    def fail(self, at: Token | Tree, message: str, expected: str = "") -> Exception:
        line, column = _position(at)
        return syntax_error(message, self.text, line, column, expected)

    def build(self, tree: Tree | Token) -> Node:
        assert isinstance(tree, Tree), tree
        kind = tree.data
        kids = tree.children
        if kind == "or_":
            for side in (kids[0], kids[2]):
                if isinstance(side, Tree) and side.data == "and_":
                    self.warn(kids[1], "'and' and 'or' are mixed without parentheses: this engine reads "
                              "'and' first, Segment applies the last operator of the list to every "
                              "condition; add parentheses to make the intent explicit")
            return Or(self.build(kids[0]), self.build(kids[2]))
        if kind == "and_":
            return And(self.build(kids[0]), self.build(kids[2]))
        if kind == "not_":
            self.warn(kids[0], "Segment's parser has no 'not'; it only accepts !contains(...) and "
                      "!match(...)")
            return Not(self.build(kids[1]))
        if kind == "bang":
            operand = kids[1]
            if isinstance(operand, Tree) and operand.data == "funcall":
                node = self.build(operand)
                assert isinstance(node, Contains | Match)
                return type(node)(node.field, *_function_argument(node), negated=True)
            self.warn(kids[0], "Segment's parser only accepts '!' directly before contains(...) or "
                      "match(...)")
            return Not(self.build(operand))
        if kind == "paren":
            if self._paren_depth >= 1:
                self.warn(kids[0], "Segment's parser does not handle nested parentheses")
            self._paren_depth += 1
            try:
                return self.build(kids[1])
            finally:
                self._paren_depth -= 1
        if kind == "comparison":
            return self._comparison(kids)
        if kind == "funcall":
            return self._funcall(kids)
        raise AssertionError(f"unexpected rule {kind}")

    def _comparison(self, kids: list[Tree | Token]) -> Compare:
        field_tree, op_token, value_tree = kids
        assert isinstance(field_tree, Tree) and isinstance(op_token, Token) and isinstance(value_tree, Tree)
        field = self._field(field_tree)
        value = self._value(value_tree)
        op = str(op_token)
        if op in ORDER_OPS and value.kind != "number":
            raise self.fail(value_tree, f"'{op}' compares numbers: expected a number after '{op}', "
                            f"found {_kind_phrase(value)}", "a number")
        return Compare(field, op, value)  # type: ignore[arg-type]

    def _funcall(self, kids: list[Tree | Token]) -> Contains | Match:
        name_token, _lpar, field_tree, _comma, value_tree, _rpar = kids
        assert isinstance(name_token, Token) and isinstance(field_tree, Tree) and isinstance(value_tree, Tree)
        name = str(name_token)
        if name not in FUNCTIONS:
            raise self.fail(name_token, f"unknown function {name!r} (known functions: contains, match)",
                            "contains or match")
        field = self._field(field_tree)
        value = self._value(value_tree)
        if value.kind != "string":
            raise self.fail(value_tree, f"{name}() needs a string as its second argument, found "
                            f"{_kind_phrase(value)}", "a string")
        assert isinstance(value.value, str)
        if name == "contains":
            return Contains(field, value.value)
        pattern = value.value
        core = pattern[1:] if pattern.startswith("*") else pattern
        core = core[:-1] if core.endswith("*") else core
        if any(ch in core for ch in "*?["):
            self.warn(value_tree, "Segment's match() only understands a leading or trailing '*'; "
                      "this pattern uses full glob syntax")
        return Match(field, pattern)

    def _field(self, tree: Tree) -> Field:
        path: list[str] = []
        for segment in tree.children:
            if isinstance(segment, Tree):
                token = segment.children[0]
                assert isinstance(token, Token)
                if token.type == "QUOTED":
                    path.append(re.sub(r"\\(.)", r"\1", str(token)[1:-1], flags=re.S))
                else:
                    path.append(str(token))
        if len(path) == 1 and path[0] not in SEGMENT_TOP_LEVEL:
            self.warn(tree, f"Segment's parser only accepts type, event, name and userId at the top level, "
                      f"not {path[0]!r}")
        elif len(path) > 1 and path[0] not in SEGMENT_ROOTS:
            self.warn(tree, f"Segment's parser only reads nested fields under properties, traits and "
                      f"context, not {path[0]!r}")
        return Field(tuple(path))

    def _value(self, tree: Tree) -> Value:
        token = tree.children[0]
        assert isinstance(token, Token)
        kind = token.type
        if kind == "TRUE":
            return Value("boolean", True)
        if kind == "FALSE":
            return Value("boolean", False)
        if kind == "NULL":
            return Value("null", None)
        if kind == "NUMBER":
            raw = str(token)
            number: int | float = float(raw) if any(c in raw for c in ".eE") else int(raw)
            if isinstance(number, float) and not math.isfinite(number):
                raise self.fail(token, f"number {raw} is out of range", "a finite number")
            return Value("number", number)
        return Value("string", self._string(token))

    def _string(self, token: Token) -> str:
        raw = str(token)
        body = raw[1:-1]
        if raw[0] == "'":
            # Single-quoted: \' is a quote, a bare " needs escaping before JSON decoding.
            body = re.sub(r'\\(.)|"', lambda m: ("'" if m.group(1) == "'" else m.group(0))
                          if m.group(1) is not None else '\\"', body, flags=re.S)
        try:
            decoded = json.loads(f'"{body}"', strict=False)
        except json.JSONDecodeError as exc:
            bad = body[exc.pos - 1:exc.pos + 1] if exc.pos else body[:2]
            raise self.fail(token, f"invalid escape {bad!r} in string (use \\\", \\\\, \\n, \\t or \\uXXXX)",
                            "a valid escape") from None
        assert isinstance(decoded, str)
        return decoded


def _function_argument(node: Contains | Match) -> tuple[str]:
    return (node.needle,) if isinstance(node, Contains) else (node.pattern,)


def _kind_phrase(value: Value) -> str:
    return {"string": "a string", "number": "a number", "boolean": f"{str(value.value).lower()}",
            "null": "null"}[value.kind]


def _position(at: Token | Tree) -> tuple[int, int]:
    if isinstance(at, Token):
        return at.line or 1, at.column or 1
    meta = at.meta
    return getattr(meta, "line", 1) or 1, getattr(meta, "column", 1) or 1
