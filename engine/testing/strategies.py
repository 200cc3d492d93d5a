"""Hypothesis strategies for trigger expressions and Segment-spec events.

Use them to property-test your own triggers and mappings, for example::

    from hypothesis import given
    from engine.testing.strategies import events
    from engine.trigger import parse

    vip = parse('type = "identify" and traits.vip = true')

    @given(events(types=["track"]))
    def test_vip_never_fires_on_track(event):
        assert not vip.matches(event)

Triggers and events draw field names and values from one shared vocabulary, so generated
triggers hit generated events often enough for properties to mean something.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from engine.trigger.ast import And, Compare, Contains, Field, Match, Node, Not, Or, Value
from engine.trigger.printer import to_text

EVENT_TYPES: tuple[str, ...] = ("track", "identify", "page", "screen", "group", "alias")
EVENT_NAMES: tuple[str, ...] = ("Order Completed", "Product Viewed", "Send SMS", "Signed Up",
                                "Remove Contact from List", "Cart Viewed")
PAGE_NAMES: tuple[str, ...] = ("Home", "Checkout", "Pricing", "Settings")
#: Keys used under properties / traits / context (and by generated triggers).
KEYS: tuple[str, ...] = ("total", "revenue", "sku", "email", "plan", "vip", "count", "tags", "path",
                         "address", "city", "order id", "and")
STRINGS: tuple[str, ...] = ("", "track", "identify", "page", "Order Completed", "PRO-123", "pro",
                            "alice@example.com", "/checkout/step-1", "100", "true", "null", "a*b",
                            "Zürich", 'say "hi"')
NUMBERS: tuple[int | float, ...] = (0, 1, -1, 3, 99, 100, 100.5, 1e3, -0.5)
GLOBS: tuple[str, ...] = ("/checkout*", "*@example.com", "PRO-*", "*ro*", "a?b", "[Pp]ro*", "*", "pro",
                          "Z*h")
TOP_LEVEL: tuple[str, ...] = ("type", "event", "name", "userId", "anonymousId", "messageId", "receivedAt")
ROOTS: tuple[str, ...] = ("properties", "traits", "context")

_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=8)


def strings() -> st.SearchStrategy[str]:
    """Strings from the shared vocabulary, sometimes arbitrary text."""
    return st.one_of(st.sampled_from(STRINGS), st.sampled_from(EVENT_NAMES), _text)


def numbers() -> st.SearchStrategy[int | float]:
    return st.one_of(st.sampled_from(NUMBERS), st.integers(-1000, 1000),
                     st.floats(allow_nan=False, allow_infinity=False, width=32))


def scalars() -> st.SearchStrategy[Any]:
    """JSON scalars: strings, numbers, booleans and null."""
    return st.one_of(strings(), numbers(), st.booleans(), st.none())


def json_values(max_leaves: int = 4) -> st.SearchStrategy[Any]:
    """Any JSON value, nesting objects with the shared keys and lists."""
    return st.recursive(
        scalars(),
        lambda inner: st.one_of(st.lists(inner, max_size=3),
                                st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)),
        max_leaves=max_leaves,
    )


def fields() -> st.SearchStrategy[Field]:
    """Top-level fields and nested ones under properties/traits/context."""
    top = st.sampled_from(TOP_LEVEL).map(lambda name: Field((name,)))
    nested = st.tuples(st.sampled_from(ROOTS), st.lists(st.sampled_from(KEYS), min_size=1, max_size=2)) \
        .map(lambda parts: Field((parts[0], *parts[1])))
    return st.one_of(top, nested)


def _compare() -> st.SearchStrategy[Compare]:
    equality = st.sampled_from(("=", "!="))
    order = st.sampled_from(("=", "!=", "<", "<=", ">", ">="))
    return st.one_of(
        st.builds(Compare, fields(), equality, strings().map(lambda s: Value("string", s))),
        st.builds(Compare, fields(), order, numbers().map(lambda n: Value("number", n))),
        st.builds(Compare, fields(), equality, st.booleans().map(lambda b: Value("boolean", b))),
        st.builds(Compare, fields(), equality, st.just(Value("null", None))),
        # the router's index fields, with values events really carry
        st.builds(Compare, st.just(Field(("type",))), equality,
                  st.sampled_from(EVENT_TYPES).map(lambda s: Value("string", s))),
        st.builds(Compare, st.just(Field(("event",))), equality,
                  st.sampled_from(EVENT_NAMES).map(lambda s: Value("string", s))),
    )


def leaves() -> st.SearchStrategy[Node]:
    """Single conditions: comparisons, contains(...) and match(...), negated forms included."""
    return st.one_of(
        _compare(),
        st.builds(Contains, fields(), strings(), st.booleans()),
        st.builds(Match, fields(), st.one_of(st.sampled_from(GLOBS), strings()), st.booleans()),
    )


def trigger_asts(max_leaves: int = 8) -> st.SearchStrategy[Node]:
    """Trigger ASTs of any shape: and/or/not over leaves, nested freely."""
    return st.recursive(
        leaves(),
        lambda inner: st.one_of(
            st.builds(Not, inner),
            st.builds(And, inner, inner),
            st.builds(Or, inner, inner),
        ),
        max_leaves=max_leaves,
    )


def triggers(max_leaves: int = 8) -> st.SearchStrategy[str]:
    """Valid trigger expressions as canonical text (parse them with engine.trigger.parse)."""
    return trigger_asts(max_leaves).map(to_text)


def _object(keys: Sequence[str] = KEYS) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(tuple(keys)), json_values(), max_size=4)


def events(types: Sequence[str] = EVENT_TYPES,
           event_names: Sequence[str] = EVENT_NAMES) -> st.SearchStrategy[dict[str, Any]]:
    """Segment-spec events of the given types, with nested properties/traits/context.

    Fields are sometimes missing, null or of a surprising type, as they are in real traffic.
    """
    return st.sampled_from(tuple(types)).flatmap(lambda kind: _event(kind, event_names))


def _event(kind: str, event_names: Sequence[str]) -> st.SearchStrategy[dict[str, Any]]:
    ids = st.one_of(st.none(), st.sampled_from(("user-1", "user-2", "")), st.integers(0, 5))
    common: dict[str, st.SearchStrategy[Any]] = {
        "type": st.just(kind),
        "messageId": st.uuids().map(str),
        "anonymousId": st.one_of(st.none(), st.sampled_from(("anon-1", "anon-2"))),
        "userId": ids,
        "receivedAt": st.just("2026-11-27T05:00:00.000Z"),
        "context": st.fixed_dictionaries(
            {}, optional={"ip": st.just("203.0.113.7"), "locale": st.sampled_from(("en-GB", "de-CH")),
                          "page": st.fixed_dictionaries({}, optional={"path": strings(), "url": strings()}),
                          "path": json_values(), "plan": json_values(), "email": json_values(),
                          "traits": _object()}),
    }
    optional: dict[str, st.SearchStrategy[Any]] = {}
    if kind == "track":
        common["event"] = st.one_of(st.sampled_from(tuple(event_names)), strings())
        common["properties"] = _object()
    elif kind in ("page", "screen"):
        optional["name"] = st.one_of(st.sampled_from(PAGE_NAMES), scalars())
        common["properties"] = _object()
    elif kind == "identify":
        common["traits"] = _object()
    elif kind == "group":
        common["groupId"] = st.sampled_from(("group-1", "group-2"))
        common["traits"] = _object()
    else:  # alias
        common["previousId"] = st.sampled_from(("anon-1", "user-0"))
    # Odd shapes real traffic contains: an indexed field of the wrong type, a non-object root.
    if "event" not in common:
        optional["event"] = st.one_of(st.sampled_from(tuple(event_names)), scalars())
    if "properties" not in common:
        optional["properties"] = st.one_of(_object(), scalars())
    return st.fixed_dictionaries(common, optional=optional)


__all__ = ["events", "fields", "json_values", "leaves", "scalars", "trigger_asts", "triggers"]
