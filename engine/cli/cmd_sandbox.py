"""`ddengine sandbox`: run the local Dotdigital API sandbox in the foreground."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from engine.errors import EngineError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sandbox",
        help="run a local Dotdigital API sandbox",
        description="Serve a local Dotdigital API (contacts v3, v2, CPaaS) with seeded data, rate limits and "
        "injectable faults. Prints its base URL; Ctrl-C or SIGTERM stops it. "
        "Demo credentials: demo@apiconnector.com / demo-password.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=0, help="port to listen on; 0 picks a free one (default 0)"
    )
    parser.add_argument(
        "--seed", choices=("demo", "empty"), default="demo", help="initial data set (default demo)"
    )
    parser.add_argument(
        "--data",
        metavar="FILE",
        help="JSON file laid over the seed (same shape as GET /_sandbox/state; may hold 'users')",
    )
    parser.add_argument(
        "--rate-limit",
        metavar="SPEC",
        default="off",
        help="tiered rate limits: off (default), on (Low 35 / Medium 150 / High 600 per minute, "
        "20 enrolments per hour), N (every tier N), or low=5,medium=10,high=20,window=60,enrolments=20",
    )
    parser.add_argument(
        "--user",
        action="append",
        metavar="NAME:PASSWORD",
        help="API user (repeatable; each user gets its own account); default the demo user",
    )
    faults = parser.add_argument_group(
        "faults", "injected faults (also settable at run time: POST /_sandbox/faults)"
    )
    faults.add_argument(
        "--latency", type=float, default=0.0, metavar="SECONDS", help="delay before every answer"
    )
    faults.add_argument(
        "--latency-jitter", type=float, default=0.0, metavar="SECONDS", help="extra random delay, 0..SECONDS"
    )
    faults.add_argument(
        "--error-rate", type=float, default=0.0, metavar="SHARE", help="share (0-1) of calls answered 500/503"
    )
    faults.add_argument(
        "--error-statuses",
        default="500,503",
        metavar="LIST",
        help="statuses for --error-rate (default 500,503)",
    )
    faults.add_argument(
        "--drop-rate",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="share (0-1) of connections dropped unanswered",
    )
    faults.add_argument(
        "--fail-next",
        action="append",
        metavar="'[METHOD ]PATH=COUNT[:STATUS]'",
        help="fail the next COUNT calls to an endpoint with STATUS (default 503; 0 drops the connection), "
        "e.g. 'POST /v2/programs/enrolments=2:503' (repeatable)",
    )
    faults.add_argument(
        "--fault-seed", type=int, default=0, metavar="N", help="seed of the fault RNG (default 0)"
    )
    parser.set_defaults(handler=_run)


def _fault_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The CLI fault options as a `POST /_sandbox/faults` document."""
    rules = []
    for spec in args.fail_next or []:
        endpoint, sep, rest = spec.rpartition("=")
        count_text, _, status_text = rest.partition(":")
        if (
            not sep
            or not endpoint.strip()
            or not count_text.isdigit()
            or (status_text and not status_text.isdigit())
        ):
            raise EngineError(f"--fail-next {spec!r}: expected '[METHOD ]PATH=COUNT[:STATUS]'")
        rules.append(
            {"endpoint": endpoint.strip(), "count": int(count_text), "status": int(status_text or 503)}
        )
    try:
        statuses = [int(s) for s in args.error_statuses.split(",") if s.strip()]
    except ValueError:
        raise EngineError(
            f"--error-statuses {args.error_statuses!r}: expected numbers like 500,503"
        ) from None
    return {
        "latency": args.latency,
        "latency_jitter": args.latency_jitter,
        "error_rate": args.error_rate,
        "error_statuses": statuses,
        "drop_rate": args.drop_rate,
        "fail_next": rules,
        "seed": args.fault_seed,
    }


def _users(specs: list[str] | None) -> dict[str, str] | None:
    if not specs:
        return None
    users = {}
    for spec in specs:
        name, sep, password = spec.partition(":")
        if not sep or not name or not password:
            raise EngineError(f"--user {name or spec!r}: expected NAME:PASSWORD")
        users[name] = password
    return users


def _run(args: argparse.Namespace) -> int:
    from engine.sandbox import Sandbox, serve

    try:
        sandbox = Sandbox(
            seed=args.seed,
            users=_users(args.user),
            rate_limits=args.rate_limit,
            host=args.host,
            port=args.port,
            data=args.data,
            faults=_fault_settings(args),
        )
    except ValueError as exc:
        raise EngineError(str(exc)) from None

    def ready(url: str) -> None:
        users = ", ".join(sandbox.users)
        print(url, flush=True)
        print(
            f"sandbox: seed {args.seed}, API user(s) {users}, rate limits {args.rate_limit}", file=sys.stderr
        )
        print("sandbox: Ctrl-C to stop", file=sys.stderr, flush=True)

    try:
        serve(sandbox, on_ready=ready)
    except OSError as exc:
        raise EngineError(str(exc)) from None
    print("sandbox: stopped", file=sys.stderr)
    return 0
