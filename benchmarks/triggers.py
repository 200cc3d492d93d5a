"""Trigger speed: single evaluations, a 10-clause trigger, and routing through 50 subscriptions.

    python benchmarks/triggers.py [--seconds 1.0]

Prints evaluations (or events) per second on one core. Targets (issue 2): ≥1,000,000 single-trigger
evaluations/s and ≥300,000 events/s routed through 50 subscriptions.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.trigger import Router, parse  # noqa: E402
from engine.trigger.interpreter import evaluate  # noqa: E402

EVENTS = [json.loads(line) for line in (ROOT / "examples" / "events.jsonl").read_text().splitlines()
          if line.strip()]
ORDER = next(e for e in EVENTS if e.get("event") == "Order Completed")

SINGLE = 'type = "track" and event = "Order Completed"'
TEN_CLAUSES = (
    'type = "track" and event = "Order Completed" and properties.total >= 100 '
    'and properties.currency = "GBP" and contains(properties.coupon, "WINTER") '
    'and context.library.name = "analytics.js" and match(context.page.path, "/checkout/*") '
    'and userId != null and not properties.test = true and properties.revenue < 1e6'
)


def subscriptions() -> dict[str, str]:
    """50 subscriptions shaped like a real instance's: mostly type/event triggers, some broad ones."""
    subs: dict[str, str] = {}
    for i in range(20):
        subs[f"track-{i}"] = f'type = "track" and event = "Custom Event {i}"'
    for i in range(8):
        subs[f"order-{i}"] = f'type = "track" and event = "Order Completed" and properties.total >= {i * 25}'
    for i in range(6):
        subs[f"identify-{i}"] = f'type = "identify" and traits.plan = "plan-{i}"'
    subs["identify-vip"] = 'type = "identify" and traits.vip = true'
    subs["identify-email"] = 'type = "identify" and traits.email != null'
    for name in ("Checkout", "Pricing", "Home"):
        subs[f"page-{name}"] = f'(type = "page" or type = "screen") and name = "{name}"'
    subs["sms"] = 'type = "track" and event = "Send SMS" and properties.phone != null'
    subs["remove"] = 'type = "track" and event = "Remove Contact from List"'
    subs["viewed-pro"] = 'event = "Product Viewed" and match(properties.sku, "PRO-*")'
    subs["group"] = 'type = "group" and traits.employees > 100'
    subs["alias"] = 'type = "alias"'
    subs["refund"] = 'type = "track" and event = "Order Refunded"'
    subs["big-screen"] = 'type = "screen" and properties.total >= 300'
    # broad triggers the index cannot narrow: evaluated for every event
    subs["any-email"] = "traits.email != null or properties.email != null"
    subs["checkout-path"] = 'match(context.page.path, "/checkout*")'
    subs["gb-locale"] = 'context.locale = "en-GB" and userId != null'
    subs["not-track"] = 'not type = "track" and anonymousId != null'
    assert len(subs) == 50, len(subs)
    return subs


def rate(fn: Callable[[], Any], batch: int, seconds: float) -> float:
    """Calls per second of `fn`, which performs `batch` operations per call."""
    fn()  # warm up (and build the router's plan cache)
    done, start = 0, time.perf_counter()
    while True:
        fn()
        done += batch
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    seconds = parser.parse_args().seconds
    rows: list[tuple[str, float]] = []

    single = parse(SINGLE).matches
    assert single(ORDER)
    batch = [ORDER] * 1000

    def run_single() -> None:
        for event in batch:
            single(event)

    rows.append(("single type/event trigger (compiled)", rate(run_single, 1000, seconds)))

    ten = parse(TEN_CLAUSES)
    ten_event = {**ORDER, "context": {**ORDER["context"], "page": {"path": "/checkout/confirm"}}}
    assert ten.matches(ten_event), "the 10-clause trigger should hold for its event (all clauses run)"
    ten_fn = ten.matches

    def run_ten() -> None:
        for event in (ten_event,) * 1000:
            ten_fn(event)

    rows.append(("10-clause trigger, nested fields (compiled)", rate(run_ten, 1000, seconds)))

    ast = ten.ast

    def run_interpreted() -> None:
        for event in (ten_event,) * 100:
            evaluate(ast, event)

    rows.append(("10-clause trigger (AST interpreter, for scale)", rate(run_interpreted, 100, seconds / 2)))

    router = Router(subscriptions())
    stream = EVENTS * 64

    def run_router() -> None:
        for event in stream:
            router.match(event)

    rows.append(("route through 50 subscriptions, example mix", rate(run_router, len(stream), seconds)))

    worst = [ORDER] * 1000

    def run_router_order() -> None:
        for event in worst:
            router.match(event)

    rows.append(("route through 50, 'Order Completed' only", rate(run_router_order, 1000, seconds)))

    texts = subscriptions()

    def run_naive() -> None:  # what the reference does: parse and evaluate every subscription
        for event in EVENTS[:4]:
            for text in texts.values():
                parse(text).matches(event)

    rows.append(("route through 50, parse+compile per event (for scale)", rate(run_naive, 4, seconds / 2)))

    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value:>14,.0f} /s")
    matched = sum(len(router.match(e)) for e in EVENTS)
    print(f"(router: {len(EVENTS)} example events, {matched} matches in total)")


if __name__ == "__main__":
    main()
