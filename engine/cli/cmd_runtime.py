"""Runtime commands: `config check`, `send`, `serve`, `worker`, `dlq list|show|replay|purge`."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from typing import Any

from rich.console import Console
from rich.table import Table

from engine.runtime import aio, logs
from engine.runtime.config import InstanceConfig, load_config
from engine.runtime.metrics import Registry
from engine.runtime.pipeline import Pipeline
from engine.runtime.queue import DeliveryQueue
from engine.runtime.send import SendReport, drain, enqueue, plan_requests, read_events, summary_table
from engine.runtime.service import ingest_only, make_limiter, make_worker, open_queue
from engine.runtime.worker import register_metrics


def register(subparsers: Any) -> None:
    config = subparsers.add_parser("config", help="Check instance config files.",
                                   description="Check instance config files.")
    config_sub = config.add_subparsers(dest="config_command", metavar="SUBCOMMAND")
    check = config_sub.add_parser("check", help="Validate a config and test-authenticate its settings.",
                                  description="Validate an instance config (schema, environment references, "
                                  "actions, triggers, mappings, settings, endpoint) and test-authenticate "
                                  "its settings against the destination.")
    check.add_argument("file", help="The instance config (JSON).")
    check.add_argument("--no-auth", action="store_true", help="Skip the test-authentication request.")
    check.set_defaults(handler=_config_check)
    config.set_defaults(handler=lambda args: (config.print_help(), 2)[1])

    send = subparsers.add_parser("send", help="Deliver events from files or stdin and print a summary.",
                                 description="Read JSON, JSON Lines or Segment batch files, route each event "
                                 "through the subscriptions, deliver through the durable queue, and print a "
                                 "summary per subscription. Exits 1 when anything failed.")
    send.add_argument("--config", required=True, help="The instance config (JSON).")
    send.add_argument("events", nargs="*", metavar="EVENTS",
                      help="Event files ('-' or nothing: standard input).")
    send.add_argument("--dry-run", action="store_true",
                      help="Print the requests each event would cause (secrets masked); send nothing.")
    send.add_argument("--queue", help="Queue file to use instead of the config's.")
    send.add_argument("--endpoint", help="Override the config's endpoint (same allow-list rules).")
    send.add_argument("--progress", choices=["auto", "always", "never"], default="auto",
                      help="Show a progress bar (auto: only on a terminal).")
    send.add_argument("--log-level", default="warning", help="Log level for JSON logs on stderr.")
    send.set_defaults(handler=_send)

    serve = subparsers.add_parser("serve", help="Run the Segment-compatible ingestion server (and workers).",
                                  description="HTTP ingestion compatible with Segment's tracking API "
                                  "(/v1/track, /identify, /page, /screen, /group, /alias, /batch), plus "
                                  "/healthz and /metrics. Runs delivery workers in the same process unless "
                                  "--no-workers.")
    serve.add_argument("--config", required=True, help="The instance config (JSON).")
    serve.add_argument("--host", help="Interface to listen on (default: config server.host or 127.0.0.1).")
    serve.add_argument("--port", type=int, help="Port (default: config server.port or 8088; 0 = any).")
    serve.add_argument("--no-workers", action="store_true", help="Only ingest; run `ddengine worker` apart.")
    serve.add_argument("--log-level", default="info", help="Log level for JSON logs on stderr.")
    serve.set_defaults(handler=_serve)

    worker = subparsers.add_parser("worker", help="Run delivery workers only (no HTTP server).",
                                   description="Deliver queued events until SIGTERM/SIGINT; on the signal, "
                                   "stop leasing, finish in-flight deliveries and release the rest.")
    worker.add_argument("--config", required=True, help="The instance config (JSON).")
    worker.add_argument("--log-level", default="info", help="Log level for JSON logs on stderr.")
    worker.add_argument("--concurrency", type=int, metavar="N",
                        help="Deliveries in flight in this process (default: delivery.concurrency).")
    worker.add_argument("--drain", action="store_true",
                        help="Exit once nothing is pending (ready, delayed or leased).")
    worker.add_argument("--require-durable", action="store_true",
                        help="Refuse to start when the Redis queue is not appendonly + appendfsync always.")
    worker.set_defaults(handler=_worker)

    dlq = subparsers.add_parser("dlq", help="Inspect, replay or purge dead letters.",
                                description="Dead letters are deliveries that failed for good, with "
                                "the reason.")
    dlq_sub = dlq.add_subparsers(dest="dlq_command", metavar="SUBCOMMAND")
    for name, text in (("list", "List dead letters."), ("show", "Show one dead letter in full (JSON)."),
                       ("replay", "Queue dead letters again (attempts reset)."),
                       ("purge", "Delete dead letters.")):
        p = dlq_sub.add_parser(name, help=text, description=text)
        p.add_argument("--config", required=True, help="The instance config (JSON).")
        p.add_argument("--queue", help="Queue file to use instead of the config's.")
        if name == "list":
            p.add_argument("--subscription", help="Only this subscription's dead letters.")
            p.add_argument("--limit", type=int, default=100, help="At most this many (default 100).")
            p.add_argument("--json", action="store_true", help="Print JSON lines instead of a table.")
        elif name == "show":
            p.add_argument("id", help="Dead-letter id (from `dlq list`).")
        else:
            p.add_argument("ids", nargs="*", metavar="ID", help="Dead-letter ids.")
            p.add_argument("--all", action="store_true", help=f"{name.capitalize()} every dead letter.")
        p.set_defaults(handler=_dlq, dlq_action=name)
    dlq.set_defaults(handler=lambda args: (dlq.print_help(), 2)[1])


# -- config check ---------------------------------------------------------------------------------
def _config_check(args: argparse.Namespace) -> int:
    config = load_config(args.file)
    pipeline = Pipeline.bind(config)
    enabled = len(pipeline.subscriptions)
    print(f"{args.file}: valid: destination {getattr(pipeline.destination, 'name', config.destination)}, "
          f"{len(config.subscriptions)} subscriptions ({enabled} enabled)")
    if not args.no_auth:
        pipeline.destination.test_authentication(config.settings, base_url=config.endpoint)
        print("authentication: ok")
    pipeline.close()
    return 0


# -- send -----------------------------------------------------------------------------------------
def _send(args: argparse.Namespace) -> int:
    logs.configure(args.log_level.upper())
    config = _config(args)
    pipeline = Pipeline.bind(config)
    console = Console()
    err = Console(stderr=True)
    events, problems = read_events(args.events)
    for problem in problems:
        err.print(f"[red]skipped[/red] {problem}", markup=True, highlight=False)
    if args.dry_run:
        return _dry_run(pipeline, events, console) or (1 if problems else 0)
    queue = open_queue(config, path=args.queue)
    report = SendReport(invalid=problems)
    try:
        enqueue(pipeline, queue, events, report)
        show = args.progress == "always" or (args.progress == "auto" and console.is_terminal)
        aio.run(drain(pipeline, queue, report, console=console, progress=show))
    finally:
        queue.close()
        pipeline.close()
    print_report(console, report, args.config)
    return 0 if report.ok else 1


def print_report(console: Console, report: SendReport, config_file: str | None = None) -> None:
    console.print(summary_table(report))
    line = f"{report.events} events accepted"
    if report.duplicates:
        line += f", {report.duplicates} dropped as duplicates (same messageId)"
    if report.invalid:
        line += f", {len(report.invalid)} invalid and skipped"
    console.print(line, highlight=False)
    if report.stats.failed:
        n = report.stats.failed
        hint = f"; see `ddengine dlq list --config {config_file}`" if config_file else ""
        console.print(f"[red]{n} {'delivery' if n == 1 else 'deliveries'} failed permanently[/red]{hint}",
                      highlight=False)
    if report.pending:
        console.print(f"[yellow]{report.pending} deliveries still queued[/yellow]", highlight=False)


def _dry_run(pipeline: Pipeline, events: list[dict[str, Any]], console: Console) -> int:
    failed = 0
    for event in events:
        for name in pipeline.route(event):
            header = f"# {event.get('messageId')} → {name}"
            try:
                planned = plan_requests(pipeline, event, name)
            except Exception as exc:
                failed += 1
                console.print(f"{header}: [red]{type(exc).__name__}[/red]: {pipeline.mask(str(exc))}",
                              highlight=False)
                continue
            console.print(header, highlight=False)
            console.print_json(json.dumps(planned, default=str))
    return 1 if failed else 0


# -- serve / worker -------------------------------------------------------------------------------
def _serve(args: argparse.Namespace) -> int:
    from engine.server import create_app
    from engine.server.run import bind, make_server

    logs.configure(args.log_level.upper())
    config = load_config(args.config)
    if not config.write_keys:
        print("error: the config has no server.write_keys; add at least one (e.g. \"${SEGMENT_WRITE_KEY}\")",
              file=sys.stderr)
        return 2
    pipeline = Pipeline.bind(config)
    queue = open_queue(config)
    registry = Registry()
    register_metrics(registry)
    background = []
    if not args.no_workers and not ingest_only(config):  # Redis: `ddengine worker` delivers
        limiter = make_limiter(pipeline)

        waited = getattr(limiter, "waited", None)
        if waited is not None:
            registry.gauge("ddengine_limiter_wait_seconds", "Seconds deliveries waited for the account's "
                           "rate limiter.", lambda: {(): float(limiter.waited)})

        async def work(stop: asyncio.Event) -> None:
            await make_worker(pipeline, queue, limiter=limiter, metrics=registry).run(stop)

        background.append(work)
    app = create_app(route=pipeline.route, queue=queue, write_keys=config.write_keys, metrics=registry,
                     background=background)
    host = args.host or config.server_host
    port = config.server_port if args.port is None else args.port
    sock = bind(host, port)
    actual = sock.getsockname()[1]
    logs.event(logs.logging.getLogger("engine.server"), logs.logging.INFO, "listening",
               url=f"http://{host}:{actual}", workers=bool(background))
    print(f"ddengine serving on http://{host}:{actual}", file=sys.stderr, flush=True)
    _exit_quietly_on_sigterm()
    try:
        make_server(app, log_level="warning").run(sockets=[sock])
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    finally:
        queue.close()
        pipeline.close()
    return 0


def _worker(args: argparse.Namespace) -> int:
    # The loop lives in engine.runtime.workerproc: with a Redis queue it also wires the shared
    # step cache and checks Redis persistence (issue 7).
    from engine.runtime.workerproc import WorkerOptions, run

    # A signal during start-up (before the event loop runs) must stop the worker gracefully too.
    early_stop: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: early_stop.append(signum))
    logs.configure(args.log_level.upper())
    config = load_config(args.config)
    options = WorkerOptions(concurrency=args.concurrency, drain=args.drain,
                            require_durable=args.require_durable)

    async def main() -> None:
        stop = asyncio.Event()
        if early_stop:
            stop.set()
        await run(config, options, stop=stop)

    aio.run(main())
    return 0


def _exit_quietly_on_sigterm() -> None:
    """uvicorn re-raises SIGTERM after its graceful shutdown; make that an exit with status 0."""
    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, handler)


# -- dlq ------------------------------------------------------------------------------------------
def _dlq(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    queue = open_queue(config, path=args.queue)
    try:
        return _DLQ_ACTIONS[args.dlq_action](args, queue)
    finally:
        queue.close()


def _dlq_list(args: argparse.Namespace, queue: DeliveryQueue) -> int:
    letters = queue.dlq_list(limit=args.limit, subscription=args.subscription)
    if args.json:
        for letter in letters:
            print(json.dumps(letter.to_dict(), default=str))
        return 0
    table = Table(title=f"Dead letters ({len(letters)})", title_justify="left")
    for col in ("id", "subscription", "messageId", "attempts", "failed at", "error"):
        table.add_column(col)
    for d in letters:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(d.failed_at))
        table.add_row(d.id, d.subscription, d.message_id or "", str(d.attempts), when,
                      f"{d.error.get('type')}: {d.error.get('message')}")
    Console().print(table)
    return 0


def _dlq_show(args: argparse.Namespace, queue: DeliveryQueue) -> int:
    letter = queue.dlq_show(args.id)
    if letter is None:
        print(f"error: no dead letter with id {args.id!r}", file=sys.stderr)
        return 1
    print(json.dumps(letter.to_dict(), indent=2, default=str))
    return 0


def _dlq_change(args: argparse.Namespace, queue: DeliveryQueue) -> int:
    if not args.ids and not args.all:
        print(f"error: give dead-letter ids or --all to {args.dlq_action} every one", file=sys.stderr)
        return 2
    try:
        ids = None if args.all else list(args.ids)
        if args.dlq_action == "replay":
            n = queue.dlq_replay(ids)
            print(f"{n} dead letters queued again; a running worker (or the next send) delivers them")
        else:
            n = queue.dlq_purge(ids)
            print(f"{n} dead letters deleted")
    except ValueError:
        print("error: dead-letter ids are numbers (see `ddengine dlq list`)", file=sys.stderr)
        return 2
    return 0


_DLQ_ACTIONS = {"list": _dlq_list, "show": _dlq_show, "replay": _dlq_change, "purge": _dlq_change}


def _config(args: argparse.Namespace) -> InstanceConfig:
    config = load_config(args.config)
    if getattr(args, "endpoint", None):
        config = config.with_endpoint(args.endpoint)
    return config


