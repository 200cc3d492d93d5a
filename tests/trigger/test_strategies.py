"""The public hypothesis strategies generate what they promise (users build their tests on them)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings

from engine.testing.strategies import EVENT_TYPES, events, trigger_asts, triggers
from engine.trigger import from_ast, parse
from engine.trigger.ast import Node

SMALL = settings(max_examples=60, deadline=None)


@SMALL
@given(events())
def test_events_look_like_segment_events(event: dict[str, Any]) -> None:
    assert event["type"] in EVENT_TYPES
    assert isinstance(event["messageId"], str)
    if event["type"] == "track":
        assert "event" in event and isinstance(event["properties"], dict)
    if event["type"] in ("identify", "group"):
        assert isinstance(event["traits"], dict)
    if event["type"] == "alias":
        assert "previousId" in event


@pytest.mark.parametrize("kind", EVENT_TYPES)
def test_every_one_of_the_six_types_can_be_generated(kind: str) -> None:
    @settings(max_examples=10, deadline=None, database=None)
    @given(events(types=[kind]))
    def check(event: dict[str, Any]) -> None:
        assert event["type"] == kind

    check()
    assert set(EVENT_TYPES) == {"track", "identify", "page", "screen", "group", "alias"}


@SMALL
@given(events(types=["track"], event_names=["Order Completed"]))
def test_events_can_be_narrowed(event: dict[str, Any]) -> None:
    assert event["type"] == "track"


@SMALL
@given(triggers())
def test_trigger_texts_parse_without_error(text: str) -> None:
    parse(text)


@SMALL
@given(trigger_asts(), events())
def test_generated_triggers_never_raise_on_generated_events(ast: Node, event: dict[str, Any]) -> None:
    assert from_ast(ast).matches(event) in (True, False)


# The example from docs/triggers.md, kept running.
narrow = parse('type = "track" and event = "Order Completed" and properties.total >= 100')
broad = parse('type = "track" and event = "Order Completed"')


@SMALL
@given(events(types=["track"], event_names=["Order Completed", "Order Refunded"]))
def test_docs_example_narrow_implies_broad(event: dict[str, Any]) -> None:
    assert not narrow.matches(event) or broad.matches(event)


def test_vocabulary_makes_matches_common() -> None:
    results: list[bool] = []

    @settings(max_examples=200, deadline=None, database=None)
    @given(trigger_asts(max_leaves=1), events())
    def collect(ast: Node, event: dict[str, Any]) -> None:
        results.append(from_ast(ast).matches(event))

    collect()
    assert 0.05 < sum(results) / len(results) < 0.95
