"""Mapping an event into an action's payload: merge, evaluate, coerce, transform, validate.

`build_payload` is the one entry point the executor calls per event. Everything that can be
done once per schema (x-transform compilation, the fast validator) is cached in a
`PayloadBuilder`; evaluating a typical six-field action costs a few microseconds.

Coercion is lossless: a value changes type only when nothing is lost or guessed
(docs/values.md has the table). Every problem (a function refusing its input, an `x-transform`
failing, a schema violation) is collected and raised together as one PayloadValidationError.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.errors import PayloadValidationError, Problem, SpecError
from engine.values._checks import TYPE_CHECKS, json_type
from engine.values.compiler import CompiledValue
from engine.values.expressions import CompiledExpression, compile_jmespath
from engine.values.functions import parse_number
from engine.values.schema import SchemaValidator, field_path

Coercer = Callable[[Any], Any]


class PayloadBuilder:
    """Everything derived once from an action's `fields` schema."""

    def __init__(self, fields_schema: dict[str, Any], *, file: str | None = None,
                 path: str = "$.fields") -> None:
        if not isinstance(fields_schema, dict):
            raise SpecError("fields must be a JSON Schema object", file=file, path=path)
        self.schema = fields_schema
        self.validator = SchemaValidator(fields_schema, file=file, path=path)
        properties = fields_schema.get("properties", {})
        self._coercers: dict[str, Coercer] = {}
        self.transforms: dict[str, CompiledExpression] = {}
        for name, sub in properties.items():
            if not isinstance(sub, dict):
                continue
            coercer = coercer_for(sub)
            if coercer is not None:
                self._coercers[name] = coercer
            transform = sub.get("x-transform")
            if transform is not None:
                self.transforms[name] = compile_jmespath(
                    transform, file=file, path=f"{path}.properties.{name}.x-transform")
        extra = fields_schema.get("additionalProperties")
        self._extra_coercer = coercer_for(extra) if isinstance(extra, dict) else None

    def build(self, defaults: Mapping[str, CompiledValue], mapping: Mapping[str, CompiledValue] | None,
              event: Any, *, action: str | None = None) -> dict[str, Any]:
        """The validated payload for `event`, or one PayloadValidationError with every problem."""
        if not isinstance(event, dict):
            raise PayloadValidationError(
                "", action=action,
                problems=[Problem("", f"the event must be a JSON object, got {json_type(event)}")])
        merged = dict(defaults)
        if mapping:
            merged.update(mapping)
        payload: dict[str, Any] = {}
        problems: list[Problem] = []
        failed: set[str] = set()
        coercers = self._coercers
        transforms = self.transforms
        for name, value in merged.items():
            try:
                result = value.evaluate(event, field=name)
            except PayloadValidationError as exc:
                problems.extend(exc.problems)
                failed.add(name)
                continue
            if result is None:
                continue
            coercer = coercers.get(name, self._extra_coercer)
            if coercer is not None:
                result = coercer(result)
            transform = transforms.get(name)
            if transform is not None:
                try:
                    result = transform.search(result, field=name)
                except PayloadValidationError as exc:
                    problems.extend(exc.problems)
                    failed.add(name)
                if result is None:
                    continue
            payload[name] = result
        if not self.validator.is_valid(payload):
            for problem in self.validator.problems(payload):
                if problem.field not in failed:
                    problems.append(problem)
        if problems:
            raise PayloadValidationError("", problems=problems, action=action)
        return payload


_CACHE: dict[int, tuple[dict[str, Any], PayloadBuilder]] = {}
_CACHE_LIMIT = 512


def payload_builder(fields_schema: dict[str, Any], *, file: str | None = None,
                    path: str = "$.fields") -> PayloadBuilder:
    """The cached PayloadBuilder for this schema object (compiled on first use)."""
    entry = _CACHE.get(id(fields_schema))
    if entry is not None and entry[0] is fields_schema:
        return entry[1]
    builder = PayloadBuilder(fields_schema, file=file, path=path)
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[id(fields_schema)] = (fields_schema, builder)
    return builder


def build_payload(fields_schema: dict[str, Any], defaults: Mapping[str, CompiledValue],
                  mapping: Mapping[str, CompiledValue] | None, event: Any, *,
                  action: str | None = None) -> dict[str, Any]:
    """Merge the subscription's mapping over the defaults, evaluate over `event`, coerce
    losslessly to the declared types, apply `x-transform`, validate; raise one
    PayloadValidationError listing every problem (field, message).

    The compiled form of `fields_schema` is cached by object identity: pass the same dict
    each time (the loaded action's) rather than a copy.
    """
    return payload_builder(fields_schema).build(defaults, mapping, event, action=action)


# ---------------------------------------------------------------------------------------------
# Lossless coercion to declared JSON Schema types.

def coercer_for(schema: Any) -> Coercer | None:
    """A function converting a value towards `schema`'s type, or None when nothing applies.

    Values that cannot be converted without loss are returned unchanged, so that validation
    reports them with the declared type.
    """
    if not isinstance(schema, dict):
        return None
    types = _declared_types(schema)
    nested = _nested_coercer(schema, types)
    scalar = [_SCALAR[name] for name in types if name in _SCALAR]
    if not scalar and nested is None:
        return None
    matchers = [TYPE_CHECKS[name] for name in types if name in TYPE_CHECKS]
    if len(matchers) == 1 and len(scalar) <= 1:
        return _single_coercer(matchers[0], scalar[0] if scalar else None, nested)

    def coerce(value: Any) -> Any:
        if any(match(value) for match in matchers):
            return nested(value) if nested is not None else value
        for convert in scalar:
            converted = convert(value)
            if converted is not _NO:
                return converted
        return value
    return coerce


def _single_coercer(match: Callable[[Any], bool], convert: Coercer | None,
                    nested: Coercer | None) -> Coercer:
    """The common case (one declared type), without loops: it runs for every field of every event."""
    if nested is not None:
        return lambda value: nested(value) if match(value) else value
    assert convert is not None

    def coerce(value: Any) -> Any:
        if match(value):
            return value
        converted = convert(value)
        return value if converted is _NO else converted
    return coerce


def _declared_types(schema: dict[str, Any]) -> list[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return [t for t in declared if isinstance(t, str)]
    # No type: infer it from enum/const when they are all of one kind (e.g. numeric list ids).
    options = schema["enum"] if isinstance(schema.get("enum"), list) else (
        [schema["const"]] if "const" in schema else [])
    kinds = {json_type(option) for option in options}
    if len(kinds) == 1:
        return list(kinds)
    return []


def _nested_coercer(schema: dict[str, Any], types: list[str]) -> Coercer | None:
    if "object" in types and isinstance(schema.get("properties"), dict):
        children = {name: c for name, sub in schema["properties"].items()
                    if (c := coercer_for(sub)) is not None}
        extra = schema.get("additionalProperties")
        extra_coercer = coercer_for(extra) if isinstance(extra, dict) else None
        if not children and extra_coercer is None:
            return None

        def coerce_object(value: Any) -> Any:
            if not isinstance(value, dict):
                return value
            out = {}
            for key, item in value.items():
                coercer = children.get(key, extra_coercer)
                out[key] = coercer(item) if coercer is not None and item is not None else item
            return out
        return coerce_object
    if "array" in types and isinstance(schema.get("items"), dict):
        item_coercer = coercer_for(schema["items"])
        if item_coercer is None:
            return None
        return lambda value: [item_coercer(item) for item in value] if isinstance(value, list) else value
    return None


class _Missing:
    pass


_NO: Any = _Missing()


def _to_number(value: Any) -> Any:
    if isinstance(value, str):
        number = parse_number(value)
        return _NO if number is None else number
    return _NO


def _to_integer(value: Any) -> Any:
    number = _to_number(value)
    if isinstance(number, float):
        return int(number) if number.is_integer() else _NO
    return number


def _to_boolean(value: Any) -> Any:
    if isinstance(value, str):
        word = value.strip().lower()
        if word == "true":
            return True
        if word == "false":
            return False
    return _NO


def _to_string(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _NO
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return _NO
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    return str(value)


_SCALAR: dict[str, Coercer] = {
    "number": _to_number,
    "integer": _to_integer,
    "boolean": _to_boolean,
    "string": _to_string,
}





__all__ = ["PayloadBuilder", "build_payload", "coercer_for", "field_path", "payload_builder"]
