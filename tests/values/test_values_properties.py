"""Laws of the value language, the functions, coercion and the fast paths (hypothesis)."""

from __future__ import annotations

from typing import Any

import jmespath
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from engine.errors import PayloadValidationError
from engine.values import compile_jmespath, compile_value
from engine.values.functions import ENGINE_FUNCTIONS
from engine.values.mapping import coercer_for
from engine.values.schema import FORMAT_CHECKER, SchemaValidator

FAST = settings(max_examples=150, deadline=None)

finite = st.floats(allow_nan=False, allow_infinity=False)
scalars = st.none() | st.booleans() | st.integers(-10**6, 10**6) | finite | st.text(max_size=8)
keys = st.text(st.characters(codec="ascii", exclude_characters="@"), min_size=1, max_size=6)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12)


def without_null_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_null_keys(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_null_keys(v) for v in value]
    return value


@FAST
@given(json_values, json_values)
def test_literal_is_identity(value: Any, context: Any) -> None:
    assert compile_value({"@literal": value}).evaluate(context) == value


@FAST
@given(json_values)
def test_plain_json_is_itself_minus_null_keys(value: Any) -> None:
    compiled = compile_value(value)
    assert compiled.is_constant
    assert compiled.evaluate({}) == without_null_keys(value)


atoms = st.text(st.sampled_from("abcxyzABC019!#$%&'*+/=?^_`{|}~-"), min_size=1, max_size=6)
labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,5}[a-z0-9])?", fullmatch=True)
addresses = st.builds(lambda local, hosts, tld: f"{'.'.join(local)}@{'.'.join(hosts)}.{tld}",
                      st.lists(atoms, min_size=1, max_size=3), st.lists(labels, min_size=1, max_size=3),
                      st.from_regex(r"[a-zA-Z]{2,6}", fullmatch=True))


@FAST
@given(st.lists(addresses | st.emails(), max_size=5))
def test_emails_of_joined_addresses_is_the_list(xs: list[str]) -> None:
    assert compile_jmespath("emails(join(',', xs))").search({"xs": xs}) == xs


@FAST
@given(st.text(max_size=30) | st.integers(0, 10**15))
def test_phone_is_digits_only_and_idempotent(value: Any) -> None:
    phone = compile_jmespath("phone(v)")
    try:
        once = phone.search({"v": value})
    except PayloadValidationError:
        digits = [c for c in str(value) if c in "0123456789"]
        assert len(digits) < 7
        return
    assert once.isascii() and once.isdigit() and len(once) >= 7
    assert phone.search({"v": once}) == once


@FAST
@given(st.datetimes(timezones=st.none() | st.timezones()))
def test_iso8601_is_idempotent(moment: Any) -> None:
    iso = compile_jmespath("iso8601(v)")
    once = iso.search({"v": moment.isoformat()})
    assert iso.search({"v": once}) == once


@FAST
@given(st.integers() | st.floats(allow_nan=False, allow_infinity=False))
def test_number_to_string_and_back_is_lossless(number: float) -> None:
    to_string, to_number = coercer_for({"type": "string"}), coercer_for({"type": "number"})
    assert to_string is not None and to_number is not None
    assert to_number(to_string(number)) == number


EXPRESSIONS = [
    "a", "a.b", "a.b.c", "a[0]", "a[-1].b", "a.b[1]", "a || b", "a && b", "!a", "a.b || c[0]", "@",
    "`5`", "'s'", "a | b", "{x: a, y: b.c}", "[a, b]", "length(a)", "not_null(a, b)", "coalesce(a, b)",
    "default(a, 'z')", "type(a)", "a.b | [0]", "!a.b", "a[0][0]",
]
data = st.recursive(st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["", "x"]),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3), max_leaves=10)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(EXPRESSIONS), data)
def test_fast_evaluator_matches_jmespath(expr: str, value: Any) -> None:
    options = jmespath.Options(custom_functions=ENGINE_FUNCTIONS)
    try:
        expected: Any = jmespath.search(expr, value, options=options)
    except jmespath.exceptions.JMESPathError as exc:
        expected = type(exc)
    try:
        actual: Any = compile_jmespath(expr).search(value)
    except PayloadValidationError as exc:
        actual = type(exc.__cause__)
    assert actual == expected and type(actual) is type(expected)


SCHEMAS: list[dict[str, Any]] = [
    {"type": "object", "required": ["c"], "properties": {
        "c": {"enum": ["email", "mobile"]}, "e": {"type": "string", "format": "email"},
        "n": {"type": "number", "minimum": 0}, "i": {"type": "integer"}, "b": {"type": "boolean"},
        "s": {"type": "string", "minLength": 1, "maxLength": 4, "pattern": "^[a-z]"},
        "d": {"type": "string", "format": "date-time"},
        "l": {"type": "array", "items": {"type": ["number", "null"]}, "maxItems": 2},
        "o": {"type": "object", "properties": {"k": {"const": 1}}, "additionalProperties": False}},
     "allOf": [{"if": {"properties": {"c": {"const": "email"}}}, "then": {"required": ["e"]},
                "else": {"required": ["n"]}}]},
    {"anyOf": [{"type": "string"}, {"type": "number", "exclusiveMaximum": 3}], "not": {"const": 2}},
    {"oneOf": [{"type": "integer"}, {"type": "number", "minimum": 1.5}]},
]
payload_values = st.none() | st.booleans() | st.integers(-2, 3) | st.sampled_from(
    [1.0, 1.5, 2.5, "", "a", "abcde", "Zed", "email", "mobile", "a@x.com", "a@x", "2024-01-05T10:00:00Z",
     "2024-01-05", [1, None], [1, 2, 3], ["x"], {"k": 1}, {"k": True}, {"z": 1}])
payloads = st.dictionaries(st.sampled_from(list("cenibsdlo")), payload_values, max_size=6) | payload_values


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(range(len(SCHEMAS))), payloads)
def test_fast_validator_agrees_with_jsonschema(index: int, payload: Any) -> None:
    schema = SCHEMAS[index]
    validator = SchemaValidator(schema)
    assert validator.is_fast
    reference = Draft202012Validator(schema, format_checker=FORMAT_CHECKER)
    assert validator.is_valid(payload) == reference.is_valid(payload)
    assert bool(validator.problems(payload)) == (not reference.is_valid(payload))
