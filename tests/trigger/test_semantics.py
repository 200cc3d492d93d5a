"""Table tests: every operator against every kind of event value (DESIGN.md §2, row by row).

Each row is checked twice: through the compiled predicate and through the AST interpreter.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.trigger import parse
from engine.trigger.interpreter import evaluate

MISSING = object()

# The value placed at properties.v for each column of the table.
KINDS: dict[str, Any] = {
    "missing": MISSING,
    "null": None,
    "str": "100",
    "str_s": "s",
    "int": 100,
    "float": 100.0,
    "small": 3,
    "true": True,
    "false": False,
    "one": 1,
    "zero": 0,
    "list": ["s"],
    "object": {"s": 1},
}


def _event(value: Any) -> dict[str, Any]:
    props: dict[str, Any] = {} if value is MISSING else {"v": value}
    return {"type": "track", "event": "E", "properties": props}


def _check(text: str, event: dict[str, Any], expected: bool) -> None:
    trigger = parse(text)
    assert trigger.matches(event) is expected, f"compiled: {text} on {event}"
    assert evaluate(trigger.ast, event) is expected, f"interpreted: {text} on {event}"


# expression → the set of KINDS it is true for (false for every other kind)
ROWS: list[tuple[str, set[str]]] = [
    ('properties.v = "s"', {"str_s"}),
    ('properties.v = "100"', {"str"}),                      # the number 100 is not "100"
    ('properties.v != "s"', set(KINDS) - {"str_s"}),         # true when missing, null or another type
    ('properties.v != "100"', set(KINDS) - {"str"}),
    ("properties.v = 100", {"int", "float"}),               # "100" is not 100; 100.0 is 100
    ("properties.v != 100", {"small", "one", "zero"}),      # numbers only: missing/null/strings are false
    ("properties.v = 3", {"small"}),
    ("properties.v != 3", {"int", "float", "one", "zero"}),
    ("properties.v = 1", {"one"}),                          # true is not 1
    ("properties.v = 0", {"zero"}),                         # false is not 0
    ("properties.v < 100", {"small", "one", "zero"}),
    ("properties.v <= 100", {"int", "float", "small", "one", "zero"}),
    ("properties.v > 3", {"int", "float"}),
    ("properties.v >= 3", {"int", "float", "small"}),
    ("properties.v > 0.5", {"int", "float", "small", "one"}),
    ("properties.v >= -1e2", {"int", "float", "small", "one", "zero"}),
    ("properties.v = true", {"true"}),                      # 1 is not true
    ("properties.v = false", {"false"}),                    # 0, null and missing are not false
    ("properties.v != true", set(KINDS) - {"true"}),
    ("properties.v != false", set(KINDS) - {"false"}),
    ("properties.v = null", {"missing", "null"}),
    ("properties.v != null", set(KINDS) - {"missing", "null"}),
    ('contains(properties.v, "0")', {"str"}),               # strings only: 100 does not "contain" 0
    ('contains(properties.v, "s")', {"str_s"}),             # a list holding "s" is not a string
    ('!contains(properties.v, "s")', {"str"}),              # a string without s; missing is false
    ('not contains(properties.v, "s")', set(KINDS) - {"str_s"}),  # logical not: missing is true
    ('!(contains(properties.v, "s"))', set(KINDS) - {"str_s"}),
    ('match(properties.v, "1*")', {"str"}),
    ('match(properties.v, "*0")', {"str"}),
    ('match(properties.v, "1?0")', {"str"}),
    ('match(properties.v, "[st]")', {"str_s"}),
    ('!match(properties.v, "1*")', {"str_s"}),              # a string not matching; non-strings false
    ('not match(properties.v, "1*")', set(KINDS) - {"str"}),
]


@pytest.mark.parametrize(("text", "true_for"), ROWS, ids=[r[0] for r in ROWS])
@pytest.mark.parametrize("kind", list(KINDS))
def test_operator_table(text: str, true_for: set[str], kind: str) -> None:
    _check(text, _event(KINDS[kind]), kind in true_for)


@pytest.mark.parametrize(("text", "event", "expected"), [
    # top-level fields, any of them
    ('type = "track"', {"type": "track"}, True),
    ('type = "track"', {"type": "identify"}, False),
    ('type = "track"', {}, False),
    ('event = "Send SMS"', {"event": "Send SMS"}, True),
    ('name = "Home"', {"type": "page", "name": "Home"}, True),
    ('userId != null', {"userId": "u1"}, True),
    ('userId != null', {"userId": None}, False),
    ('userId != null', {}, False),
    ('userId = null', {}, True),
    ('anonymousId = "anon-1"', {"anonymousId": "anon-1"}, True),
    ('messageId != null', {"messageId": "m-1"}, True),
    ('match(receivedAt, "2026-*")', {"receivedAt": "2026-11-27T05:00:00Z"}, True),
    # nested fields at any depth
    ("traits.order_completed_last_30days = true", {"traits": {"order_completed_last_30days": True}}, True),
    ('context.page.path = "/x"', {"context": {"page": {"path": "/x"}}}, True),
    ('context.page.path = "/x"', {"context": {"page": "/x"}}, False),   # not an object on the way
    ('context.page.path = null', {"context": {"page": "/x"}}, True),
    ('context.page.path = null', {"context": None}, True),
    ('context.page.path = null', {"context": [{"page": {"path": "/x"}}]}, True),
    ("properties.a.b.c.d >= 1", {"properties": {"a": {"b": {"c": {"d": 2}}}}}, True),
    ("properties.`order id` = 7", {"properties": {"order id": 7}}, True),
    ("properties.`and` = 7", {"properties": {"and": 7}}, True),
    ('properties.`a\\`b` = "x"', {"properties": {"a`b": "x"}}, True),
    # strings: escapes and both quote styles
    ('properties.q = "say \\"hi\\""', {"properties": {"q": 'say "hi"'}}, True),
    ("properties.q = 'it\\'s'", {"properties": {"q": "it's"}}, True),
    ('properties.q = "tab\\there"', {"properties": {"q": "tab\there"}}, True),
    ('properties.q = "\\u00e9"', {"properties": {"q": "é"}}, True),
    # numbers with sign, decimals, exponents
    ("properties.n = -2.5", {"properties": {"n": -2.5}}, True),
    ("properties.n = +3", {"properties": {"n": 3}}, True),
    ("properties.n = 1e3", {"properties": {"n": 1000}}, True),
    ("properties.n < 2.5E-1", {"properties": {"n": 0.2}}, True),
    ("properties.n = .5", {"properties": {"n": 0.5}}, True),
    # full globs
    ('match(context.page.path, "/checkout*")', {"context": {"page": {"path": "/checkout/step-2"}}}, True),
    ('match(properties.email, "*@example.com")', {"properties": {"email": "a@example.com"}}, True),
    ('match(properties.email, "*@example.com")', {"properties": {"email": "a@example.co"}}, False),
    ('match(properties.sku, "PRO-*-X")', {"properties": {"sku": "PRO-12-X"}}, True),
    ('match(properties.sku, "PRO-*-X")', {"properties": {"sku": "PRO-12-Y"}}, False),
    ('match(properties.sku, "*")', {"properties": {"sku": ""}}, True),
    ('match(properties.sku, "pro*")', {"properties": {"sku": "PRO-1"}}, False),  # case-sensitive
    ('match(properties.sku, "a[!b]c")', {"properties": {"sku": "axc"}}, True),
    ('match(properties.sku, "a[!b]c")', {"properties": {"sku": "abc"}}, False),
    ('match(properties.sku, "abc")', {"properties": {"sku": "abc"}}, True),
    ('match(properties.sku, "abc")', {"properties": {"sku": "abcd"}}, False),
    ('match(properties.path, "*a*b*")', {"properties": {"path": "xaxbx"}}, True),
    ('match(properties.path, "line*")', {"properties": {"path": "line1\nline2"}}, True),
    # precedence: and binds tighter than or
    ('type = "a" or type = "b" and event = "x"', {"type": "a", "event": "y"}, True),
    ('(type = "a" or type = "b") and event = "x"', {"type": "a", "event": "y"}, False),
    ('type = "b" and event = "x" or type = "a"', {"type": "a"}, True),
    # not / ! on any sub-expression, nesting to any depth
    ('not (type = "a" or type = "b")', {"type": "c"}, True),
    ('!(type = "a")', {"type": "a"}, False),
    ('not not type = "a"', {"type": "a"}, True),
    ('((((type = "a"))))', {"type": "a"}, True),
    ('(type = "page" or type = "screen") and not name = null', {"type": "screen", "name": "Home"}, True),
    ('(type = "page" or type = "screen") and not name = null', {"type": "screen"}, False),
    # a boolean literal never equals a number literal, and vice versa
    ("properties.flag = true", {"properties": {"flag": 1}}, False),
    ("properties.count = 1", {"properties": {"count": True}}, False),
    ("properties.count >= 0", {"properties": {"count": False}}, False),
])
def test_fields_and_structure(text: str, event: dict[str, Any], expected: bool) -> None:
    _check(text, event, expected)


def test_properties_that_is_not_an_object_reads_as_missing() -> None:
    for props in ("string", 5, None, ["a"], True):
        event = {"type": "track", "properties": props}
        _check("properties.v = null", event, True)
        _check('properties.v != "s"', event, True)
        _check("properties.v != 3", event, False)


def test_the_event_is_not_mutated() -> None:
    event = {"type": "track", "properties": {"total": 5}}
    before = repr(event)
    parse('properties.total > 1 and properties.missing.deep = null').matches(event)
    assert repr(event) == before
