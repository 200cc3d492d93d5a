"""`ddengine worker --config FILE`: a delivery-only process (scale out by starting more)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "worker",
        help="deliver queued events only (start several, on any host, with a Redis queue)",
        description="Run delivery workers for an instance config without ingesting anything. With "
        '"queue": {"backend": "redis", ...} every worker on every host shares the queue, the '
        "account's rate budget and the step cache; `ddengine serve` then only ingests. SIGTERM "
        "stops gracefully.",
    )
    parser.add_argument("--config", required=True, metavar="FILE", help="the instance config (JSON)")
    parser.add_argument("--concurrency", type=int, metavar="N",
                        help="deliveries in flight in this process "
                        "(default: the config's delivery.concurrency)")
    parser.add_argument("--lease-seconds", type=float, metavar="S",
                        help="how long a delivery stays leased before another worker may take it over "
                        "(default: the config's delivery.lease_seconds)")
    parser.add_argument("--drain", action="store_true",
                        help="exit once nothing is pending (ready, delayed or leased) instead of waiting")
    parser.add_argument("--require-durable", action="store_true",
                        help="refuse to start when Redis is not set to appendonly yes + appendfsync always")
    parser.add_argument("--log-level", default="INFO",
                        help="log level for the JSON logs on stderr (default INFO)")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from engine.runtime import logs
    from engine.runtime.config import load_config
    from engine.runtime.workerproc import WorkerOptions, run

    logs.configure(args.log_level.upper())
    config = load_config(args.config)
    options = WorkerOptions(concurrency=args.concurrency, lease_seconds=args.lease_seconds,
                            drain=args.drain, require_durable=args.require_durable)
    asyncio.run(run(config, options))
    return 0
