"""build_payload: merge, evaluate, lossless coercion, x-transform, validation, every problem at once."""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import PayloadValidationError, SpecError
from engine.values import CompiledValue, build_payload, compile_value
from engine.values.mapping import PayloadBuilder, coercer_for, payload_builder

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["channelIdentifier", "listId"],
    "properties": {
        "channelIdentifier": {"enum": ["email", "mobileNumber"]},
        "emailIdentifier": {"type": "string", "format": "email"},
        "mobileNumberIdentifier": {"type": "string", "x-transform": "phone(@)"},
        "listId": {"type": "number"},
        "vip": {"type": "boolean"},
        "joined": {"type": "string", "format": "date-time", "x-transform": "iso8601(@)"},
        "dataFields": {"type": "object", "properties": {"AGE": {"type": "integer"}}},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "allOf": [
        {"if": {"properties": {"channelIdentifier": {"const": "email"}}},
         "then": {"required": ["emailIdentifier"]}},
        {"if": {"properties": {"channelIdentifier": {"const": "mobileNumber"}}},
         "then": {"required": ["mobileNumberIdentifier"]}},
    ],
}


def compiled(raw: dict[str, Any]) -> dict[str, CompiledValue]:
    return {key: compile_value(value, path=f"$.{key}") for key, value in raw.items()}


DEFAULTS = compiled({
    "channelIdentifier": "email",
    "emailIdentifier": {"@jmespath": "traits.email || properties.email"},
    "mobileNumberIdentifier": {"@jmespath": "traits.phone || properties.phone"},
})


def build(event: Any, mapping: dict[str, Any] | None = None) -> dict[str, Any]:
    return build_payload(SCHEMA, DEFAULTS, compiled(mapping) if mapping else None, event, action="act")


def problems(event: Any, mapping: dict[str, Any] | None = None) -> dict[str, str]:
    with pytest.raises(PayloadValidationError) as info:
        build(event, mapping)
    assert info.value.action == "act"
    return {p.field: p.message for p in info.value.problems}


def test_defaults_and_mapping_merge() -> None:
    event = {"traits": {"email": "a@x.com", "phone": "+44 7700-900001"}, "properties": {"list": "1001"}}
    assert build(event, {"listId": {"@jmespath": "properties.list"}}) == {
        "channelIdentifier": "email", "emailIdentifier": "a@x.com",
        "mobileNumberIdentifier": "447700900001", "listId": 1001}


def test_mapping_overrides_a_default() -> None:
    event = {"traits": {"email": "a@x.com"}, "context": {"traits": {"email": "ctx@x.com"}}}
    payload = build(event, {"listId": 5, "emailIdentifier": {"@path": "$.context.traits.email"}})
    assert payload["emailIdentifier"] == "ctx@x.com"


@pytest.mark.parametrize(("schema", "value", "result"), [
    ({"type": "number"}, "42", 42),
    ({"type": "number"}, " 1.5 ", 1.5),
    ({"type": "number"}, "-3e2", -300.0),
    ({"type": "number"}, 7, 7),
    ({"type": "integer"}, "42", 42),
    ({"type": "integer"}, "4.0", 4),
    ({"type": "boolean"}, "true", True),
    ({"type": "boolean"}, "FALSE", False),
    ({"type": "string"}, 42, "42"),
    ({"type": "string"}, 1.5, "1.5"),
    ({"type": "string"}, 3.0, "3"),
    ({"type": ["number", "null"]}, "5", 5),
    ({"enum": [1001, 1002]}, "1001", 1001),
    ({"type": "array", "items": {"type": "number"}}, ["1", 2], [1, 2]),
    ({"type": "object", "properties": {"n": {"type": "number"}}}, {"n": "3", "m": "x"}, {"n": 3, "m": "x"}),
])
def test_lossless_coercion(schema: dict[str, Any], value: Any, result: Any) -> None:
    coerce = coercer_for(schema)
    assert coerce is not None
    converted = coerce(value)
    assert converted == result
    assert type(converted) is type(result)


@pytest.mark.parametrize(("schema", "value"), [
    ({"type": "number"}, "yes"), ({"type": "number"}, "1,000"), ({"type": "number"}, True),
    ({"type": "number"}, "0x1A"), ({"type": "number"}, "Infinity"), ({"type": "number"}, ""),
    ({"type": "integer"}, "4.5"), ({"type": "boolean"}, "yes"), ({"type": "boolean"}, 1),
    ({"type": "string"}, True), ({"type": "string"}, {"a": 1}), ({"type": "array"}, "a"),
])
def test_lossy_values_stay_as_they_are(schema: dict[str, Any], value: Any) -> None:
    coerce = coercer_for(schema)
    assert coerce is None or coerce(value) == value


def test_wrong_types_are_reported_with_their_field() -> None:
    mapping = {"listId": "yes", "vip": "maybe", "tags": ["a", 5, True]}
    found = problems({"traits": {"email": "a@x.com"}}, mapping)
    assert found == {"listId": "expected number, got string 'yes'",
                     "vip": "expected boolean, got string 'maybe'",
                     "tags[2]": "expected string, got boolean True"}


def test_every_problem_at_once() -> None:
    found = problems({"traits": {"email": "not-an-email", "phone": "12"}},
                     {"channelIdentifier": "fax", "joined": "someday", "dataFields": {"AGE": "old"}})
    assert set(found) == {"emailIdentifier", "mobileNumberIdentifier", "listId", "channelIdentifier",
                          "joined", "dataFields.AGE"}
    assert found["listId"] == "is required"
    assert found["mobileNumberIdentifier"] == "Invalid mobile number value"
    assert "invalid date" in found["joined"]
    assert "email" in found["emailIdentifier"]


def test_conditional_required() -> None:
    assert problems({}, {"listId": 1}) == {"emailIdentifier": "is required when channelIdentifier is 'email'"}
    found = problems({"traits": {"email": "a@x.com"}}, {"listId": 1, "channelIdentifier": "mobileNumber"})
    assert found == {"mobileNumberIdentifier": "is required when channelIdentifier is 'mobileNumber'"}
    payload = build({"traits": {"phone": "07700 900001"}}, {"listId": 1, "channelIdentifier": "mobileNumber"})
    assert payload["mobileNumberIdentifier"] == "07700900001"


def test_x_transform_applies_after_coercion() -> None:
    payload = build({"traits": {"email": "a@x.com"}}, {"listId": 1, "joined": "2024-01-05"})
    assert payload["joined"] == "2024-01-05T00:00:00.000Z"


def test_formats_are_checked() -> None:
    found = problems({"traits": {"email": "a@x"}}, {"listId": 1})
    assert found == {"emailIdentifier": "is not a valid email: 'a@x'"}
    schema = {"type": "object", "properties": {"at": {"type": "string", "format": "date-time"}}}
    with pytest.raises(PayloadValidationError) as info:
        build_payload(schema, {}, compiled({"at": "2024-01-05T10:00:00"}), {})
    assert info.value.fields == ["at"]
    good = "2024-01-05T10:00:00Z"
    assert build_payload(schema, {}, compiled({"at": good}), {}) == {"at": good}


@pytest.mark.parametrize("event", [[1, 2], "track", None, 5])
def test_event_must_be_an_object(event: Any) -> None:
    with pytest.raises(PayloadValidationError) as info:
        build(event, {"listId": 1})
    assert "must be a JSON object" in str(info.value)


def test_function_errors_join_schema_errors() -> None:
    mapping = {"listId": {"@jmespath": "require(properties.list, 'a list is needed')"}}
    found = problems({"traits": {"email": "bad"}}, mapping)
    assert found == {"listId": "a list is needed", "emailIdentifier": "is not a valid email: 'bad'"}


def test_unknown_fields_refused_when_the_schema_says_so() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}
    with pytest.raises(PayloadValidationError) as info:
        build_payload(schema, {}, compiled({"a": "x", "b": 1}), {})
    assert info.value.fields == ["b"]


def test_null_results_are_left_out() -> None:
    payload = build({"traits": {"email": "a@x.com"}}, {"listId": 1, "vip": {"@jmespath": "traits.vip"}})
    assert "vip" not in payload and "mobileNumberIdentifier" not in payload


def test_builder_is_cached_per_schema_object() -> None:
    assert payload_builder(SCHEMA) is payload_builder(SCHEMA)
    assert payload_builder(SCHEMA).validator.is_fast


def test_bad_x_transform_is_a_load_error() -> None:
    with pytest.raises(SpecError) as info:
        PayloadBuilder({"type": "object", "properties": {"a": {"x-transform": "nope(@)"}}}, file="a.json")
    assert info.value.path == "$.fields.properties.a.x-transform"


def test_bad_schema_is_a_load_error() -> None:
    with pytest.raises(SpecError):
        PayloadBuilder({"type": "object", "properties": {"a": {"type": "text"}}})


def test_annotations_keep_the_fast_path() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "number", "label": "N", "x-dynamic": "lists",
                                                     "$id": "urn:n", "examples": [1]}}}
    assert PayloadBuilder(schema).validator.is_fast


def test_enum_of_mixed_numbers_still_coerces() -> None:
    coerce = coercer_for({"enum": [1, 2.5]})
    assert coerce is not None and coerce("2.5") == 2.5


def test_unsupported_keywords_fall_back_to_jsonschema() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "number", "multipleOf": 5}}}
    builder = PayloadBuilder(schema)
    assert not builder.validator.is_fast
    assert builder.build({}, compiled({"n": "10"}), {}) == {"n": 10}
    with pytest.raises(PayloadValidationError):
        builder.build({}, compiled({"n": 7}), {})
