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
    parser.set_defaults(handler=_run)


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
