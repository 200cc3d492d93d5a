"""Canonical text of a trigger AST: one spelling per tree, so `parse(to_text(n)) == n`.

Canonical choices: double-quoted strings with JSON escapes, `not` for logical negation,
`!contains`/`!match` for Segment's string-only negations, single spaces around operators, and
parentheses only where the tree needs them (`and` binds tighter than `or`; both are left-assoc).
"""

from __future__ import annotations

import json
import re

from engine.trigger.ast import And, Compare, Contains, Field, Match, Node, Not, Or, Value

KEYWORDS = frozenset({"and", "or", "not", "true", "false", "null"})
_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")

# Binding strength of each node kind: higher binds tighter.
_OR, _AND, _UNARY = 1, 2, 3


def field_text(field: Field) -> str:
    """`properties.total`; segments that are not plain names (or are keywords) go in backticks."""
    return ".".join(_segment(s) for s in field.path)


def _segment(name: str) -> str:
    if _IDENT.fullmatch(name) and name not in KEYWORDS:
        return name
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def value_text(value: Value) -> str:
    if value.kind == "string":
        return string_text(str(value.value))
    if value.kind == "boolean":
        return "true" if value.value else "false"
    if value.kind == "null":
        return "null"
    return repr(value.value)  # int → "3", float → "3.0" / "1e+20": both parse back to the same value


def string_text(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def to_text(node: Node) -> str:
    """The canonical text of `node`."""
    return _text(node)


def _strength(node: Node) -> int:
    if isinstance(node, Or):
        return _OR
    if isinstance(node, And):
        return _AND
    return _UNARY


def _wrap(node: Node, minimum: int) -> str:
    text = _text(node)
    return f"({text})" if _strength(node) < minimum else text


def _text(node: Node) -> str:
    if isinstance(node, Compare):
        return f"{field_text(node.field)} {node.op} {value_text(node.value)}"
    if isinstance(node, Contains):
        bang = "!" if node.negated else ""
        return f"{bang}contains({field_text(node.field)}, {string_text(node.needle)})"
    if isinstance(node, Match):
        bang = "!" if node.negated else ""
        return f"{bang}match({field_text(node.field)}, {string_text(node.pattern)})"
    if isinstance(node, Not):
        # `not` binds tighter than `and`/`or`: only binary operands need parentheses.
        return f"not {_wrap(node.operand, _UNARY)}"
    if isinstance(node, And):
        # left-assoc: the right operand must be wrapped if it is itself an `and`
        return f"{_wrap(node.left, _AND)} and {_wrap(node.right, _UNARY)}"
    if isinstance(node, Or):
        return f"{_wrap(node.left, _OR)} or {_wrap(node.right, _AND)}"
    raise TypeError(f"not a trigger node: {node!r}")
