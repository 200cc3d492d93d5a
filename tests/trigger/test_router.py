"""The router: index by type/event, evaluate only candidates, keep insertion order."""

from __future__ import annotations

from typing import Any

from engine.trigger import Router, parse
from engine.trigger.router import PLAN_CACHE_SIZE, decided_by_index, required

SUBSCRIPTIONS: dict[str, str] = {
    "order": 'type = "track" and event = "Order Completed"',
    "big_order": 'type = "track" and event = "Order Completed" and properties.total >= 100',
    "sms": 'event = "Send SMS"',
    "identify_vip": 'type = "identify" and traits.vip = true',
    "views": '(type = "page" or type = "screen") and name != null',
    "any_with_email": "traits.email != null or properties.email != null",
    "not_track": 'not type = "track"',
}


def test_match_returns_matching_keys_in_insertion_order() -> None:
    router = Router(SUBSCRIPTIONS)
    event = {"type": "track", "event": "Order Completed", "properties": {"total": 150, "email": "a@b.c"}}
    assert router.match(event) == ["order", "big_order", "any_with_email"]
    assert router.match({"type": "identify", "traits": {"vip": True}}) == ["identify_vip", "not_track"]
    assert router.match({"type": "screen", "name": "Basket"}) == ["views", "not_track"]
    assert router.match({"type": "track", "event": "Send SMS"}) == ["sms"]


def test_index_excludes_triggers_whose_equalities_cannot_hold() -> None:
    router = Router(SUBSCRIPTIONS)
    candidates = router.candidates({"type": "identify", "traits": {}})
    assert candidates == ["identify_vip", "any_with_email", "not_track"]
    assert router.candidates({"type": "track", "event": "Product Viewed"}) == ["any_with_email", "not_track"]


def test_triggers_outside_the_candidates_are_never_called() -> None:
    calls: list[str] = []
    order = parse('type = "track" and properties.total >= 0')
    page = parse('type = "page" and properties.total >= 0')

    def spy(name: str, fn: Any) -> Any:
        def wrapped(event: dict[str, Any]) -> bool:
            calls.append(name)
            return bool(fn(event))
        return wrapped

    order.matches = spy("order", order.matches)
    page.matches = spy("page", page.matches)
    router = Router({"order": order, "page": page})
    assert router.match({"type": "track", "properties": {"total": 1}}) == ["order"]
    assert calls == ["order"]


def test_pure_equality_triggers_are_decided_by_the_index_alone() -> None:
    assert decided_by_index(parse('type = "track" and event = "A"').ast)
    assert decided_by_index(parse('(event = "A" or event = "B") and type = "track"').ast)
    assert not decided_by_index(parse('type = "track" or event = "A"').ast)
    assert not decided_by_index(parse('type = "track" and properties.x = 1').ast)
    assert not decided_by_index(parse('(type = "a" and event = "x") or (type = "b" and event = "y")').ast)
    router = Router({"a": 'type = "track" and event = "A"'})
    assert router.match({"type": "track", "event": "A"}) == ["a"]
    assert router.match({"type": "page", "event": "A"}) == []
    assert router.match({"type": "track", "event": "B"}) == []


def test_required_constraints() -> None:
    assert required(parse('type = "track" and event = "A"').ast) == {"type": {"track"}, "event": {"A"}}
    assert required(parse('type = "page" or type = "screen"').ast) == {"type": {"page", "screen"}}
    assert required(parse('type = "page" or event = "A"').ast) == {}
    assert required(parse('type = "a" and type = "b"').ast) == {"type": frozenset()}
    assert required(parse('not type = "a"').ast) == {}
    assert required(parse('type != "a"').ast) == {}
    assert required(parse("type = 3").ast) == {}


def test_contradictory_trigger_never_matches() -> None:
    router = Router({"never": 'type = "a" and type = "b"'})
    assert router.match({"type": "a"}) == []
    assert router.match({"type": "b"}) == []


def test_odd_type_and_event_values_do_not_break_the_index() -> None:
    router = Router({"t": 'type = "track"', "missing": "type = null", "any": "userId != null"})
    assert router.match({"type": ["track"], "userId": "u"}) == ["any"]
    assert router.match({"type": {"x": 1}, "event": ["A"]}) == []
    assert router.match({"event": "A"}) == ["missing"]
    assert router.match({"type": None}) == ["missing"]


def test_keys_may_be_any_hashable_and_triggers_may_be_text_or_parsed() -> None:
    subscriptions = {("sub", 1): parse('type = "track"'), ("sub", 2): "type != null"}
    router: Router[tuple[str, int]] = Router(subscriptions)
    assert router.match({"type": "track"}) == [("sub", 1), ("sub", 2)]
    assert len(router) == 2
    assert set(router.triggers) == {("sub", 1), ("sub", 2)}


def test_plan_cache_is_bounded() -> None:
    router = Router({"t": 'contains(event, "7")'})
    for i in range(PLAN_CACHE_SIZE + 10):
        assert router.match({"type": "track", "event": f"E{i}"}) == (["t"] if "7" in str(i) else [])
    assert len(router._plans) <= PLAN_CACHE_SIZE
