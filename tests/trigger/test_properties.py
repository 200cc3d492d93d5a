"""Laws of the trigger language, checked on generated triggers and events."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.testing.strategies import events, trigger_asts, triggers
from engine.trigger import Router, from_ast, parse
from engine.trigger.ast import And, Node, Not, Or
from engine.trigger.interpreter import evaluate, explain
from engine.trigger.printer import to_text

FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
THOROUGH = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@THOROUGH
@given(trigger_asts())
def test_printing_then_parsing_gives_the_same_tree(ast: Node) -> None:
    text = to_text(ast)
    assert parse(text).ast == ast
    assert str(parse(text)) == text  # the canonical text is a fixed point


@FAST
@given(triggers())
def test_generated_texts_parse(text: str) -> None:
    assert str(parse(text)) == text


@THOROUGH
@given(trigger_asts(), st.lists(events(), min_size=1, max_size=4))
def test_compiled_predicate_agrees_with_the_interpreter(ast: Node, batch: list[dict[str, Any]]) -> None:
    compiled = from_ast(ast)
    for event in batch:
        expected = evaluate(ast, event)
        assert compiled.matches(event) is expected, (to_text(ast), event)
        assert explain(ast, event).result is expected


@FAST
@given(trigger_asts(max_leaves=4), trigger_asts(max_leaves=4), events())
def test_de_morgan(a: Node, b: Node, event: dict[str, Any]) -> None:
    assert from_ast(Not(And(a, b))).matches(event) == from_ast(Or(Not(a), Not(b))).matches(event)
    assert from_ast(Not(Or(a, b))).matches(event) == from_ast(And(Not(a), Not(b))).matches(event)


@FAST
@given(trigger_asts(), events())
def test_double_negation(a: Node, event: dict[str, Any]) -> None:
    assert from_ast(Not(Not(a))).matches(event) == from_ast(a).matches(event)
    assert parse(f"not not ({to_text(a)})").matches(event) == from_ast(a).matches(event)


@FAST
@given(trigger_asts(max_leaves=4), trigger_asts(max_leaves=4), trigger_asts(max_leaves=4), events())
def test_and_or_associate_and_commute(a: Node, b: Node, c: Node, event: dict[str, Any]) -> None:
    def m(node: Node) -> bool:
        return from_ast(node).matches(event)

    assert m(And(And(a, b), c)) == m(And(a, And(b, c)))
    assert m(Or(Or(a, b), c)) == m(Or(a, Or(b, c)))
    assert m(And(a, b)) == m(And(b, a))
    assert m(Or(a, b)) == m(Or(b, a))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(trigger_asts(max_leaves=5), min_size=1, max_size=12),
       st.lists(events(), min_size=1, max_size=6))
def test_router_returns_exactly_the_matching_triggers(asts: list[Node], batch: list[dict[str, Any]]) -> None:
    compiled = {f"sub{i}": from_ast(ast) for i, ast in enumerate(asts)}
    router, fused = Router(compiled), Router(compiled, fuse_after=1)
    for event in batch * 2:  # twice: the second pass runs from the plan cache
        expected = [key for key, trigger in compiled.items() if trigger.matches(event)]
        assert router.match(event) == expected
        assert fused.match(event) == expected
