"""The value language: plain JSON or directive objects, compiled once into an evaluator.

A value is compiled at load time (every expression parsed, every function checked) into a
tree of closures; evaluating it per event does no parsing. Inside an object a key whose value
resolves to null is left out; inside a list nulls stay. Directives (docs/values.md):
`@jmespath`, `@template`, `@if` (`when` / Segment's `exists` and `blank`), `@literal`, `@path`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from jmespath import exceptions as jexc

from engine.errors import SpecError
from engine.values.expressions import CompiledExpression, compile_jmespath, runtime_problem
from engine.values.functions import FunctionError, is_falsy

Evaluator = Callable[[Any], Any]

DIRECTIVES = ("@jmespath", "@template", "@if", "@literal", "@path")
_IF_CONDITIONS = ("when", "exists", "blank")
_IF_KEYS = frozenset((*_IF_CONDITIONS, "then", "else"))
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PATH_TOKEN = re.compile(r"\[([^\]]*)\]|([^.\[\]]+)")


class _KeepNull:
    """`{"@literal": null}`: a null that an enclosing object keeps instead of dropping."""

    def __repr__(self) -> str:
        return "NULL"


_NULL: Any = _KeepNull()


class CompiledValue:
    """A value compiled once; `evaluate(context)` resolves it for one event or request."""

    __slots__ = ("_evaluate", "expressions", "file", "functions", "is_constant", "path", "raw",
                 "references", "source", "step_refs", "var_refs")

    def __init__(self, raw: Any, *, file: str | None, path: str, evaluate: Evaluator,
                 is_constant: bool, references: frozenset[str], step_refs: frozenset[str],
                 var_refs: frozenset[str], functions: frozenset[str], expressions: tuple[str, ...]) -> None:
        self.raw = raw
        self.file = file
        self.path = path
        self._evaluate = evaluate
        #: True when the value reads nothing from its context (plain JSON or `@literal`).
        self.is_constant = is_constant
        #: Top-level context names read (`payload`, `settings`, `vars`, `steps`, `traits`…;
        #: `@` when the whole context is used).
        self.references = references
        #: Names after `steps.` / `vars.` (`*` when the name is not static).
        self.step_refs = step_refs
        self.var_refs = var_refs
        #: Functions called anywhere in the value.
        self.functions = functions
        #: Every expression text in the value, for explain traces.
        self.expressions = expressions
        #: A short text telling where the value comes from (the expression or the JSON).
        self.source = expressions[0] if len(expressions) == 1 and _is_directive(raw) else _dump(raw)

    def evaluate(self, context: Any, *, field: str | None = None) -> Any:
        """Resolve against `context`; a function's refusal becomes a PayloadValidationError.

        `field` names the payload field (or other location) for the error; by default the
        value's own JSON path in its spec file.
        """
        try:
            result = self._evaluate(context)
        except (FunctionError, jexc.JMESPathError) as exc:
            raise runtime_problem(exc, self.path if field is None else field) from exc
        return None if result is _NULL else result

    def __repr__(self) -> str:
        return f"CompiledValue({self.source})"


def compile_value(raw: Any, *, file: str | None = None, path: str = "$") -> CompiledValue:
    """Compile a value (plain JSON or directives) once; SpecError names file, JSON path, column."""
    compiler = _Compiler(file)
    evaluate, constant = compiler.compile(raw, path)
    is_constant = evaluate is None
    if evaluate is None:
        evaluate = _constant(constant)
    return CompiledValue(raw, file=file, path=path, evaluate=evaluate, is_constant=is_constant,
                         references=frozenset(compiler.references), step_refs=frozenset(compiler.steps),
                         var_refs=frozenset(compiler.vars), functions=frozenset(compiler.functions),
                         expressions=tuple(compiler.expressions))


def path_to_jmespath(path: str) -> str:
    """Segment's `@path` (`$.a.b[0].c`, `$` prefix optional) as an equivalent JMESPath text."""
    parts = []
    for key, is_index in _path_segments(path):
        if is_index:
            parts.append(f"[{key}]")
        else:
            text = key if _IDENTIFIER.fullmatch(key) else json.dumps(key)
            parts.append(f".{text}" if parts else text)
    return "".join(parts) or "@"


def _path_segments(path: str) -> list[tuple[str, bool]]:
    """Split a Segment path into (key, is_index) pairs; `$.`/`$` prefix and `''`/`.` mean root."""
    text = path
    if text.startswith("$."):
        text = text[2:]
    elif text == "$":
        text = ""
    out: list[tuple[str, bool]] = []
    for match in _PATH_TOKEN.finditer(text):
        bracket, plain = match.group(1), match.group(2)
        if bracket is not None:
            inner = bracket.strip()
            if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
                out.append((inner[1:-1], False))
            elif inner.lstrip("-").isdigit():
                out.append((inner, True))
            elif inner:
                out.append((inner, False))
        else:
            out.append((plain, False))
    return out


class _Compiler:
    """Walks one raw value, building closures and collecting what the value references."""

    def __init__(self, file: str | None) -> None:
        self.file = file
        self.references: set[str] = set()
        self.steps: set[str] = set()
        self.vars: set[str] = set()
        self.functions: set[str] = set()
        self.expressions: list[str] = []

    def error(self, message: str, path: str) -> SpecError:
        return SpecError(message, file=self.file, path=path)

    def expression(self, text: Any, path: str, *, offset: int = 0,
                   source: str | None = None) -> CompiledExpression:
        compiled = compile_jmespath(text, file=self.file, path=path, column_offset=offset, source=source)
        self.references |= compiled.references
        self.steps |= compiled.step_refs
        self.vars |= compiled.var_refs
        self.functions |= compiled.functions
        return compiled

    # Returns (evaluator, None) for a value that reads the context, or (None, constant).
    def compile(self, raw: Any, path: str) -> tuple[Evaluator | None, Any]:
        if isinstance(raw, dict):
            if _is_directive(raw):
                return self.directive(raw, path)
            return self.object(raw, path)
        if isinstance(raw, list):
            return self.array(raw, path)
        if raw is None or isinstance(raw, str | int | float | bool):
            return None, raw
        raise self.error(f"not a JSON value: {type(raw).__name__}", path)

    def object(self, raw: dict[str, Any], path: str) -> tuple[Evaluator | None, Any]:
        dynamic: list[tuple[str, Evaluator]] = []
        constant: dict[str, Any] = {}
        order: list[tuple[str, Evaluator | None]] = []
        for key, item in raw.items():
            if not isinstance(key, str):
                raise self.error("object keys must be strings", path)
            evaluate, value = self.compile(item, _child_path(path, key))
            order.append((key, evaluate))
            if evaluate is None:
                if value is not None:
                    constant[key] = None if value is _NULL else value
            else:
                dynamic.append((key, evaluate))
        if not dynamic:
            return None, constant
        items = [(key, fn if fn is not None else _constant(constant[key]))
                 for key, fn in order if fn is not None or key in constant]

        def build(context: Any) -> dict[str, Any]:
            out = {}
            for key, fn in items:
                value = fn(context)
                if value is not None:
                    out[key] = None if value is _NULL else value
            return out
        return build, None

    def array(self, raw: list[Any], path: str) -> tuple[Evaluator | None, Any]:
        compiled = [self.compile(item, f"{path}[{i}]") for i, item in enumerate(raw)]
        if all(fn is None for fn, _ in compiled):
            return None, [None if value is _NULL else value for _, value in compiled]
        parts = [fn if fn is not None else _constant(None if value is _NULL else value)
                 for fn, value in compiled]

        def build(context: Any) -> list[Any]:
            out = [part(context) for part in parts]
            return [None if item is _NULL else item for item in out] if _NULL in out else out
        return build, None

    def directive(self, raw: dict[str, Any], path: str) -> tuple[Evaluator | None, Any]:
        if len(raw) != 1:
            names = ", ".join(sorted(raw))
            raise self.error(f"a directive object must have exactly one key, found: {names}"
                             " (use @literal for an object whose keys start with '@')", path)
        (name, body), = raw.items()
        inner = _child_path(path, name)
        if name == "@literal":
            self.expressions.append(_dump(raw))
            return None, _NULL if body is None else body
        if name == "@jmespath":
            expr = self.expression(body, inner)
            self.expressions.append(expr.expression)
            return expr._evaluate, None
        if name == "@path":
            return self.segment_path(body, inner)
        if name == "@template":
            return self.template(body, inner)
        if name == "@if":
            return self.conditional(body, inner)
        known = ", ".join(DIRECTIVES)
        raise self.error(f"unknown directive {name} (known: {known})", path)

    def segment_path(self, body: Any, path: str) -> tuple[Evaluator | None, Any]:
        if not isinstance(body, str):
            raise self.error(f"@path needs a string like \"$.traits.email\", got {_kind(body)}", path)
        segments = _path_segments(body)
        self.expressions.append(body)
        if not segments:
            self.references.add("@")
            return (lambda context: context), None
        first = segments[0][0]
        self.references.add(first)
        if first in ("steps", "vars") and not segments[0][1]:
            target = self.steps if first == "steps" else self.vars
            target.add(segments[1][0] if len(segments) > 1 and not segments[1][1] else "*")
        return _path_getter(segments), None

    def template(self, body: Any, path: str) -> tuple[Evaluator | None, Any]:
        if not isinstance(body, str):
            raise self.error(f"@template needs a string, got {_kind(body)}", path)
        self.expressions.append(body)
        parts: list[str | Evaluator] = []
        position = 0
        while True:
            start = body.find("{{", position)
            if start < 0:
                break
            triple = body.startswith("{{{", start)
            opener, closer = ("{{{", "}}}") if triple else ("{{", "}}")
            end = body.find(closer, start + len(opener))
            if end < 0:
                raise SpecError(f"unclosed {opener} at column {start + 1}", file=self.file,
                                path=path, column=start + 1)
            if start > position:
                parts.append(body[position:start])
            text = body[start + len(opener):end]
            lead = len(text) - len(text.lstrip())
            expr = self.expression(text.strip(), path, offset=start + len(opener) + lead, source=body)
            parts.append(expr._evaluate)
            position = end + len(closer)
        if position < len(body):
            parts.append(body[position:])
        if all(isinstance(part, str) for part in parts):
            return None, "".join(parts)  # type: ignore[arg-type]
        if len(parts) == 1:
            (only,) = parts
            return (lambda context: render_text(only(context))), None  # type: ignore[operator]

        def render(context: Any) -> str:
            return "".join(part if isinstance(part, str) else render_text(part(context)) for part in parts)
        return render, None

    def conditional(self, body: Any, path: str) -> tuple[Evaluator | None, Any]:
        if not isinstance(body, dict):
            raise self.error(f"@if needs an object with when/exists/blank and then/else, got {_kind(body)}",
                             path)
        unknown = sorted(set(body) - _IF_KEYS)
        if unknown:
            raise self.error(f"@if has unknown key(s) {', '.join(unknown)} "
                             "(allowed: when, exists, blank, then, else)", path)
        conditions = [key for key in _IF_CONDITIONS if key in body]
        if len(conditions) != 1:
            raise self.error("@if needs exactly one of when, exists or blank", path)
        if "then" not in body and "else" not in body:
            raise self.error("@if needs a then or an else branch", path)
        (kind,) = conditions
        test = _condition(self, kind, body[kind], _child_path(path, kind))
        then_fn = self.branch(body, "then", path)
        else_fn = self.branch(body, "else", path)
        return (lambda context: then_fn(context) if test(context) else else_fn(context)), None

    def branch(self, body: dict[str, Any], key: str, path: str) -> Evaluator:
        if key not in body:
            return lambda context: None
        evaluate, constant = self.compile(body[key], _child_path(path, key))
        return evaluate if evaluate is not None else _constant(constant)


def _condition(compiler: _Compiler, kind: str, raw: Any, path: str) -> Callable[[Any], bool]:
    if kind == "when":
        expr = compiler.expression(raw, path)
        evaluate = expr._evaluate
        return lambda context: not is_falsy(evaluate(context))
    fn, constant = compiler.compile(raw, path)
    value_of = fn if fn is not None else _constant(constant)
    if kind == "exists":
        return lambda context: value_of(context) not in (None, _NULL)
    # Segment's `blank` picks `then` when the value is NOT blank (null, undefined, or loosely
    # equal to "" in JavaScript: "", 0, false, []), exactly as its mapping-kit does.
    return lambda context: not _js_blank(value_of(context))


def _js_blank(value: Any) -> bool:
    if value is None or value is _NULL or value is False or (value == "" and isinstance(value, str)):
        return True
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value == 0
    return isinstance(value, list) and (not value or value == [""])


def _path_getter(segments: list[tuple[str, bool]]) -> Evaluator:
    """Segment's `get`: each key reads an object member, or an array element when it is a number."""
    keys = [(key, int(key) if key.lstrip("-").isdigit() else None) for key, _ in segments]

    def get(value: Any) -> Any:
        for key, index in keys:
            if isinstance(value, dict):
                value = value.get(key)
            elif isinstance(value, list) and index is not None and 0 <= index < len(value):
                value = value[index]
            else:
                return None
        return value
    return get


def render_text(value: Any) -> str:
    """How a placeholder's value appears in a template: null → "", JSON for objects and lists."""
    if value is None or value is _NULL:
        return ""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _constant(value: Any) -> Evaluator:
    if isinstance(value, dict | list):
        return lambda context: _copy_json(value)
    return lambda context: value


def _copy_json(value: Any) -> Any:
    """A fresh copy of a JSON value, so callers may mutate what `evaluate` returns."""
    if isinstance(value, dict):
        return {key: _copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy_json(item) for item in value]
    return value


def _is_directive(raw: Any) -> bool:
    return isinstance(raw, dict) and any(isinstance(key, str) and key.startswith("@") for key in raw)


def _child_path(path: str, key: str) -> str:
    if _IDENTIFIER.fullmatch(key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key)}]"


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


def _dump(raw: Any) -> str:
    try:
        return json.dumps(raw, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return repr(raw)


__all__ = ["DIRECTIVES", "CompiledValue", "compile_value", "path_to_jmespath", "render_text"]
