"""The public Trigger object: parse, canonical text, equality, warnings, compiled predicate."""

from __future__ import annotations

from engine.trigger import Trigger, TriggerSyntaxError, from_ast, parse
from engine.trigger.ast import And, Compare, Contains, Field, Match, Not, Or, Value


def test_parse_builds_the_expected_tree() -> None:
    t = parse('type = "track" and (properties.total >= 100 or !contains(traits.email, "@test."))')
    assert t.ast == And(
        Compare(Field(("type",)), "=", Value("string", "track")),
        Or(Compare(Field(("properties", "total")), ">=", Value("number", 100)),
           Contains(Field(("traits", "email")), "@test.", negated=True)),
    )


def test_canonical_text_normalises_spacing_quotes_and_negation() -> None:
    assert str(parse("type='track'   and   event=\"A\"")) == 'type = "track" and event = "A"'
    assert str(parse('!(type = "a")')) == 'not type = "a"'
    assert str(parse('! contains(properties.x, "a")')) == '!contains(properties.x, "a")'
    assert str(parse("((type = \"a\" or type = \"b\")) and event = \"c\"")) == \
        '(type = "a" or type = "b") and event = "c"'
    right_nested = 'type = "a" or (type = "b" or type = "c")'
    assert str(parse(right_nested)) == right_nested
    assert str(parse("properties.n = 1E3")) == "properties.n = 1000.0"
    assert str(parse("properties.`order id` = 1")) == "properties.`order id` = 1"
    assert str(parse('properties.`null` = "a\\nb"')) == 'properties.`null` = "a\\nb"'


def test_triggers_compare_and_hash_by_tree() -> None:
    a, b = parse('type="track"'), parse("type = 'track'")
    assert a == b and hash(a) == hash(b)
    assert a != parse('type = "page"')
    assert len({a, b, parse('type = "page"')}) == 2
    assert parse("properties.x = true") != parse("properties.x = 1")  # true is not 1, in the AST too
    assert Value("boolean", True) != Value("number", 1)
    assert hash(Match(Field(("a",)), "x*")) == hash(Match(Field(("a",)), "x*"))


def test_trigger_is_callable_and_matches_is_the_compiled_function() -> None:
    t = parse('event = "Send SMS"')
    assert t({"event": "Send SMS"}) and t.matches({"event": "Send SMS"})
    assert not t.matches({})
    assert isinstance(from_ast(t.ast), Trigger)
    assert repr(t) == "Trigger('event = \"Send SMS\"')"
    assert t.source == 'event = "Send SMS"'


def test_warnings_are_positions_and_messages() -> None:
    (warning,) = parse('type = "a" or type = "b" and event = "x"').warnings
    assert (warning.line, warning.column) == (1, 12)
    assert "mixed without parentheses" in warning.message
    assert parse('(type = "a" or type = "b") and event = "x"').warnings == ()
    text = 'not anonymousId = null and match(context.page.path, "/a*/b")'
    kinds = [w.message for w in parse(text).warnings]
    assert any("no 'not'" in m for m in kinds)
    assert any("top level" in m for m in kinds)
    assert any("full glob" in m for m in kinds)
    assert any("nested parentheses" in w.message for w in parse('((type = "a"))').warnings)


def test_user_text_cannot_reach_generated_code() -> None:
    nasty = '"); __import__("os").system("echo pwned") #'
    t = parse(f"properties.`{nasty}` = {__import__('json').dumps(nasty)}")
    assert t.matches({"properties": {nasty: nasty}})
    assert not t.matches({"properties": {nasty: "x"}})
    assert nasty not in (t.matches.__doc__ or "")


def test_syntax_error_type_is_reexported() -> None:
    try:
        parse("type =")
    except TriggerSyntaxError as exc:
        assert exc.column == 7
    else:
        raise AssertionError("expected a syntax error")


def test_not_of_negated_function_round_trips() -> None:
    node = Not(Contains(Field(("properties", "x")), "a", negated=True))
    assert parse(str(from_ast(node))).ast == node
    assert str(from_ast(node)) == 'not !contains(properties.x, "a")'


def test_value_of_picks_the_kind_strictly() -> None:
    assert Value.of(True) == Value("boolean", True)
    assert Value.of(1) == Value("number", 1)
    assert Value.of(None) == Value("null", None)
    assert Value.of("1") == Value("string", "1")
    assert Value.of(True) != Value.of(1)
