"""The router: index by type/event, evaluate only candidates, keep insertion order."""

from __future__ import annotations

from typing import Any

from engine.trigger import Router, Trigger, parse
from engine.trigger.router import PLAN_CACHE_SIZE, required, specialise

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
    # `not type = "track"` is known to be false for a track event: not even a candidate
    assert router.candidates({"type": "track", "event": "Product Viewed"}) == ["any_with_email"]


def test_triggers_outside_the_candidates_are_never_called() -> None:
    calls: list[str] = []

    def spy(name: str, trigger: Trigger) -> Trigger:
        inner = trigger.matches

        def wrapped(event: Any) -> bool:
            calls.append(name)
            return inner(event)

        trigger.matches = wrapped
        return trigger

    # Triggers that do not read type/event run as they are (so the spies see every call) ...
    broad = spy("broad", parse("properties.total >= 0"))
    page = spy("page", parse('type = "page" and properties.total >= 0'))
    router = Router({"broad": broad, "page": page})
    assert router.match({"type": "track", "properties": {"total": 1}}) == ["broad"]
    assert router.match({"type": "track", "properties": {"total": 2}}) == ["broad"]
    assert calls == ["broad", "broad"]  # ... and the page trigger was never evaluated
    assert router.candidates({"type": "track"}) == ["broad"]


def test_specialisation_decides_pure_equalities_and_shrinks_the_rest() -> None:
    known = {"type": "track", "event": "A"}
    assert specialise(parse('type = "track" and event = "A"').ast, known) is True
    assert specialise(parse('(event = "A" or event = "B") and type = "track"').ast, known) is True
    assert specialise(parse('type = "page" or event = "B"').ast, known) is False
    assert specialise(parse('not type = "track"').ast, known) is False
    residual = parse("properties.x = 1").ast
    assert specialise(parse('type = "track" and properties.x = 1').ast, known) == residual
    assert specialise(parse('type = "track" and event != "A" or properties.x = 1').ast, known) == \
        parse("properties.x = 1").ast
    assert specialise(parse('contains(event, "A") and match(type, "tr*")').ast, known) is True
    untouched = parse("properties.x = 1 or userId = null").ast
    assert specialise(untouched, known) is untouched
    assert specialise(parse('type = "track"').ast, {"event": "A"}) == parse('type = "track"').ast


def test_residuals_are_what_the_router_runs() -> None:
    router = Router({"a": 'type = "track" and event = "A"', "b": 'type = "track" and properties.n > 1',
                     "c": 'event = "A" or type = "page"'})
    assert router.match({"type": "track", "event": "A", "properties": {"n": 2}}) == ["a", "b", "c"]
    plan = {key: node for key, node, _ in router._plans[("track", "A")].items}
    assert plan["a"] is None and plan["c"] is None  # decided by the index alone
    assert plan["b"] == parse("properties.n > 1").ast  # the residual condition
    assert router.match({"type": "page", "event": "A"}) == ["a", "c"][1:]
    assert router.match({"type": "track", "event": "B", "properties": {"n": 0}}) == []


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


def test_hot_plans_are_fused_into_one_function_with_the_same_answers() -> None:
    router = Router(SUBSCRIPTIONS, fuse_after=3)
    event = {"type": "track", "event": "Order Completed", "properties": {"total": 150, "email": "a@b.c"}}
    other = {"type": "track", "event": "Order Completed", "properties": {"total": 5}}
    plan = router._plans.get(("track", "Order Completed"))
    assert plan is None
    answers = [router.match(e) for e in (event, other, event, other, event, other)]
    plan = router._plans[("track", "Order Completed")]
    assert plan.select.__name__ == "_select"  # compiled
    assert answers == [["order", "big_order", "any_with_email"], ["order"]] * 3
