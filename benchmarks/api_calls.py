"""API calls per event, per Dotdigital action: ours (with the step cache) against Segment's reference.

Runs a mixed workload through the real engine against the local sandbox over HTTP and counts the
API requests the sandbox received for each action. The reference column is the number of calls
Segment's implementation makes for the same event (shared/dotdigital-api.md §5):

  addContactToList        1 PATCH, plus GET /v2/data-fields/ on every event that has data fields
  removeContactFromList   GET contact + DELETE membership
  enrolContact            PATCH contact + POST enrolment
  sendEmailCampaign       GET contact + POST send
  sendSms / sendTransactionalSms / sendTransactionalEmail   1 POST

Usage: python benchmarks/api_calls.py [--events N] [--contacts K] [--seed S]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.sandbox import Sandbox

from engine import load_destination
from engine.errors import EngineError

SETTINGS = {"region": "r1", "username": "demo@apiconnector.com", "password": "demo-password"}
ACTIONS = ("addContactToList", "removeContactFromList", "enrolContact", "sendEmailCampaign", "sendSms",
           "sendTransactionalSms", "sendTransactionalEmail")


def reference_calls(action: str, mapping: dict[str, Any]) -> int:
    """How many API calls Segment's Dotdigital destination makes for one event (§5)."""
    if action == "addContactToList":
        return 2 if mapping.get("dataFields") else 1
    if action in ("removeContactFromList", "enrolContact", "sendEmailCampaign"):
        return 2
    return 1


def _event(rng: random.Random, action: str, email: str, phone: str) -> tuple[dict[str, Any], dict[str, Any]]:
    traits = {"email": email, "phone": phone}
    event = {"type": "track", "event": action, "userId": email, "traits": traits}
    if action == "addContactToList":
        mapping: dict[str, Any] = {"listId": rng.choice([1001, 1002, 1003])}
        if rng.random() < 0.8:
            mapping["dataFields"] = {"FIRSTNAME": email.split("@")[0], "AGE": str(rng.randint(18, 80))}
        return event, mapping
    if action == "removeContactFromList":
        return event, {"listId": rng.choice([1001, 1002, 1003])}
    if action == "enrolContact":
        return event, {"programId": rng.choice(["2001", "2003"])}
    if action == "sendEmailCampaign":
        return event, {"campaignId": rng.choice([3001, 3002, 3003])}
    if action in ("sendSms", "sendTransactionalSms"):
        return event, {"message": "Your order has shipped"}
    return event, {"fromAddress": "orders@example.com", "subject": "Receipt", "htmlContent": "<p>Thanks</p>"}


def run(events: int, contacts: int, seed: int) -> int:
    rng = random.Random(seed)
    people = [(f"user{i}@example.com", f"4477001{i:05d}") for i in range(contacts)]
    ours: Counter[str] = Counter()
    reference: Counter[str] = Counter()
    count: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    with Sandbox(seed="demo") as sb:
        dest = load_destination("dotdigital")
        try:
            # every contact exists first (as after an identify), so lookups can succeed
            for email, phone in people:
                identify = {"type": "track", "traits": {"email": email, "phone": phone}}
                dest.run_action("addContactToList", identify, settings=SETTINGS, mapping={"listId": 1001},
                                base_url=sb.url)
            started = time.perf_counter()
            for _ in range(events):
                action = rng.choice(ACTIONS)
                email, phone = rng.choice(people)
                event, mapping = _event(rng, action, email, phone)
                before = len(sb.requests)
                try:
                    dest.run_action(action, event, settings=SETTINGS, mapping=mapping, base_url=sb.url)
                except EngineError as exc:
                    failures[f"{action}: {type(exc).__name__}"] += 1
                received = sb.requests[before:]
                ours[action] += len([r for r in received if not str(r["path"]).startswith("/_sandbox")])
                reference[action] += reference_calls(action, mapping)
                count[action] += 1
            elapsed = time.perf_counter() - started
        finally:
            dest.close()
    print(f"mixed workload: {events} events over {contacts} contacts (seed {seed}), {elapsed:.2f} s, "
          f"{events / elapsed:.0f} events/s")
    print(f"{'action':<24}{'events':>8}{'ours/event':>12}{'Segment/event':>15}{'saved':>8}")
    for action in ACTIONS:
        n = count[action]
        if not n:
            continue
        a, b = ours[action] / n, reference[action] / n
        print(f"{action:<24}{n:>8}{a:>12.2f}{b:>15.2f}{(1 - a / b) * 100:>7.0f}%")
    total_n = sum(count.values())
    a, b = sum(ours.values()) / total_n, sum(reference.values()) / total_n
    print(f"{'all':<24}{total_n:>8}{a:>12.2f}{b:>15.2f}{(1 - a / b) * 100:>7.0f}%")
    if failures:
        print("failures:", dict(failures))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=400, help="events in the mixed workload")
    parser.add_argument("--contacts", type=int, default=25, help="distinct contacts the events refer to")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the workload")
    args = parser.parse_args()
    return run(args.events, args.contacts, args.seed)


if __name__ == "__main__":
    raise SystemExit(main())
