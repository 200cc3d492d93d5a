"""``ddengine spec validate|test|run``: check spec folders, run their fixtures, run one action."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from engine._resources import specs_dir
from engine.errors import EngineError, SpecError
from engine.spec.jsonfile import load_json_file


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("spec", help="check, test and run spec files (destinations and actions)")
    sub = parser.add_subparsers(dest="spec_command", metavar="SUBCOMMAND")

    validate = sub.add_parser(
        "validate", help="load spec folders and fixtures; report the first error of each"
    )
    validate.add_argument(
        "path", nargs="*", help="destination folders or bundled names (default: all bundled)"
    )
    validate.set_defaults(handler=_validate)

    test = sub.add_parser("test", help="run fixtures/<action>/<case>.json against a local canned HTTP server")
    test.add_argument("path", nargs="*", help="destination folders or bundled names (default: all bundled)")
    test.add_argument("--explain", action="store_true", help="print each case's explain trace")
    test.set_defaults(handler=_test)

    run = sub.add_parser("run", help="run one action on an event (or show its requests with --dry-run)")
    run.add_argument("action", help="action key, DEST:KEY, or the path of an actions/<key>.json file")
    run.add_argument("--spec", help="destination folder or bundled name (default: the only bundled one)")
    run.add_argument("--event", required=True, type=Path, help="JSON file holding the event")
    run.add_argument(
        "--settings", required=True, type=Path, help="JSON file holding the destination settings"
    )
    run.add_argument("--mapping", type=Path, help="JSON file holding the subscription mapping")
    run.add_argument("--base-url", help="send to this base URL instead of the settings-derived one")
    run.add_argument(
        "--dry-run", action="store_true", help="render the requests without sending (secrets masked)"
    )
    run.add_argument("--explain", action="store_true", help="print the explain trace after the result")
    run.set_defaults(handler=_run)
    parser.set_defaults(handler=lambda args: (parser.print_help(), 2)[1])


def _bundled() -> list[str]:
    root = specs_dir()
    return sorted(str(p.parent) for p in root.glob("*/destination.json"))


def _targets(paths: list[str]) -> list[str]:
    found = paths or _bundled()
    if not found:
        print("no destinations found", file=sys.stderr)
    return found


def _validate(args: argparse.Namespace) -> int:
    from engine.spec.loader import load_spec
    from engine.testing.fixtures import check_fixture_actions, fixture_cases

    failed = 0
    for target in _targets(args.path):
        try:
            spec = load_spec(target)
            cases = fixture_cases(target)
            check_fixture_actions(cases, spec.actions)
        except EngineError as exc:
            failed += 1
            print(f"error: {exc}", file=sys.stderr)
            continue
        print(f"ok: {spec.slug}: {len(spec.actions)} action(s), {len(cases)} fixture(s)")
    return 1 if failed else 0


def _test(args: argparse.Namespace) -> int:
    from engine.execute.explain import format_trace
    from engine.testing.fixtures import run_fixtures

    passed = failed = 0
    for target in _targets(args.path):
        try:
            outcomes = run_fixtures(target)
        except EngineError as exc:
            failed += 1
            print(f"error: {exc}", file=sys.stderr)
            continue
        for outcome in outcomes:
            print(outcome.report())
            if args.explain:
                for line in format_trace(outcome.trace):
                    print(f"    {line}")
                if outcome.error is not None:
                    print(f"    error: {type(outcome.error).__name__}: {outcome.error}")
            passed += outcome.ok
            failed += not outcome.ok
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def _resolve_action(args: argparse.Namespace) -> tuple[str, str]:
    """(spec folder or name, action key) from ACTION and --spec."""
    action: str = args.action
    if action.endswith(".json"):
        path = Path(action)
        return str(path.resolve().parent.parent), path.stem
    if ":" in action and not args.spec:
        spec, key = action.split(":", 1)
        return spec, key
    if args.spec:
        return args.spec, action
    bundled = _bundled()
    if len(bundled) != 1:
        raise SpecError("several destinations are bundled: name one with --spec or DEST:ACTION")
    return bundled[0], action


def _read(path: Path | None) -> Any:
    return None if path is None else load_json_file(path)


def _run(args: argparse.Namespace) -> int:
    from engine.execute.destination import load_destination
    from engine.execute.explain import format_trace

    spec, key = _resolve_action(args)
    event, settings, mapping = _read(args.event), _read(args.settings), _read(args.mapping)
    with load_destination(spec) as dest:
        if args.dry_run:
            planned = dest.plan(key, event, settings=settings, mapping=mapping, base_url=args.base_url)
            print(json.dumps([p.to_dict() for p in planned], indent=2, default=str))
            if args.explain:
                trace = dest.explain(key, event, settings=settings, mapping=mapping, base_url=args.base_url)
                for line in format_trace(trace):
                    print(line)
            return 0
        result = dest.run_action(key, event, settings=settings, mapping=mapping, base_url=args.base_url)
        out = result.to_dict()
        out.pop("trace")
        print(json.dumps(out, indent=2, default=str))
        if args.explain:
            for line in format_trace(result.trace):
                print(line)
    return 0
