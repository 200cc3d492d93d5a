"""Mappings exported from Segment run unchanged, with mapping-kit's meaning.

Cases follow the behaviour documented in Segment's mapping-kit README and its tests (public
segmentio/action-destinations). Where we differ on purpose it is asserted and explained here
and in docs/values.md.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.values import build_payload, compile_value

PAYLOAD = {"a": 1, "b": True, "c": False, "d": None, "e": ""}


def run(raw: Any, data: Any) -> Any:
    return compile_value(raw).evaluate(data)


def test_readme_example() -> None:
    mapping = {"name": "Mr. Rogers", "neighborhood": {"@path": "$.properties.neighborhood"},
               "greeting": {"@template": "Won't you be my {{properties.noun}}?"}}
    event = {"type": "track", "event": "Sweater On",
             "context": {"library": {"name": "analytics.js", "version": "2.11.1"}},
             "properties": {"neighborhood": "Latrobe", "noun": "neighbor", "sweaterColor": "red"}}
    assert run(mapping, event) == {"name": "Mr. Rogers", "neighborhood": "Latrobe",
                                   "greeting": "Won't you be my neighbor?"}


def test_path_to_a_whole_object() -> None:
    traits = {"name": "Peter Gibbons", "email": "peter@example.com", "logins": 5,
              "address": {"street": "6th St", "city": "San Francisco"}}
    mapping = {"action": "create", "userId": {"@path": "$.traits.email"},
               "userProperties": {"@path": "$.traits"}}
    assert run(mapping, {"traits": traits}) == {"action": "create", "userId": "peter@example.com",
                                                "userProperties": traits}


@pytest.mark.parametrize(("path", "expected"), [("$.a", 1), ("$.d", 2), ("$.x", 2), ("$.e", 1), ("$.c", 1)])
def test_if_exists(path: str, expected: int) -> None:
    assert run({"@if": {"exists": {"@path": path}, "then": 1, "else": 2}}, PAYLOAD) == expected


@pytest.mark.parametrize(("path", "expected"), [("$.a", 1), ("$.d", 2), ("$.x", 2), ("$.e", 2)])
def test_if_blank_picks_then_for_a_value_that_is_not_blank(path: str, expected: int) -> None:
    # Segment's `blank` test is true when the value is present and not "" (its tests pin this).
    assert run({"@if": {"blank": {"@path": path}, "then": 1, "else": 2}}, PAYLOAD) == expected


def test_if_without_the_chosen_branch_leaves_the_field_out() -> None:
    assert run({"foo-exists": {"@if": {"exists": {"@path": "$.foo"}, "then": True}}}, {"a": "cool"}) == {}
    assert run({"a": {"@if": {"exists": {"@path": "$.oops"}, "then": {"@path": "$.a"}}}}, {"a": "cool"}) == {}


def test_template_cases() -> None:
    data = {"traits": {"name": "Mr. Rogers"}, "userId": "abc123"}
    assert run({"@template": "Hello, {{traits.name}}!"}, data) == "Hello, Mr. Rogers!"
    assert run({"@template": "Hello, {{traits.fullName}}!"}, data) == "Hello, !"
    assert run({"@template": "{{traits.name}} ({{userId}})"}, data) == "Mr. Rogers (abc123)"
    html = {"@template": "<blink>{{a}} {{{a}}}</blink>"}
    assert run(html, {"a": "<b>Hi</b>"}) == "<blink><b>Hi</b> <b>Hi</b></blink>"
    assert run({"@template": "{{oops.yo}}"}, {}) == ""


def test_literal() -> None:
    assert run({"@literal": True}, {}) is True


def test_nested_missing_values() -> None:
    assert run({"x": {"y": {"@path": "$.nope"}, "z": 1}, "foo": 1}, {}) == {"x": {"z": 1}, "foo": 1}
    assert run({"neat": {"@path": "$.foo.bar.baz"}}, {"foo": "bar"}) == {}


def test_nulls_are_dropped_unlike_segment() -> None:
    # Deliberate difference (contract): Segment keeps a null that the event or mapping holds; we
    # leave the key out so that APIs never receive accidental nulls. {"@literal": null} sends one.
    assert run({"foo": {"@path": "$.a"}, "bar": {"@path": "$.d"}, "baz": None}, PAYLOAD) == {"foo": 1}
    assert run({"baz": {"@literal": None}}, {}) == {"baz": None}


def test_exported_subscription_mapping_runs_unchanged() -> None:
    """A Dotdigital "Add or Update Contact" mapping as Segment exports it."""
    exported = {
        "channelIdentifier": "email",
        "emailIdentifier": {"@if": {"exists": {"@path": "$.traits.email"},
                                    "then": {"@path": "$.traits.email"},
                                    "else": {"@path": "$.properties.email"}}},
        "mobileNumberIdentifier": {"@if": {"exists": {"@path": "$.traits.phone"},
                                           "then": {"@path": "$.traits.phone"},
                                           "else": {"@path": "$.properties.phone"}}},
        "listId": 1001,
        "dataFields": {"FIRSTNAME": {"@path": "$.traits.first_name"}, "AGE": {"@path": "$.traits.age"},
                       "FULLNAME": {"@template": "{{traits.first_name}} {{traits.last_name}}"}},
        "updateEmailSubscription": True,
    }
    schema = {"type": "object", "required": ["channelIdentifier"], "properties": {
        "channelIdentifier": {"enum": ["email", "mobileNumber"]},
        "emailIdentifier": {"type": "string", "format": "email"},
        "mobileNumberIdentifier": {"type": "string"},
        "listId": {"type": "number"},
        "dataFields": {"type": "object"},
        "updateEmailSubscription": {"type": "boolean"},
    }}
    mapping = {key: compile_value(value) for key, value in exported.items()}
    event = {"type": "identify", "userId": "u1",
             "traits": {"email": "jo@example.com", "first_name": "Jo", "last_name": "Bloggs", "age": 33}}
    assert build_payload(schema, {}, mapping, event) == {
        "channelIdentifier": "email", "emailIdentifier": "jo@example.com", "listId": 1001,
        "dataFields": {"FIRSTNAME": "Jo", "AGE": 33, "FULLNAME": "Jo Bloggs"},
        "updateEmailSubscription": True}
