"""A direct, obviously-correct AST interpreter: the oracle the compiled predicates are tested
against, and the engine behind `--explain` (which needs to know *which* sub-expression decided).

It is written row by row from the semantics table in docs/triggers.md, independently of the
compiler's tricks, and is deliberately slow and plain.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from engine.trigger.ast import And, Compare, Contains, Field, Leaf, Match, Node, Not, Or
from engine.trigger.compiler import glob_regex
from engine.trigger.printer import field_text, to_text

_MISSING = object()


def resolve(event: Mapping[str, Any], fld: Field) -> Any:
    """The value at `fld` in `event`, or None when any step is missing or not an object."""
    current: Any = event
    for segment in fld.path:
        if not isinstance(current, dict):
            return None
        current = current.get(segment, None)
    return current


def _is_number(value: Any) -> bool:
    """JSON numbers: exactly int or float (bool is an int subclass and is excluded)."""
    return type(value) is int or type(value) is float


def evaluate_leaf(node: Leaf, event: Mapping[str, Any]) -> bool:
    value = resolve(event, node.field)
    if isinstance(node, Contains):
        return type(value) is str and ((node.needle not in value) if node.negated
                                       else (node.needle in value))
    if isinstance(node, Match):
        if type(value) is not str:
            return False
        hit = glob_regex(node.pattern).match(value) is not None
        return not hit if node.negated else hit
    kind, literal, op = node.value.kind, node.value.value, node.op
    if kind == "null":
        return (value is None) if op == "=" else (value is not None)
    if kind == "boolean":
        same = isinstance(value, bool) and value == literal
        return same if op == "=" else not same
    if kind == "string":
        same = isinstance(value, str) and value == literal
        return same if op == "=" else not same
    # number: every operator needs a number on the event side
    if not _is_number(value):
        return False
    assert isinstance(literal, int | float)
    if op == "=":
        return bool(value == literal)
    if op == "!=":
        return bool(value != literal)
    if op == "<":
        return bool(value < literal)
    if op == "<=":
        return bool(value <= literal)
    if op == ">":
        return bool(value > literal)
    return bool(value >= literal)


def evaluate(node: Node, event: Mapping[str, Any]) -> bool:
    """Interpret `node` against `event` by walking the tree."""
    if isinstance(node, Not):
        return not evaluate(node.operand, event)
    if isinstance(node, And):
        return evaluate(node.left, event) and evaluate(node.right, event)
    if isinstance(node, Or):
        return evaluate(node.left, event) or evaluate(node.right, event)
    return evaluate_leaf(node, event)


@dataclass(frozen=True)
class Reason:
    """One condition that took part in the decision, with what the event held."""

    text: str
    result: bool
    field: str
    value: Any  # the event's value, or None when missing
    present: bool
    #: What kind of value the condition needs ("a number", "a string", "a boolean") or "" if any.
    needs: str = ""


@dataclass(frozen=True)
class Explanation:
    """The result and the conditions that decided it (short-circuit order, as evaluated)."""

    result: bool
    reasons: list[Reason] = field(default_factory=list)


def explain(node: Node, event: Mapping[str, Any]) -> Explanation:
    """Evaluate and report the deciding leaves: for a false `and` the first false operand, for a
    true `or` the first true one, otherwise every operand that had to be looked at."""
    result, reasons = _explain(node, event)
    return Explanation(result, reasons)


def _explain(node: Node, event: Mapping[str, Any]) -> tuple[bool, list[Reason]]:
    if isinstance(node, Not):
        inner, reasons = _explain(node.operand, event)
        if isinstance(node.operand, Compare | Contains | Match):
            (leaf,) = reasons
            reasons = [replace(leaf, text=to_text(node), result=not inner, needs="")]
        return not inner, reasons
    if isinstance(node, And):
        left, left_reasons = _explain(node.left, event)
        if not left:
            return False, left_reasons
        right, right_reasons = _explain(node.right, event)
        return right, (left_reasons + right_reasons) if right else right_reasons
    if isinstance(node, Or):
        left, left_reasons = _explain(node.left, event)
        if left:
            return True, left_reasons
        right, right_reasons = _explain(node.right, event)
        return right, right_reasons if right else (left_reasons + right_reasons)
    present = _present(event, node.field)
    result = evaluate_leaf(node, event)
    return result, [Reason(to_text(node), result, field_text(node.field), resolve(event, node.field),
                           present, _needs(node))]


def _needs(node: Leaf) -> str:
    if isinstance(node, Contains | Match):
        return "a string"
    if node.value.kind == "number":
        return "a number"
    if node.value.kind == "boolean" and node.op == "=":
        return "a boolean"
    if node.value.kind == "string" and node.op == "=":
        return "a string"
    return ""


def kind_of(value: Any) -> str:
    """The JSON kind of a Python value, with its article ("a number", "an object", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def _present(event: Mapping[str, Any], fld: Field) -> bool:
    current: Any = event
    for segment in fld.path:
        if not isinstance(current, dict) or segment not in current:
            return False
        current = current[segment]
    return True


__all__ = ["Explanation", "Reason", "evaluate", "evaluate_leaf", "explain", "kind_of", "resolve"]
