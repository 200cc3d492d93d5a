"""Bad values are refused when they are compiled, naming file, JSON path and column."""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import SpecError
from engine.values import compile_jmespath, compile_value


def refuse(raw: Any) -> SpecError:
    with pytest.raises(SpecError) as info:
        compile_value(raw, file="actions/x.json", path="$.fields.properties.a.default")
    assert info.value.file == "actions/x.json"
    assert "actions/x.json" in str(info.value)
    return info.value


def test_bad_jmespath_names_the_column() -> None:
    error = refuse({"@jmespath": "traits.(email"})
    assert error.column == 8
    assert error.path == '$.fields.properties.a.default["@jmespath"]'
    assert "column 8" in str(error)


def test_bad_jmespath_at_the_end() -> None:
    error = refuse({"@jmespath": "traits."})
    assert error.column is not None
    assert "bad JMESPath" in error.reason


def test_bad_placeholder_column_counts_from_the_template_start() -> None:
    error = refuse({"@template": "Hi {{ traits.( }}"})
    assert error.column == 14  # the "(" is the 14th character of the template


def test_unclosed_placeholder() -> None:
    error = refuse({"@template": "Hi {{ traits.name"})
    assert "unclosed" in error.reason
    assert error.column == 4


def test_unknown_function() -> None:
    error = refuse({"@jmespath": "traits.a || frobnicate(traits.b)"})
    assert "unknown function frobnicate()" in error.reason
    assert error.column == 13


def test_wrong_argument_count() -> None:
    assert "phone() takes 1" in refuse({"@jmespath": "phone(a, b)"}).reason
    assert "coalesce() takes at least 1" in refuse({"@jmespath": "coalesce()"}).reason


def test_unknown_directive() -> None:
    error = refuse({"@arrayPath": ["$.x"]})
    assert "unknown directive @arrayPath" in error.reason


def test_directive_with_extra_keys() -> None:
    error = refuse({"@path": "$.a", "other": 1})
    assert "exactly one key" in error.reason


def test_nested_errors_name_the_inner_path() -> None:
    error = refuse({"a": [1, {"b": {"@jmespath": "x["}}]})
    assert error.path == '$.fields.properties.a.default.a[1].b["@jmespath"]'


@pytest.mark.parametrize("raw", [
    {"@if": {"then": 1}},
    {"@if": {"when": "a", "exists": {"@path": "$.a"}, "then": 1}},
    {"@if": {"when": "a"}},
    {"@if": {"when": "a", "then": 1, "otherwise": 2}},
    {"@if": "a"},
    {"@path": {"@path": "$.a"}},
    {"@template": 5},
    {"@jmespath": ""},
    {"@jmespath": 3},
])
def test_malformed_directives(raw: Any) -> None:
    refuse(raw)


def test_compile_jmespath_directly() -> None:
    with pytest.raises(SpecError) as info:
        compile_jmespath("a ||", file="f.json", path="$.steps[0].when")
    assert info.value.path == "$.steps[0].when"
    assert compile_jmespath("a || b").search({"b": 2}) == 2
