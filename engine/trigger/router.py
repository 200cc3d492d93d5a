"""Route an event to the triggers that match it, without evaluating the ones that cannot.

Each trigger is analysed for the `type`/`event` string equalities it *requires* (an `and` needs
both sides, an `or` needs one of its sides). Per distinct (type, event) pair of incoming events
the router builds, once, the ordered list of candidate triggers; a trigger whose whole meaning is
those equalities (`type = "track" and event = "Order Completed"`) is marked as decided and is not
evaluated at all. Per event the cost is two `dict.get`s, one dict lookup and the candidates' calls.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from engine.trigger.ast import And, Compare, Node, Or
from engine.trigger.compiler import Predicate
from engine.trigger.core import Trigger, parse

K = TypeVar("K", bound=Hashable)

#: Fields the router indexes on.
INDEXED = ("type", "event")
#: How many distinct (type, event) pairs keep a cached plan before the cache starts over.
PLAN_CACHE_SIZE = 4096

# A constraint maps an indexed field to the set of strings it must equal (absent: anything).
Constraint = dict[str, frozenset[str]]


def required(node: Node) -> Constraint:
    """The type/event values an event must have for `node` to possibly match."""
    if isinstance(node, Compare):
        path = node.field.path
        if (len(path) == 1 and path[0] in INDEXED and node.op == "=" and node.value.kind == "string"):
            assert isinstance(node.value.value, str)
            return {path[0]: frozenset({node.value.value})}
        return {}
    if isinstance(node, And):
        left, right = required(node.left), required(node.right)
        merged = dict(left)
        for name, values in right.items():
            merged[name] = merged[name] & values if name in merged else values
        return merged
    if isinstance(node, Or):
        left, right = required(node.left), required(node.right)
        return {name: left[name] | right[name] for name in left.keys() & right.keys()}
    return {}  # Not, Contains, Match: no positive requirement


def decided_by_index(node: Node) -> bool:
    """True when `required(node)` is not just necessary but sufficient: an `and` of leaves that
    are each an indexed equality or an `or` of equalities on one indexed field."""
    if isinstance(node, And):
        return decided_by_index(node.left) and decided_by_index(node.right)
    return _single_field_equalities(node) is not None


def _single_field_equalities(node: Node) -> str | None:
    if isinstance(node, Compare):
        path = node.field.path
        if len(path) == 1 and path[0] in INDEXED and node.op == "=" and node.value.kind == "string":
            return path[0]
        return None
    if isinstance(node, Or):
        left, right = _single_field_equalities(node.left), _single_field_equalities(node.right)
        return left if left is not None and left == right else None
    return None


@dataclass(frozen=True)
class _Entry(Generic[K]):
    key: K
    trigger: Trigger
    constraint: Constraint
    decided: bool


class Router(Generic[K]):
    """Many triggers under caller-chosen keys; `match(event)` returns the keys that match, in the
    order the triggers were given."""

    def __init__(self, triggers: Mapping[K, Trigger | str]) -> None:
        entries: list[_Entry[K]] = []
        for key, trigger in triggers.items():
            compiled = trigger if isinstance(trigger, Trigger) else parse(trigger)
            entries.append(_Entry(key, compiled, required(compiled.ast), decided_by_index(compiled.ast)))
        self._entries: tuple[_Entry[K], ...] = tuple(entries)
        self._plans: dict[tuple[str | None, str | None], tuple[tuple[K, Predicate | None], ...]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def triggers(self) -> dict[K, Trigger]:
        return {entry.key: entry.trigger for entry in self._entries}

    def _plan(self, kind: str | None, name: str | None) -> tuple[tuple[K, Predicate | None], ...]:
        plan: list[tuple[K, Predicate | None]] = []
        for entry in self._entries:
            types = entry.constraint.get("type")
            events = entry.constraint.get("event")
            if types is not None and kind not in types:
                continue
            if events is not None and name not in events:
                continue
            plan.append((entry.key, None if entry.decided else entry.trigger.matches))
        frozen = tuple(plan)
        if len(self._plans) >= PLAN_CACHE_SIZE:
            self._plans.clear()
        self._plans[(kind, name)] = frozen
        return frozen

    def candidates(self, event: Mapping[str, Any]) -> list[K]:
        """Keys of the triggers the index could not rule out for this event (for diagnostics)."""
        return [key for key, _ in self._lookup(event)]

    def _lookup(self, event: Mapping[str, Any]) -> tuple[tuple[K, Predicate | None], ...]:
        kind = event.get("type")
        name = event.get("event")
        if kind.__class__ is not str:
            kind = None
        if name.__class__ is not str:
            name = None
        plan = self._plans.get((kind, name))
        return plan if plan is not None else self._plan(kind, name)

    def match(self, event: Mapping[str, Any]) -> list[K]:
        """Keys of every trigger that matches `event`, in insertion order."""
        kind = event.get("type")
        name = event.get("event")
        if kind.__class__ is not str:
            kind = None
        if name.__class__ is not str:
            name = None
        plan = self._plans.get((kind, name))
        if plan is None:
            plan = self._plan(kind, name)
        return [key for key, test in plan if test is None or test(event)]
