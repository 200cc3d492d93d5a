"""The trigger AST: small frozen dataclasses, hashable and comparable by value.

The AST is what the printer prints, the compiler compiles, the interpreter walks and the router
inspects. `And`/`Or` are binary and left-associative, exactly as the grammar builds them, so
`parse(str(node)) == node` holds for every node (the printer adds the parentheses it needs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal as _Lit
from typing import Union

#: Comparison operators, as written.
CompareOp = _Lit["=", "!=", "<", "<=", ">", ">="]
#: Kinds of literal value.
ValueKind = _Lit["string", "number", "boolean", "null"]

ORDER_OPS: frozenset[str] = frozenset({"<", "<=", ">", ">="})
FUNCTIONS: tuple[str, ...] = ("contains", "match")


@dataclass(frozen=True, slots=True)
class Field:
    """A path into the event: `("properties", "total")` for `properties.total`."""

    path: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.path:
            raise ValueError("a field needs at least one segment")


@dataclass(frozen=True, slots=True)
class Value:
    """A literal. `kind` is kept next to the value so that `true` never equals `1`."""

    kind: ValueKind
    value: str | int | float | bool | None

    @staticmethod
    def of(raw: str | int | float | bool | None) -> Value:
        """Wrap a Python value, choosing its kind (bool before int, since bool is an int)."""
        if raw is None:
            return Value("null", None)
        if isinstance(raw, bool):
            return Value("boolean", raw)
        if isinstance(raw, int | float):
            return Value("number", raw)
        if isinstance(raw, str):
            return Value("string", raw)
        raise TypeError(f"not a trigger literal: {raw!r}")


@dataclass(frozen=True, slots=True)
class Compare:
    """`field op value`, for example `properties.total >= 100`."""

    field: Field
    op: CompareOp
    value: Value


@dataclass(frozen=True, slots=True)
class Contains:
    """`contains(field, "s")`; `negated` is Segment's `!contains(...)` (a string without s)."""

    field: Field
    needle: str
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Match:
    """`match(field, "glob")`; `negated` is Segment's `!match(...)` (a string not matching)."""

    field: Field
    pattern: str
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Not:
    """Logical negation of any sub-expression (`not x`, `!(x)`)."""

    operand: Node


@dataclass(frozen=True, slots=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Or:
    left: Node
    right: Node


Node = Union[Compare, Contains, Match, Not, And, Or]  # noqa: UP007 - forward references
Leaf = Union[Compare, Contains, Match]  # noqa: UP007

__all__ = [
    "FUNCTIONS",
    "ORDER_OPS",
    "And",
    "Compare",
    "CompareOp",
    "Contains",
    "Field",
    "Leaf",
    "Match",
    "Node",
    "Not",
    "Or",
    "Value",
    "ValueKind",
]
