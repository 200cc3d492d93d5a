"""Malformed expressions: each error names line, column, what was expected, and shows a caret."""

from __future__ import annotations

import pytest

from engine.errors import TriggerSyntaxError
from engine.trigger import parse

# (expression, line, column, a fragment the message must contain)
CASES: list[tuple[str, int, int, str]] = [
    ("", 1, 1, "expected an expression"),
    ("type = ", 1, 7, "expected a value (a string, a number, true, false or null) after '='"),
    ("type != ", 1, 8, "after '!='"),
    ('type = "track" and', 1, 19, "expected an expression after 'and'"),
    ('type = "track" or', 1, 18, "expected an expression after 'or'"),
    ("not", 1, 4, "expected an expression after 'not'"),
    ('foo(properties.x, "a")', 1, 1, "unknown function 'foo'"),
    ('type == "track"', 1, 7, "equality is a single '='"),
    ('type = "track', 1, 8, "unterminated string"),
    ("type = 'track", 1, 8, "unterminated string"),
    ('type = "track" && event = "x"', 1, 16, "write 'and'"),
    ('type = "track" || event = "x"', 1, 16, "write 'or'"),
    ('(type = "track"', 1, 16, "expected ')' to close the '(' at line 1, column 1"),
    ('type = "track")', 1, 15, "no '(' for it to close"),
    ('properties.total >= "100"', 1, 21, "'>=' compares numbers"),
    ("properties.total < true", 1, 20, "expected a number after '<', found true"),
    ("properties. = 1", 1, 13, "expected a field name after '.'"),
    ("properties.and = 1", 1, 12, "backticks"),
    ("contains(properties.x, 3)", 1, 24, "contains() needs a string as its second argument"),
    ("contains(properties.x)", 1, 22, "expected ',' and a string after the field in contains(...)"),
    ('match(properties.x, "a*"', 1, 25, "expected ')' to close match(...)"),
    ('contains(, "a")', 1, 10, "expected a field name as the first argument"),
    ('type = "track" AND event = "x"', 1, 16, "keywords are lower-case"),
    ('type "track"', 1, 6, "expected an operator (=, !=, <, <=, >, >=) after the field 'type'"),
    ("properties.total > 1e999", 1, 20, "out of range"),
    ('type = "a\\qb"', 1, 8, "invalid escape"),
    ("()", 1, 2, "expected an expression after '('"),
    ("type = track", 1, 8, "compared with a literal value"),
    ('properties.x.match("a")', 1, 19, "unknown function 'properties.x.match'"),
    ("`abc = 1", 1, 1, "unterminated field name"),
    ("a = 1 # comment", 1, 7, "unexpected character '#'"),
    ('type = "track" and\n  (event = "x" or\n   event = )', 3, 12, "after '='"),
]


@pytest.mark.parametrize(("text", "line", "column", "fragment"), CASES,
                         ids=[c[0] or "<empty>" for c in CASES])
def test_error_position_and_message(text: str, line: int, column: int, fragment: str) -> None:
    with pytest.raises(TriggerSyntaxError) as info:
        parse(text)
    error = info.value
    assert (error.line, error.column) == (line, column), str(error)
    assert fragment in str(error)
    assert error.text == text
    assert error.expected, "every error says what was expected"


def test_message_shows_the_line_with_a_caret_under_the_column() -> None:
    with pytest.raises(TriggerSyntaxError) as info:
        parse('type = "track" and\n  properties.total >= ')
    lines = str(info.value).splitlines()
    assert lines[0].endswith("(line 2, column 22)")
    assert lines[1] == "    properties.total >= "
    assert lines[2] == "  " + " " * 21 + "^"


def test_error_is_a_value_error_for_callers_that_catch_broadly() -> None:
    with pytest.raises(ValueError):
        parse("type =")


def test_non_string_input_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        parse(42)  # type: ignore[arg-type]


def test_long_chains_compile_and_absurd_nesting_is_a_clean_error() -> None:
    chain = " and ".join(["properties.x != 1"] * 150)
    assert parse(chain).matches({"properties": {"x": 2}})
    assert not parse(chain).matches({})
    with pytest.raises(TriggerSyntaxError) as info:
        parse(" and ".join(["properties.x != 1"] * 2000))
    assert "nests more than 200 levels" in str(info.value)
    with pytest.raises(TriggerSyntaxError) as info:
        parse("not (" * 150 + 'type = "a"' + ")" * 150)
    assert (info.value.line, info.value.column) == (1, 501)
