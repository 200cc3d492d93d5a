"""AST → one specialised Python function per trigger.

Each trigger becomes the source of a single `def` whose body is one boolean expression:
`type = "track"` turns into `e.get(k0) == c0`, a nested field into a chain of walrus-bound
lookups, `and`/`or`/`not` into Python's own short-circuit operators. Per event there is no AST
walk and no call per node, which is what makes a million evaluations a second possible.

Safety: user text never reaches the generated source. The source is built from fixed fragments
and generated names (`k0`, `c1`, `m2`) alone; field names, strings and numbers are then put in
as `ast.Constant` nodes of the parsed tree, compiled regexes as globals.
"""

from __future__ import annotations

import ast as pyast
import fnmatch
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from engine.trigger.ast import And, Compare, Contains, Field, Match, Node, Not, Or

Predicate = Callable[[Mapping[str, Any]], bool]

#: The classes that count as numbers (bool is deliberately absent: `true` is not `1`).
_NUMBER_CLASSES = frozenset({int, float})


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A full glob (`*`, `?`, `[abc]`, `[!abc]`), case-sensitive, matched against the whole string."""
    return re.compile(fnmatch.translate(pattern), re.DOTALL)


class _Source:
    """Accumulates the generated expression's constants and temporaries."""

    def __init__(self) -> None:
        self.names: dict[str, Any] = {"_N": _NUMBER_CLASSES, "_dict": dict, "str": str}
        self._ids: dict[tuple[str, Any], str] = {}
        self._counter = 0

    def const(self, prefix: str, value: Any) -> str:
        key = (prefix, type(value).__name__, value) if prefix != "m" else (prefix, id(value))
        found = self._ids.get(key)  # type: ignore[arg-type]
        if found is None:
            found = f"{prefix}{len(self._ids)}"
            self._ids[key] = found  # type: ignore[index]
            self.names[found] = value
        return found

    def temp(self) -> str:
        self._counter += 1
        return f"_t{self._counter}"

    def lookup(self, field: Field) -> str:
        """An expression giving the field's value, or None when any step is missing/not an object."""
        expr = f"e.get({self.const('k', field.path[0])})"
        for segment in field.path[1:]:
            tmp = self.temp()
            expr = (f"({tmp}.get({self.const('k', segment)}) "
                    f"if isinstance({tmp} := {expr}, _dict) else None)")
        return expr


def _expr(node: Node, src: _Source) -> str:
    if isinstance(node, Compare):
        return _compare(node, src)
    if isinstance(node, Contains):
        v = src.temp()
        needle = src.const("c", node.needle)
        test = f"{needle} not in {v}" if node.negated else f"{needle} in {v}"
        return f"(({v} := {src.lookup(node.field)}).__class__ is str and {test})"
    if isinstance(node, Match):
        return _match(node, src)
    if isinstance(node, Not):
        return f"(not {_expr(node.operand, src)})"
    if isinstance(node, And | Or):
        # A chain a and b and c is one flat Python `and` (associative, same short-circuit order),
        # which keeps long chains within Python's limit on nested parentheses.
        word = " and " if isinstance(node, And) else " or "
        return "(" + word.join(_expr(operand, src) for operand in _chain(node)) + ")"
    raise TypeError(f"not a trigger node: {node!r}")


def _chain(node: And | Or) -> list[Node]:
    """The operands of a chain of one operator, left to right: And(And(a, b), c) → [a, b, c]."""
    operands: list[Node] = []
    stack: list[Node] = [node]
    kind = type(node)
    while stack:
        current = stack.pop()
        if type(current) is kind:
            assert isinstance(current, And | Or)
            stack.append(current.right)
            stack.append(current.left)
        else:
            operands.append(current)
    return operands


def _compare(node: Compare, src: _Source) -> str:
    got = src.lookup(node.field)
    kind, raw, op = node.value.kind, node.value.value, node.op
    if kind == "null":
        return f"({got} is None)" if op == "=" else f"({got} is not None)"
    if kind == "boolean":
        literal = "True" if raw else "False"
        return f"({got} is {literal})" if op == "=" else f"({got} is not {literal})"
    c = src.const("c", raw)
    if kind == "string":
        # Only a str can equal a str, so plain == / != already have the table's meaning
        # (a missing field is None, which differs from every string).
        return f"({got} {'==' if op == '=' else '!='} {c})"
    # numbers: the value must be an int or float (not a bool) for every operator, = and != included
    py_op = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}[op]
    v = src.temp()
    return f"(({v} := {got}).__class__ in _N and {v} {py_op} {c})"


def _match(node: Match, src: _Source) -> str:
    v = src.temp()
    pattern = node.pattern
    body = pattern.strip("*")
    lead, trail = pattern.startswith("*"), pattern.endswith("*") and len(pattern) > 1
    if not any(ch in body for ch in "*?[") and pattern != "*":
        c = src.const("c", body)
        if lead and trail:
            test = f"{c} in {v}"
        elif lead:
            test = f"{v}.endswith({c})"
        elif trail:
            test = f"{v}.startswith({c})"
        else:
            test = f"{v} == {c}"
    else:
        m = src.const("m", glob_regex(pattern).match)
        test = f"{m}({v}) is not None"
    if node.negated:
        test = f"not ({test})"
    return f"(({v} := {src.lookup(node.field)}).__class__ is str and {test})"


class _Inline(pyast.NodeTransformer):
    """Replace the generated names of literal constants by the constants themselves, so the
    function loads them with LOAD_CONST (faster than a global lookup, and still no user text in
    any source: the values enter as `ast.Constant` nodes, never as code)."""

    def __init__(self, constants: dict[str, Any]) -> None:
        self.constants = constants

    def visit_Name(self, node: pyast.Name) -> pyast.AST:
        if isinstance(node.ctx, pyast.Load) and node.id in self.constants:
            return pyast.copy_location(pyast.Constant(self.constants[node.id]), node)
        return node


def _build(source: str, src: _Source, extra: dict[str, Any], name: str) -> Any:
    inline = {n: value for n, value in src.names.items() if n[0] in "kc"}
    tree = pyast.fix_missing_locations(_Inline(inline).visit(pyast.parse(source, "<trigger>")))
    namespace: dict[str, Any] = {n: value for n, value in src.names.items() if n not in inline}
    namespace.update(extra)
    namespace["__builtins__"] = {"isinstance": isinstance}
    exec(compile(tree, "<trigger>", "exec"), namespace)
    function = namespace[name]
    function.__doc__ = source
    return function


def compile_selector(items: Sequence[tuple[Any, Node | None]]) -> Callable[[Mapping[str, Any]], list[Any]]:
    """One function that returns, in order, the keys whose condition holds (None: always).

    The router fuses a hot plan into this: one call per event instead of one per candidate.
    Keys may be any objects; they enter as globals (`_key0`...), never as source.
    """
    src = _Source()
    lines = ["def _select(e):", "    r = []", "    add = r.append"]
    keys: dict[str, Any] = {}
    for index, (key, node) in enumerate(items):
        keys[f"_key{index}"] = key
        if node is None:
            lines.append(f"    add(_key{index})")
        else:
            lines.append(f"    if {_expr(node, src)}:")
            lines.append(f"        add(_key{index})")
    lines.append("    return r")
    function: Callable[[Mapping[str, Any]], list[Any]] = _build("\n".join(lines) + "\n", src, keys, "_select")
    return function


def compile_predicate(node: Node) -> Predicate:
    """A function `event -> bool` equivalent to interpreting `node` (see interpreter.py)."""
    src = _Source()
    body = _expr(node, src)
    source = f"def _trigger(e):\n    return {body}\n"
    function: Predicate = _build(source, src, {}, "_trigger")
    return function


__all__ = ["Predicate", "compile_predicate", "compile_selector", "glob_regex"]
