"""Payload validation: a fast yes/no check compiled from the schema, jsonschema to explain.

jsonschema's validator costs ~40 µs for a typical action's fields, more than our whole mapping
budget. Most payloads are valid, so we compile the schema's common keywords into closures that
only answer "valid?"; when the answer is no (or the schema uses a keyword the fast path does not
know), jsonschema (Draft 2020-12, with our format checker) runs and lists every problem. The fast
path never decides alone that a payload is invalid, and a property test checks that it agrees
with jsonschema.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError, ValidationError

from engine.errors import Problem, SpecError
from engine.values._checks import TYPE_CHECKS, is_address, is_full_date, is_rfc3339_datetime

Check = Callable[[Any], bool]

#: Keywords the fast path does not implement: a schema using any of them is checked by
#: jsonschema alone. Any other keyword the fast path does not know is an annotation (title,
#: description, default, `x-…` extensions, `$id`…) and cannot change validity.
_UNSUPPORTED = frozenset({
    "$ref", "$dynamicRef", "$recursiveRef", "patternProperties", "propertyNames", "prefixItems",
    "contains", "minContains", "maxContains", "uniqueItems", "multipleOf", "dependentRequired",
    "dependentSchemas", "unevaluatedItems", "unevaluatedProperties",
})


def make_format_checker() -> FormatChecker:
    """jsonschema's checker with real `email`, `date-time` and `date` rules.

    jsonschema's own `email` check only looks for an `@`, and its `date-time` check is skipped
    silently unless an optional package is installed; ours are strict and always on.
    """
    checker = FormatChecker()
    for name, rule in (("email", is_address), ("date-time", is_rfc3339_datetime), ("date", is_full_date)):
        checker.checks(name)(_string_rule(rule))
    return checker


def _string_rule(rule: Callable[[str], bool]) -> Callable[[object], bool]:
    def check(instance: object) -> bool:
        return not isinstance(instance, str) or rule(instance)
    return check


FORMAT_CHECKER = make_format_checker()


class SchemaValidator:
    """One compiled schema: `is_valid` (fast) and `problems` (every violation, with its field)."""

    def __init__(self, schema: dict[str, Any], *, file: str | None = None, path: str = "$") -> None:
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            where = path + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in exc.absolute_path)
            raise SpecError(f"not a valid JSON Schema: {exc.message}", file=file, path=where) from None
        self.schema = schema
        self._full = Draft202012Validator(schema, format_checker=FORMAT_CHECKER)
        fast = _compile(schema)
        self.is_fast = fast is not None
        self._fast: Check = fast if fast is not None else self._full.is_valid

    def is_valid(self, instance: Any) -> bool:
        return self._fast(instance)

    def problems(self, instance: Any) -> list[Problem]:
        """Every violation as Problem(field path, message), in a stable order."""
        seen: set[tuple[str, str]] = set()
        out: list[Problem] = []
        errors = sorted(self._full.iter_errors(instance), key=lambda e: (list(map(str, e.absolute_path)),
                                                                        list(map(str, e.schema_path))))
        for error in errors:
            for problem in _describe(error, self.schema):
                key = (problem.field, problem.message)
                if key not in seen:
                    seen.add(key)
                    out.append(problem)
        return out


def field_path(parts: Iterable[Any]) -> str:
    """`["dataFields", "AGE"]` → `dataFields.AGE`; list indexes as `[0]`."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _describe(error: ValidationError, root: dict[str, Any]) -> list[Problem]:
    base = list(error.absolute_path)
    kind = error.validator
    if kind == "required" and isinstance(error.instance, dict):
        condition = _condition_text(error, root)
        missing = [name for name in error.validator_value if name not in error.instance]
        return [Problem(field_path([*base, name]), "is required" + condition) for name in missing]
    if kind == "type":
        wanted = error.validator_value
        wanted_text = " or ".join(wanted) if isinstance(wanted, list) else wanted
        return [Problem(field_path(base), f"expected {wanted_text}, got {_describe_value(error.instance)}")]
    if kind == "format":
        return [Problem(field_path(base), f"is not a valid {error.validator_value}: {error.instance!r}")]
    if kind == "enum":
        allowed = ", ".join(repr(v) for v in error.validator_value)
        return [Problem(field_path(base), f"must be one of {allowed}, got {error.instance!r}")]
    if kind == "const":
        return [Problem(field_path(base), f"must be {error.validator_value!r}, got {error.instance!r}")]
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        extra = [key for key in error.instance if key not in known]
        return [Problem(field_path([*base, key]), "is not a field of this action") for key in extra] or [
            Problem(field_path(base), error.message)]
    return [Problem(field_path(base), error.message)]


def _describe_value(value: Any) -> str:
    names = {bool: "boolean", int: "number", float: "number", str: "string", list: "array",
             dict: "object", type(None): "null"}
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{names.get(type(value), type(value).__name__)} {text}"


def _condition_text(error: ValidationError, root: dict[str, Any]) -> str:
    """For a `required` inside `if/then`: " when channel is 'email'" (read from the `if`)."""
    path = list(error.schema_path)
    if len(path) < 2 or path[-2] != "then":
        return ""
    node: Any = root
    for part in path[:-2]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return ""
    condition = node.get("if") if isinstance(node, dict) else None
    props = condition.get("properties") if isinstance(condition, dict) else None
    if not isinstance(props, dict):
        return ""
    parts = []
    for name, sub in props.items():
        if isinstance(sub, dict) and "const" in sub:
            parts.append(f"{name} is {sub['const']!r}")
        elif isinstance(sub, dict) and isinstance(sub.get("enum"), list):
            parts.append(f"{name} is one of {', '.join(repr(v) for v in sub['enum'])}")
    return f" when {' and '.join(parts)}" if parts else ""


# ---------------------------------------------------------------------------------------------
# The fast path: schema → closure answering "valid?"; None when a keyword is not supported.

def _compile(schema: Any) -> Check | None:
    if schema is True or schema == {}:
        return _always
    if schema is False:
        return _never
    if not isinstance(schema, dict):
        return None
    checks: list[Check] = []
    for key, value in schema.items():
        if key in _UNSUPPORTED:
            return None
        builder = _KEYWORDS.get(key)
        if builder is None:
            continue  # an annotation, or "then"/"else" (read by "if")
        check = builder(value, schema)
        if check is None:
            return None
        checks.append(check)
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda v: first(v) and second(v)

    def every(v: Any) -> bool:
        for check in checks:  # noqa: SIM110  (a plain loop is faster here)
            if not check(v):
                return False
        return True
    return every


def _always(value: Any) -> bool:
    return True


def _never(value: Any) -> bool:
    return False


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPE_CHECKS: dict[str, Check] = TYPE_CHECKS


def _k_type(value: Any, schema: dict[str, Any]) -> Check | None:
    names = value if isinstance(value, list) else [value]
    checks = [_TYPE_CHECKS.get(name) for name in names]
    if any(check is None for check in checks):
        return None
    if len(checks) == 1:
        return checks[0]
    return lambda v: any(check(v) for check in checks)  # type: ignore[misc]


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, but true is not 1; deep for arrays and objects."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    return type(a) is type(b) and a == b


def _k_enum(value: Any, schema: dict[str, Any]) -> Check | None:
    if not isinstance(value, list):
        return None
    if all(isinstance(item, str) for item in value):
        allowed = frozenset(value)
        return lambda v: isinstance(v, str) and v in allowed
    return lambda v: any(json_equal(v, item) for item in value)


def _k_const(value: Any, schema: dict[str, Any]) -> Check | None:
    if isinstance(value, str):
        return lambda v: v == value and isinstance(v, str)
    return lambda v: json_equal(v, value)


def _k_properties(value: Any, schema: dict[str, Any]) -> Check | None:
    if not isinstance(value, dict):
        return None
    pairs = []
    for name, sub in value.items():
        check = _compile(sub)
        if check is None:
            return None
        if check is not _always:
            pairs.append((name, check))

    def properties(v: Any) -> bool:
        if not isinstance(v, dict):
            return True
        for name, check in pairs:  # noqa: SIM110  (a plain loop is faster here)
            if name in v and not check(v[name]):
                return False
        return True
    return properties


def _k_required(value: Any, schema: dict[str, Any]) -> Check | None:
    names = tuple(value)
    return lambda v: not isinstance(v, dict) or all(name in v for name in names)


def _k_additional(value: Any, schema: dict[str, Any]) -> Check | None:
    if "patternProperties" in schema:
        return None
    known = frozenset(schema.get("properties", {}))
    check = _compile(value)
    if check is None:
        return None
    if check is _always:
        return _always

    def additional(v: Any) -> bool:
        if not isinstance(v, dict):
            return True
        return all(check(item) for key, item in v.items() if key not in known)
    return additional


def _k_items(value: Any, schema: dict[str, Any]) -> Check | None:
    if "prefixItems" in schema:
        return None
    check = _compile(value)
    if check is None:
        return None
    return lambda v: not isinstance(v, list) or all(check(item) for item in v)


Builder = Callable[[Any, dict[str, Any]], Check | None]


def _k_bound(test: Callable[[Any, Any], bool], applies: Check) -> Builder:
    def build(limit: Any, schema: dict[str, Any]) -> Check | None:
        if not _is_number(limit):
            return None
        return lambda v: not applies(v) or test(v, limit)
    return build


def _k_pattern(value: Any, schema: dict[str, Any]) -> Check | None:
    try:
        regex = re.compile(value)
    except (re.error, TypeError):
        return None
    return lambda v: not isinstance(v, str) or regex.search(v) is not None


def _k_format(value: Any, schema: dict[str, Any]) -> Check | None:
    conforms = FORMAT_CHECKER.conforms
    return lambda v: conforms(v, value)


def _subschemas(value: Any) -> list[Check] | None:
    if not isinstance(value, list) or not value:
        return None
    checks = [_compile(sub) for sub in value]
    return None if any(c is None for c in checks) else checks  # type: ignore[return-value]


def _k_all_of(value: Any, schema: dict[str, Any]) -> Check | None:
    checks = _subschemas(value)
    if checks is None:
        return None

    def all_of(v: Any) -> bool:
        for check in checks:  # noqa: SIM110  (a plain loop is faster here)
            if not check(v):
                return False
        return True
    return all_of


def _k_any_of(value: Any, schema: dict[str, Any]) -> Check | None:
    checks = _subschemas(value)
    return None if checks is None else (lambda v: any(c(v) for c in checks))


def _k_one_of(value: Any, schema: dict[str, Any]) -> Check | None:
    checks = _subschemas(value)
    return None if checks is None else (lambda v: sum(1 for c in checks if c(v)) == 1)


def _k_not(value: Any, schema: dict[str, Any]) -> Check | None:
    check = _compile(value)
    return None if check is None else (lambda v: not check(v))


def _k_if(value: Any, schema: dict[str, Any]) -> Check | None:
    condition = _compile(value)
    then = _compile(schema.get("then", True))
    otherwise = _compile(schema.get("else", True))
    if condition is None or then is None or otherwise is None:
        return None
    return lambda v: then(v) if condition(v) else otherwise(v)


_is_str: Check = _TYPE_CHECKS["string"]
_is_list: Check = _TYPE_CHECKS["array"]
_is_dict: Check = _TYPE_CHECKS["object"]

_KEYWORDS: dict[str, Builder] = {
    "type": _k_type,
    "enum": _k_enum,
    "const": _k_const,
    "properties": _k_properties,
    "required": _k_required,
    "additionalProperties": _k_additional,
    "items": _k_items,
    "minimum": _k_bound(lambda v, n: v >= n, _is_number),
    "maximum": _k_bound(lambda v, n: v <= n, _is_number),
    "exclusiveMinimum": _k_bound(lambda v, n: v > n, _is_number),
    "exclusiveMaximum": _k_bound(lambda v, n: v < n, _is_number),
    "minLength": _k_bound(lambda v, n: len(v) >= n, _is_str),
    "maxLength": _k_bound(lambda v, n: len(v) <= n, _is_str),
    "minItems": _k_bound(lambda v, n: len(v) >= n, _is_list),
    "maxItems": _k_bound(lambda v, n: len(v) <= n, _is_list),
    "minProperties": _k_bound(lambda v, n: len(v) >= n, _is_dict),
    "maxProperties": _k_bound(lambda v, n: len(v) <= n, _is_dict),
    "pattern": _k_pattern,
    "format": _k_format,
    "allOf": _k_all_of,
    "anyOf": _k_any_of,
    "oneOf": _k_one_of,
    "not": _k_not,
    "if": _k_if,
}

__all__ = ["FORMAT_CHECKER", "SchemaValidator", "field_path", "json_equal", "make_format_checker"]
