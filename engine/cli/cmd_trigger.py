"""`ddengine trigger check|eval`: try trigger expressions from the shell."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any

from engine.eventfiles import EventFileError, documents, read_source
from engine.trigger import Trigger, parse
from engine.trigger.interpreter import Explanation, Reason, explain, kind_of


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = subparsers.add_parser("trigger", help="check and evaluate trigger expressions",
                                  description="Check and evaluate trigger expressions (docs/triggers.md).")
    commands = group.add_subparsers(dest="trigger_command", metavar="SUBCOMMAND")
    group.set_defaults(handler=lambda _args: _usage(group))

    check = commands.add_parser(
        "check", help="parse an expression, print its canonical form and Segment-compatibility warnings",
        description="Parse EXPR, print its canonical form, and warn where Segment's FQL would read it "
        "differently. Exit status: 0 valid, 1 syntax error, 3 warnings with --strict.")
    check.add_argument("expression", metavar="EXPR", help="the trigger expression, e.g. 'type = \"track\"'")
    check.add_argument("--strict", action="store_true", help="exit with status 3 when there are warnings")
    check.set_defaults(handler=_check)

    evaluate = commands.add_parser(
        "eval", help="evaluate an expression against events; print true/false per event",
        description="Evaluate EXPR against each event and print true or false, one line per event. "
        "Events are read as one JSON object, a JSON array of objects, or JSON Lines.")
    evaluate.add_argument("expression", metavar="EXPR", help="the trigger expression")
    evaluate.add_argument("--event", "-e", metavar="FILE", default="-",
                          help="file with the events (JSON or JSON Lines); '-' reads standard input "
                          "(the default)")
    evaluate.add_argument("--explain", action="store_true",
                          help="also say which sub-expression decided, with the event's values")
    evaluate.set_defaults(handler=_eval)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _check(args: argparse.Namespace) -> int:
    trigger = parse(args.expression)
    print(trigger)
    for warning in trigger.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 3 if args.strict and trigger.warnings else 0


def _eval(args: argparse.Namespace) -> int:
    trigger = parse(args.expression)
    for warning in trigger.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    try:
        origin, text = read_source(args.event)
        count = 0
        for number, event in enumerate(read_events(text, origin), start=1):
            print(_line(trigger, number, event, args.explain), file=sys.stdout)
            count += 1
        if count == 0:
            raise EventFileError(f"{origin}: no events found")
    except EventFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def read_events(text: str, origin: str = "<input>") -> Iterator[dict[str, Any]]:
    """Events from a JSON object, a JSON array of objects, a Segment batch, or JSON Lines."""
    for doc in documents(text, origin):
        value = doc.value
        if isinstance(value, dict) and isinstance(value.get("batch"), list):
            value = value["batch"]
        if isinstance(value, dict):
            yield value
        elif isinstance(value, list) and doc.line is None:
            for index, item in enumerate(value):
                if not isinstance(item, dict):
                    raise EventFileError(f"{origin}: item {index} of the array is not a JSON object")
                yield item
        else:
            where = f"line {doc.line}: an event" if doc.line is not None else "the document"
            raise EventFileError(f"{origin}: {where} must be a JSON object, not {type(value).__name__}")


def _line(trigger: Trigger, number: int, event: dict[str, Any], with_reasons: bool) -> str:
    result = trigger.matches(event)
    word = "true" if result else "false"
    if not with_reasons:
        return word
    explanation: Explanation = explain(trigger.ast, event)
    if explanation.result != result:  # would be a compiler bug; never hide it
        raise AssertionError(f"compiled and interpreted results differ for event {number}")
    return f"{word:<5}  #{number} {_label(event)}: {_reasons(explanation)}"


def _label(event: dict[str, Any]) -> str:
    kind = event.get("type")
    label = kind if isinstance(kind, str) else "?"
    name = event.get("event") if kind == "track" else event.get("name")
    if isinstance(name, str):
        label += f" {json.dumps(name, ensure_ascii=False)}"
    return label


def _reasons(explanation: Explanation) -> str:
    return "; ".join(_reason(r) for r in explanation.reasons)


def _reason(reason: Reason) -> str:
    if not reason.present:
        seen = f"{reason.field} is missing"
    else:
        seen = f"{reason.field} is {_short(reason.value)}"
        kind = kind_of(reason.value)
        if not reason.result and reason.needs and reason.value is not None and kind != reason.needs:
            seen += f", {kind}, not {reason.needs}"
    return f"{reason.text} is {'true' if reason.result else 'false'} ({seen})"


def _short(value: Any, limit: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


