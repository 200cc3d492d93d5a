"""Cost of the value language and of build_payload, per call, on one core.

Run from the repository root: `python benchmarks/values.py [--seconds 1]`. Prints µs per call
and calls per second for: evaluating a compiled mapping, the fast validator, jsonschema's
validator on the same payload (for scale), and the whole build_payload (merge, evaluate,
coerce, x-transform, validate) of a typical six-field action.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jsonschema import Draft202012Validator

from engine.values import compile_value
from engine.values.mapping import payload_builder
from engine.values.schema import FORMAT_CHECKER

FIELDS: dict[str, Any] = {
    "type": "object",
    "required": ["channelIdentifier", "listId"],
    "properties": {
        "channelIdentifier": {"enum": ["email", "mobileNumber"]},
        "emailIdentifier": {"type": "string", "format": "email"},
        "mobileNumberIdentifier": {"type": "string", "x-transform": "phone(@)"},
        "listId": {"type": "number"},
        "firstName": {"type": "string"},
        "vip": {"type": "boolean"},
    },
    "allOf": [
        {"if": {"properties": {"channelIdentifier": {"const": "email"}}},
         "then": {"required": ["emailIdentifier"]}},
        {"if": {"properties": {"channelIdentifier": {"const": "mobileNumber"}}},
         "then": {"required": ["mobileNumberIdentifier"]}},
    ],
}
DEFAULTS = {name: compile_value(raw) for name, raw in {
    "channelIdentifier": "email",
    "emailIdentifier": {"@jmespath": "traits.email || properties.email"},
    "mobileNumberIdentifier": {"@jmespath": "traits.phone || properties.phone"},
    "firstName": {"@path": "$.traits.first_name"},
    "vip": {"@jmespath": "traits.vip"},
}.items()}
MAPPING = {"listId": compile_value({"@jmespath": "properties.list_id"})}
EVENT = {"type": "track", "event": "Add to List", "userId": "u-1",
         "traits": {"email": "ann@example.com", "first_name": "Ann", "vip": "true",
                    "phone": "+44 7700 900001"},
         "properties": {"list_id": "1001"}}


def measure(name: str, fn: Callable[[], object], seconds: float) -> float:
    fn()
    calls, start = 0, time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(200):
            fn()
        calls += 200
    per_call = (time.perf_counter() - start) / calls
    print(f"{name:<44} {per_call * 1e6:8.2f} µs   {1 / per_call:>10,.0f} /s")
    return per_call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time spent on each measurement")
    args = parser.parse_args()
    builder = payload_builder(FIELDS)
    merged = {**DEFAULTS, **MAPPING}
    payload = builder.build(DEFAULTS, MAPPING, EVENT)
    reference = Draft202012Validator(FIELDS, format_checker=FORMAT_CHECKER)
    template = compile_value({"@template": "Hi {{ traits.first_name }} ({{ userId }})"})
    measure("evaluate 6 compiled values", lambda: [v.evaluate(EVENT) for v in merged.values()], args.seconds)
    measure("@template with two placeholders", lambda: template.evaluate(EVENT), args.seconds)
    measure("fast validator (valid payload)", lambda: builder.validator.is_valid(payload), args.seconds)
    measure("jsonschema is_valid, same payload (scale)", lambda: reference.is_valid(payload), args.seconds)
    measure("build_payload: map+coerce+transform+validate", lambda: builder.build(DEFAULTS, MAPPING, EVENT),
            args.seconds)


if __name__ == "__main__":
    main()
