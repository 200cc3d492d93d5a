"""Route an event to the triggers that match it, without evaluating the ones that cannot.

Each trigger is analysed for the `type`/`event` string equalities it *requires* (an `and` needs
both sides, an `or` needs one of its sides). Per distinct (type, event) pair of incoming events
the router builds, once, the ordered list of candidate triggers, and specialises each candidate
for that pair: conditions on `type`/`event` are already known, so
`type = "track" and event = "Order Completed"` is decided without any evaluation and
`... and properties.total >= 100` shrinks to `properties.total >= 100`. A plan that keeps being
used is then compiled, candidates and all, into one function. Per event the cost is two
`dict.get`s, one dict lookup and one call.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from engine.trigger.ast import And, Compare, Node, Not, Or
from engine.trigger.compiler import Predicate, compile_predicate, compile_selector
from engine.trigger.core import Trigger, parse
from engine.trigger.interpreter import evaluate_leaf

K = TypeVar("K", bound=Hashable)

#: Fields the router indexes on.
INDEXED = ("type", "event")
#: How many distinct (type, event) pairs keep a cached plan before the cache starts over.
PLAN_CACHE_SIZE = 4096
#: After this many events a plan is compiled into one function (rare pairs never pay for that).
FUSE_AFTER = 32

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


def reads(node: Node) -> frozenset[str]:
    """The indexed top-level fields (`type`, `event`) that `node` looks at."""
    if isinstance(node, Not):
        return reads(node.operand)
    if isinstance(node, And | Or):
        return reads(node.left) | reads(node.right)
    path = node.field.path
    return frozenset(path) & frozenset(INDEXED) if len(path) == 1 else frozenset()


def specialise(node: Node, known: Mapping[str, str]) -> Node | bool:
    """`node` with every condition on a field of `known` replaced by its truth value, simplified.

    `known` maps indexed fields to the string the event holds there. The result is True (the
    trigger matches whatever else the event holds), False (it cannot match), or the residual
    condition still to evaluate, e.g. `properties.total >= 100` for
    `type = "track" and event = "Order Completed" and properties.total >= 100`.
    """
    if isinstance(node, Not):
        inner = specialise(node.operand, known)
        if isinstance(inner, bool):
            return not inner
        return node if inner is node.operand else Not(inner)
    if isinstance(node, And | Or):
        left, right = specialise(node.left, known), specialise(node.right, known)
        absorbing = isinstance(node, Or)  # True absorbs `or`, False absorbs `and`
        if left is absorbing or right is absorbing:
            return absorbing
        if isinstance(left, bool):
            return right
        if isinstance(right, bool):
            return left
        if left is node.left and right is node.right:
            return node
        return type(node)(left, right)
    path = node.field.path
    if len(path) == 1 and path[0] in known:
        return evaluate_leaf(node, {path[0]: known[path[0]]})
    return node


@dataclass(frozen=True)
class _Entry(Generic[K]):
    key: K
    trigger: Trigger
    constraint: Constraint
    reads_type: bool
    reads_event: bool


Selector = Callable[[Mapping[str, Any]], list[Any]]
# One candidate of a plan: its key, its residual condition (None: always true) and the predicate
# that evaluates that condition on its own.
_Item = tuple[Any, Node | None, Predicate | None]


class _Plan:
    """The candidates for one (type, event) pair. Starts by calling each candidate's predicate;
    once it has served `fuse_after` events it compiles all of them into a single function."""

    __slots__ = ("fuse_after", "items", "select")

    def __init__(self, items: tuple[_Item, ...], fuse_after: int) -> None:
        self.items = items
        self.fuse_after = fuse_after
        self.select: Selector = self._unfused

    def _unfused(self, event: Mapping[str, Any]) -> list[Any]:
        self.fuse_after -= 1
        if self.fuse_after <= 0:
            self.select = compile_selector([(key, node) for key, node, _ in self.items])
        return [key for key, _, test in self.items if test is None or test(event)]


class Router(Generic[K]):
    """Many triggers under caller-chosen keys; `match(event)` returns the keys that match, in the
    order the triggers were given. `fuse_after`: events a (type, event) plan serves before it is
    compiled into one function (1 compiles at once; tests use it to cover both paths)."""

    def __init__(self, triggers: Mapping[K, Trigger | str], *, fuse_after: int = FUSE_AFTER) -> None:
        self._fuse_after = fuse_after
        entries: list[_Entry[K]] = []
        for key, trigger in triggers.items():
            compiled = trigger if isinstance(trigger, Trigger) else parse(trigger)
            fields = reads(compiled.ast)
            entries.append(_Entry(key, compiled, required(compiled.ast), "type" in fields, "event" in fields))
        self._entries: tuple[_Entry[K], ...] = tuple(entries)
        self._plans: dict[tuple[str | None, str | None], _Plan] = {}
        # residuals, shared by every plan: (entry index, known type, known event) → condition
        self._residuals: dict[tuple[int, str | None, str | None], tuple[Node | bool, Predicate | None]] = {}
        self._compiled: dict[Node, Predicate] = {}

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def triggers(self) -> dict[K, Trigger]:
        return {entry.key: entry.trigger for entry in self._entries}

    def _plan(self, kind: str | None, name: str | None) -> _Plan:
        items: list[_Item] = []
        if len(self._plans) >= PLAN_CACHE_SIZE:
            self._plans.clear()
            self._residuals.clear()
        for index, entry in enumerate(self._entries):
            types = entry.constraint.get("type")
            events = entry.constraint.get("event")
            if types is not None and kind not in types:
                continue
            if events is not None and name not in events:
                continue
            residual, test = self._residual(index, entry, kind, name)
            if residual is True:
                items.append((entry.key, None, None))
            elif residual is not False:
                assert not isinstance(residual, bool)
                items.append((entry.key, residual, test))
        plan = self._plans[(kind, name)] = _Plan(tuple(items), self._fuse_after)
        return plan

    def _residual(self, index: int, entry: _Entry[K], kind: str | None,
                  name: str | None) -> tuple[Node | bool, Predicate | None]:
        """The entry's condition for events with this type and event name, and its predicate."""
        known_kind = kind if entry.reads_type else None
        known_name = name if entry.reads_event else None
        cache_key = (index, known_kind, known_name)
        found = self._residuals.get(cache_key)
        if found is not None:
            return found
        known = {field: value for field, value in (("type", known_kind), ("event", known_name))
                 if value is not None}
        residual = specialise(entry.trigger.ast, known) if known else entry.trigger.ast
        test: Predicate | None = None
        if not isinstance(residual, bool):
            if residual == entry.trigger.ast:
                test = entry.trigger.matches
            else:
                test = self._compiled.get(residual) or self._compile(residual)
        result = self._residuals[cache_key] = (residual, test)
        return result

    def _compile(self, node: Node) -> Predicate:
        if len(self._compiled) >= PLAN_CACHE_SIZE:
            self._compiled.clear()
        function = self._compiled[node] = compile_predicate(node)
        return function

    def _lookup(self, event: Mapping[str, Any]) -> _Plan:
        kind = event.get("type")
        name = event.get("event")
        if kind.__class__ is not str:
            kind = None
        if name.__class__ is not str:
            name = None
        plan = self._plans.get((kind, name))
        return plan if plan is not None else self._plan(kind, name)

    def candidates(self, event: Mapping[str, Any]) -> list[K]:
        """Keys of the triggers the index could not rule out for this event (for diagnostics)."""
        return [key for key, _, _ in self._lookup(event).items]

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
        return plan.select(event)
