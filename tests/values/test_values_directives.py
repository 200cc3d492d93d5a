"""Every directive of the value language, and what a compiled value says it references."""

from __future__ import annotations

from typing import Any

import pytest

from engine.values import compile_value, path_to_jmespath

EVENT: dict[str, Any] = {
    "type": "track",
    "event": "Order Completed",
    "userId": "u1",
    "traits": {"email": "ann@example.com", "name": "Ann", "age": 41, "vip": True, "empty": ""},
    "properties": {"total": 12.5, "count": 0, "items": [{"sku": "A1"}, {"sku": "B2"}],
                   "tags": ["x", "y"], "first name": "Ann"},
    "integrations": {"Actions Amplitude": {"session_id": "s-9"}},
}


def ev(raw: Any, context: Any = None) -> Any:
    return compile_value(raw).evaluate(EVENT if context is None else context)


def test_plain_json_is_itself() -> None:
    raw = {"a": 1, "b": [1, "two", {"c": False}], "d": {"e": "f"}}
    assert ev(raw) == raw
    assert compile_value(raw).is_constant


def test_objects_drop_null_keys_lists_keep_nulls() -> None:
    raw = {"a": None, "b": {"@jmespath": "traits.missing"}, "c": [None, {"@jmespath": "traits.missing"}],
           "d": {"e": None}}
    assert ev(raw) == {"c": [None, None], "d": {}}


def test_constant_results_are_fresh_copies() -> None:
    value = compile_value({"a": {"b": [1]}})
    first = value.evaluate({})
    first["a"]["b"].append(2)
    assert value.evaluate({}) == {"a": {"b": [1]}}


def test_jmespath_directive() -> None:
    assert ev({"@jmespath": "traits.email || properties.email"}) == "ann@example.com"
    assert ev({"@jmespath": "properties.items[1].sku"}) == "B2"
    assert ev({"@jmespath": "properties.items[].sku"}) == ["A1", "B2"]
    assert ev({"@jmespath": "length(properties.tags)"}) == 2
    assert ev({"x": {"@jmespath": "upper(traits.name)"}}) == {"x": "ANN"}


def test_template_directive() -> None:
    assert ev({"@template": "Hi {{ traits.name }} ({{userId}})"}) == "Hi Ann (u1)"
    assert ev({"@template": "Hello, {{traits.fullName}}!"}) == "Hello, !"
    assert ev({"@template": "{{{traits.name}}}"}) == "Ann"
    assert ev({"@template": "no placeholders"}) == "no placeholders"
    assert compile_value({"@template": "no placeholders"}).is_constant


@pytest.mark.parametrize(("expr", "text"), [
    ("traits.age", "41"), ("properties.total", "12.5"), ("traits.vip", "true"),
    ("properties.tags", '["x","y"]'), ("properties.items[0]", '{"sku":"A1"}'), ("traits.nope", ""),
])
def test_template_renders_non_strings(expr: str, text: str) -> None:
    assert ev({"@template": "{{" + expr + "}}"}) == text


def test_template_does_not_escape_html() -> None:
    assert ev({"@template": "<b>{{ a }}</b>"}, {"a": "Tom & <Jerry>"}) == "<b>Tom & <Jerry></b>"


def test_if_when_uses_jmespath_truthiness() -> None:
    raw = {"@if": {"when": "traits.vip", "then": "yes", "else": "no"}}
    assert ev(raw) == "yes"
    assert ev(raw, {"traits": {"vip": False}}) == "no"
    # 0 is truthy in JMESPath, "" is not.
    assert ev({"@if": {"when": "properties.count", "then": 1, "else": 2}}) == 1
    assert ev({"@if": {"when": "traits.empty", "then": 1, "else": 2}}) == 2


def test_if_missing_branch_drops_the_key() -> None:
    raw = {"k": {"@if": {"exists": {"@path": "$.traits.nope"}, "then": True}}}
    assert ev(raw) == {}


def test_if_branches_may_be_directives() -> None:
    raw = {"@if": {"exists": {"@path": "$.traits.email"}, "then": {"@path": "$.traits.email"},
                   "else": {"@path": "$.properties.email"}}}
    assert ev(raw) == "ann@example.com"
    assert ev(raw, {"properties": {"email": "p@example.com"}}) == "p@example.com"


def test_literal_keeps_everything() -> None:
    raw = {"@literal": {"@path": "$.x", "n": None, "t": "{{x}}"}}
    assert ev(raw) == {"@path": "$.x", "n": None, "t": "{{x}}"}
    assert ev({"a": {"@literal": None}}) == {"a": None}


def test_path_directive() -> None:
    assert ev({"@path": "$.traits.email"}) == "ann@example.com"
    assert ev({"@path": "traits.email"}) == "ann@example.com"
    assert ev({"@path": "$.properties.items[0].sku"}) == "A1"
    assert ev({"@path": "$.integrations.Actions Amplitude.session_id"}) == "s-9"
    assert ev({"@path": "$.properties.first name"}) == "Ann"
    assert ev({"@path": "$.traits.email.nope"}) is None
    assert ev({"neat": {"@path": "$.oops"}}) == {}
    assert ev({"@path": "$."}) == EVENT
    assert ev({"@path": ""}) == EVENT


def test_path_translates_to_jmespath() -> None:
    assert path_to_jmespath("$.traits.email") == "traits.email"
    assert path_to_jmespath("$.a[0].b") == "a[0].b"
    assert path_to_jmespath("$.integrations.Actions Amplitude.x") == 'integrations."Actions Amplitude".x'
    assert path_to_jmespath("$.") == "@"


def test_references() -> None:
    value = compile_value({
        "a": {"@jmespath": "payload.email"},
        "b": {"@template": "{{ settings.region }}-{{ vars.identifier }}"},
        "c": {"@if": {"when": "steps.contact.status == `200`", "then": {"@path": "$.steps.lookup.body"}}},
    })
    assert value.references == {"payload", "settings", "vars", "steps"}
    assert value.step_refs == {"contact", "lookup"}
    assert value.var_refs == {"identifier"}
    assert not value.is_constant


def test_references_ignore_projection_insides() -> None:
    value = compile_value({"@jmespath": "payload.items[?price > `1`].sku"})
    assert value.references == {"payload"}


def test_dynamic_step_reference_is_a_star() -> None:
    assert compile_value({"@jmespath": "steps.*.body"}).step_refs == {"*"}


def test_source_tells_the_expression() -> None:
    assert compile_value({"@jmespath": "traits.email"}).source == "traits.email"
    assert compile_value({"@path": "$.traits.email"}).source == "$.traits.email"
    assert compile_value({"a": 1}).source == '{"a":1}'
