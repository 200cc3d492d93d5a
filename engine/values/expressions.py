"""Compiling JMESPath once: load-time checks, reference analysis and a fast evaluator.

`compile_jmespath` parses an expression, refuses unknown functions and wrong argument counts
with the file, JSON path and column, and records which top-level context names (and which
`steps.<name>` / `vars.<name>`) it reads so the loader can check references and cycles.

Evaluation takes a shortcut for the shapes mappings use most (field chains, indexes, `||`,
`&&`, `!`, function calls, `@`, literals, pipes and multi-selects): those nodes become plain
Python closures with exactly JMESPath's semantics. Anything else runs on jmespath's own tree
interpreter. Both paths share the engine's function library.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

import jmespath
from jmespath import exceptions as jexc
from jmespath.visitor import TreeInterpreter

from engine.errors import PayloadValidationError, Problem, SpecError
from engine.values.functions import ENGINE_FUNCTIONS, FunctionError, function_arity, is_falsy

Evaluator = Callable[[Any], Any]
Node = dict[str, Any]

_INTERPRETER = TreeInterpreter(jmespath.Options(custom_functions=ENGINE_FUNCTIONS))
#: Context names whose second segment names something the loader must check.
_NAMED_ROOTS = ("steps", "vars")


def join_field(field: str, sub: str) -> str:
    """`field` + `.sub` (or just one of them when the other is empty)."""
    if not sub:
        return field
    if not field:
        return sub
    return f"{field}.{sub}"


def runtime_problem(exc: Exception, field: str) -> PayloadValidationError:
    """The PayloadValidationError for an error raised while evaluating at `field`."""
    if isinstance(exc, FunctionError):
        problems = [Problem(join_field(field, sub), message) for sub, message in exc.problems]
    else:
        problems = [Problem(field, _jmespath_reason(exc))]
    return PayloadValidationError("", problems=problems)


def _jmespath_reason(exc: Exception) -> str:
    text = str(exc)
    return text.replace("In function ", "in function ", 1) if text else type(exc).__name__


class CompiledExpression:
    """A JMESPath expression compiled once; `search(data)` evaluates it."""

    __slots__ = ("_evaluate", "expression", "file", "functions", "path", "references",
                 "step_refs", "var_refs")

    def __init__(self, expression: str, *, file: str | None, path: str, evaluate: Evaluator,
                 references: frozenset[str], step_refs: frozenset[str], var_refs: frozenset[str],
                 functions: frozenset[str]) -> None:
        self.expression = expression
        self.file = file
        self.path = path
        self.references = references
        self.step_refs = step_refs
        self.var_refs = var_refs
        self.functions = functions
        self._evaluate = evaluate

    def search(self, data: Any, *, field: str | None = None) -> Any:
        """Evaluate over `data`; a function's refusal becomes a PayloadValidationError at `field`."""
        try:
            return self._evaluate(data)
        except (FunctionError, jexc.JMESPathError) as exc:
            raise runtime_problem(exc, self.path if field is None else field) from exc

    def __repr__(self) -> str:
        return f"CompiledExpression({self.expression!r})"


def compile_jmespath(expr: str, *, file: str | None = None, path: str = "$",
                     column_offset: int = 0, source: str | None = None) -> CompiledExpression:
    """Parse and check `expr` once; SpecError (file, JSON path, column) when it is not valid.

    `column_offset` shifts reported columns when the expression sits inside a larger string
    (a `{{ }}` placeholder in a template); `source` is that larger string, shown in errors.
    """
    if not isinstance(expr, str):
        raise SpecError(f"a JMESPath expression must be a string, got {type(expr).__name__}",
                        file=file, path=path)
    where = _Where(file, path, column_offset, source)
    if not expr.strip():
        raise _located("empty JMESPath expression", expr, 1, where)
    try:
        parsed = jmespath.compile(expr)
    except jexc.LexerError as exc:
        raise _syntax_error(expr, str(exc.message), exc.lex_position, where) from None
    except jexc.ParseError as exc:
        raise _syntax_error(expr, _parse_reason(exc), exc.lex_position, where) from None
    ast: Node = parsed.parsed  # type: ignore[assignment]  # a plain dict at runtime
    functions = _check_functions(ast, expr, where)
    refs = _References()
    refs.scan(ast, root=True)
    fast = _fast(ast)
    evaluate: Evaluator
    if fast is not None:
        evaluate = fast
    else:
        def evaluate(data: Any, _ast: Node = ast) -> Any:
            return _INTERPRETER.visit(_ast, data)  # type: ignore[arg-type]
    return CompiledExpression(expr, file=file, path=path, evaluate=evaluate,
                              references=frozenset(refs.names), step_refs=frozenset(refs.steps),
                              var_refs=frozenset(refs.vars), functions=functions)


def _parse_reason(exc: jexc.ParseError) -> str:
    if exc.token_type == "eof":
        return "the expression ends too early"
    return f"unexpected {exc.token_value!r}"


class _Where(NamedTuple):
    """Where an expression sits, for error messages."""

    file: str | None
    path: str
    offset: int
    source: str | None


def _syntax_error(expr: str, reason: str, position: int | None, where: _Where) -> SpecError:
    column = (position if isinstance(position, int) else len(expr)) + 1
    return _located(f"bad JMESPath: {reason}", expr, column, where)


def _located(reason: str, expr: str, column: int, where: _Where) -> SpecError:
    """A SpecError showing the text with a caret under `column` (1-based within `expr`)."""
    absolute = column + where.offset
    shown, at = (where.source, absolute) if where.source is not None else (expr, column)
    caret = " " * (at - 1) + "^"
    message = f"{reason} at column {absolute}\n  {shown}\n  {caret}"
    return SpecError(message, file=where.file, path=where.path, column=absolute)


def _check_functions(ast: Node, expr: str, where: _Where) -> frozenset[str]:
    """Refuse unknown functions and wrong argument counts at load time, not per event."""
    seen: set[str] = set()
    stack = [ast]
    while stack:
        node = stack.pop()
        if node.get("type") == "function_expression":
            name = node["value"]
            seen.add(name)
            arity = function_arity(name)
            column = _function_column(expr, name)
            if arity is None:
                raise _located(f"unknown function {name}()", expr, column, where)
            wanted, variadic = arity
            given = len(node["children"])
            if given < wanted or (given > wanted and not variadic):
                need = f"at least {wanted}" if variadic else str(wanted)
                raise _located(f"{name}() takes {need} argument(s), got {given}", expr, column, where)
        stack.extend(child for child in node.get("children", ()) if isinstance(child, dict))
    return frozenset(seen)


def _function_column(expr: str, name: str) -> int:
    match = re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}\s*\(", expr)
    return match.start() + 1 if match else 1


class _References:
    """Collects which context names an expression reads from its root (not from a projection)."""

    # Node types whose first child is evaluated against the current value and the rest against
    # its result (or per element).
    _LEFT_ONLY = frozenset({"projection", "value_projection", "filter_projection", "pipe", "flatten"})

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.steps: set[str] = set()
        self.vars: set[str] = set()

    def scan(self, node: Node, *, root: bool, in_chain: bool = False) -> None:
        kind = node.get("type")
        children: list[Any] = [c for c in node.get("children", ()) if isinstance(c, dict)]
        if kind in ("field", "subexpression", "index_expression") and root and not in_chain:
            self._chain(node)
        if kind == "current" and root:
            self.names.add("@")
        if kind == "subexpression":
            self.scan(children[0], root=root, in_chain=True)
            for child in children[1:]:
                self.scan(child, root=False)
            return
        if kind == "index_expression":
            self.scan(children[0], root=root, in_chain=True)
            return
        if kind in self._LEFT_ONLY:
            if children:
                self.scan(children[0], root=root)
            for child in children[1:]:
                self.scan(child, root=False)
            return
        if kind == "expref":
            for child in children:
                self.scan(child, root=False)
            return
        for child in children:
            self.scan(child, root=root)

    def _chain(self, node: Node) -> None:
        names = _leading_names(node)
        if not names:
            return
        self.names.add(names[0])
        if names[0] in _NAMED_ROOTS:
            target = self.steps if names[0] == "steps" else self.vars
            target.add(names[1] if len(names) > 1 else "*")


def _leading_names(node: Node) -> list[str]:
    """`steps.contact.body[0]` → ["steps", "contact", "body"]: the field names a chain starts with."""
    kind = node.get("type")
    if kind == "field":
        return [node["value"]]
    if kind == "index_expression":
        return _leading_names(node["children"][0])[:1] or []
    if kind == "subexpression":
        names: list[str] = []
        for child in node["children"]:
            part = _leading_names(child)
            names.extend(part)
            if child.get("type") != "field":
                break
        return names
    return []


# ---------------------------------------------------------------------------------------------
# Fast evaluation: JMESPath AST → closures, for the node types whose semantics are simple.

def _fast(node: Node) -> Evaluator | None:
    builder = _BUILDERS.get(node.get("type", ""))
    return builder(node) if builder is not None else None


def _children(node: Node) -> list[Evaluator] | None:
    out = []
    for child in node["children"]:
        fn = _fast(child)
        if fn is None:
            return None
        out.append(fn)
    return out


def _b_field(node: Node) -> Evaluator:
    name = node["value"]

    def field(value: Any) -> Any:
        return value.get(name) if isinstance(value, dict) else None
    return field


def _b_current(node: Node) -> Evaluator:
    return lambda value: value


def _b_literal(node: Node) -> Evaluator:
    constant = node["value"]  # shared, exactly as jmespath's interpreter returns it
    return lambda value: constant


def _b_subexpression(node: Node) -> Evaluator | None:
    parts = _children(node)
    if parts is None:
        return None
    # Only field/index steps may short-circuit on null; anything else must see the null.
    if not all(c.get("type") in ("field", "index_expression") for c in node["children"][1:]):
        return None
    if len(parts) == 2:
        first, second = parts

        def chain2(value: Any) -> Any:
            value = first(value)
            return None if value is None else second(value)
        return chain2

    def chain(value: Any) -> Any:
        for part in parts:
            value = part(value)
            if value is None:
                return None
        return value
    return chain


def _b_index_expression(node: Node) -> Evaluator | None:
    # jmespath chains the children: the first against the value, each index against the result.
    first, *rest = node["children"]
    if not rest or any(child.get("type") != "index" for child in rest):
        return None
    left = _fast(first)
    if left is None:
        return None
    indexes = [child["value"] for child in rest]

    def indexed(value: Any) -> Any:
        value = left(value)
        for index in indexes:
            if not isinstance(value, list):
                return None
            try:
                value = value[index]
            except IndexError:
                return None
        return value
    return indexed


def _b_or(node: Node) -> Evaluator | None:
    parts = _children(node)
    if parts is None:
        return None
    left, right = parts

    def either(value: Any) -> Any:
        first = left(value)
        return right(value) if is_falsy(first) else first
    return either


def _b_and(node: Node) -> Evaluator | None:
    parts = _children(node)
    if parts is None:
        return None
    left, right = parts

    def both(value: Any) -> Any:
        first = left(value)
        return first if is_falsy(first) else right(value)
    return both


def _b_not(node: Node) -> Evaluator | None:
    parts = _children(node)
    if parts is None:
        return None
    (inner,) = parts

    def negate(value: Any) -> Any:
        result = inner(value)
        if isinstance(result, int | float) and not isinstance(result, bool) and result == 0:
            return False
        return not result
    return negate


def _b_pipe(node: Node) -> Evaluator | None:
    parts = _children(node)
    if parts is None:
        return None
    left, right = parts
    return lambda value: right(left(value))


def _b_function(node: Node) -> Evaluator | None:
    if any(c.get("type") == "expref" for c in node["children"]):
        return None
    args = _children(node)
    if args is None:
        return None
    name = node["value"]
    call = ENGINE_FUNCTIONS.call_function
    return lambda value: call(name, [arg(value) for arg in args])


def _b_multi_select_dict(node: Node) -> Evaluator | None:
    pairs: list[tuple[str, Evaluator]] = []
    for child in node["children"]:
        fn = _fast(child["children"][0])
        if fn is None:
            return None
        pairs.append((child["value"], fn))

    def select(value: Any) -> Any:
        if value is None:
            return None
        return {key: fn(value) for key, fn in pairs}
    return select


def _b_multi_select_list(node: Node) -> Evaluator | None:
    parts = _children(node)
    if parts is None:
        return None

    def select(value: Any) -> Any:
        if value is None:
            return None
        return [fn(value) for fn in parts]
    return select


_BUILDERS: dict[str, Callable[[Node], Evaluator | None]] = {
    "field": _b_field,
    "current": _b_current,
    "literal": _b_literal,
    "subexpression": _b_subexpression,
    "index_expression": _b_index_expression,
    "or_expression": _b_or,
    "and_expression": _b_and,
    "not_expression": _b_not,
    "pipe": _b_pipe,
    "function_expression": _b_function,
    "multi_select_dict": _b_multi_select_dict,
    "multi_select_list": _b_multi_select_list,
}

__all__ = ["CompiledExpression", "compile_jmespath", "join_field", "runtime_problem"]
