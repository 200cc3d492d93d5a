"""`ddengine demo`: the whole engine in a few seconds against the in-process sandbox."""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from engine._resources import examples_dir as bundled_examples_dir
from engine.runtime import aio, logs
from engine.runtime.config import load_config
from engine.runtime.pipeline import Pipeline
from engine.runtime.send import SendReport, drain, enqueue, read_events
from engine.runtime.sqlite_queue import SQLiteQueue

#: The demo's one event that is meant to fail (a two-digit phone number).
EXPECTED_DEAD = {"demo-bad-event"}
#: Sandbox budgets small enough that the demo meets a 429 and recovers from it.
DEMO_RATE_LIMITS = {"low": 4, "medium": 4, "high": 4, "window": 1}


def register(subparsers: Any) -> None:
    demo = subparsers.add_parser(
        "demo", help="Run the example config over the example events against the sandbox.",
        description="Start the Dotdigital sandbox (demo seed) in-process, run examples/config.json over "
        "examples/demo-events.jsonl (every action, an Engage audience, a bad event, a rate-limit hit) "
        "and show progress, the summary and what the sandbox now holds. The config's endpoint is "
        "replaced by the sandbox's URL; the queue is a throw-away file.")
    demo.add_argument("--examples", help="Folder with config.json and demo-events.jsonl "
                      "(default: ./examples, else the source checkout's).")
    demo.add_argument("--progress", choices=["auto", "always", "never"], default="auto",
                      help="Show a progress bar (auto: only on a terminal).")
    demo.set_defaults(handler=_demo)


def examples_dir(given: str | None = None) -> Path:
    """The folder the demo runs: --examples, ./examples, else the copy shipped with the engine."""
    candidates = [Path(given)] if given else [Path.cwd() / "examples", bundled_examples_dir()]
    for folder in candidates:
        if (folder / "config.json").is_file() and (folder / "demo-events.jsonl").is_file():
            return folder
    raise SystemExit(f"error: no examples folder with config.json and demo-events.jsonl "
                     f"(looked in {', '.join(str(c) for c in candidates)}); pass --examples")


def _demo(args: argparse.Namespace) -> int:
    from engine.sandbox import Sandbox

    logs.configure("CRITICAL")
    console = Console(highlight=False)
    folder = examples_dir(args.examples)
    started = time.monotonic()
    with Sandbox(seed="demo", rate_limits=DEMO_RATE_LIMITS) as sandbox, \
            tempfile.TemporaryDirectory(prefix="ddengine-demo-") as tmp:
        config = load_config(folder / "config.json").with_endpoint(sandbox.url)
        console.print(f"[bold]ddengine demo[/bold]: sandbox at {sandbox.url} (demo seed, "
                      f"{DEMO_RATE_LIMITS['medium']} calls/s per tier to show a rate-limit hit)")
        pipeline = Pipeline.bind(config)
        queue = SQLiteQueue(Path(tmp) / "demo.queue.sqlite")
        events, problems = read_events([str(folder / "demo-events.jsonl")])
        report = SendReport(invalid=problems)
        try:
            enqueue(pipeline, queue, events, report)
            console.print(f"{len(events)} events from {folder / 'demo-events.jsonl'} → "
                          f"{report.deliveries} deliveries over {len(pipeline.subscriptions)} subscriptions")
            show = args.progress == "always" or (args.progress == "auto" and console.is_terminal)
            aio.run(drain(pipeline, queue, report, console=console, progress=show))
            dead = queue.dlq_list(limit=1000)
        finally:
            queue.close()
            pipeline.close()
        from engine.cli.cmd_runtime import print_report

        print_report(console, report)
        hits = sum(1 for r in sandbox.requests if r.get("status") == 429)
        _show_dead(console, dead)
        _show_state(console, sandbox.state)
    unexpected = {d.message_id for d in dead} ^ EXPECTED_DEAD
    console.print(f"rate limit: the sandbox answered 429 {hits} time(s); each was retried after the wait "
                  "it named (Retry-After / X-RateLimit-Reset), and the account's limiter paused meanwhile")
    ok = not unexpected and hits > 0 and report.pending == 0 and not report.invalid
    elapsed = time.monotonic() - started
    if ok:
        console.print(f"[green]demo finished as designed[/green] in {elapsed:.1f} s: everything delivered "
                      "except the one bad event, which was dead-lettered on purpose.")
        return 0
    console.print(f"[red]demo did not go as designed[/red] ({elapsed:.1f} s): unexpected dead letters or "
                  f"misses: {sorted(str(m) for m in unexpected) or 'none'}; 429s seen: {hits}")
    return 1


def _show_dead(console: Console, dead: list[Any]) -> None:
    for letter in dead:
        planned = letter.message_id in EXPECTED_DEAD
        expected = " (expected: this event is the demo's bad event)" if planned else ""
        console.print(f"[yellow]dead-lettered[/yellow] {letter.message_id} → {letter.subscription}: "
                      f"{letter.error.get('message')}{expected}")


def _show_state(console: Console, state: Mapping[str, Any]) -> None:
    table = Table(title="What the sandbox now holds", title_justify="left")
    table.add_column("what")
    table.add_column("details")
    lists = {item["id"]: item["name"] for item in state.get("lists", [])}
    for contact in state.get("contacts", []):
        ident = contact.get("identifiers", {})
        ids = [m.get("id") if isinstance(m, Mapping) else m for m in contact.get("lists", [])]
        names = ", ".join(str(lists.get(i, i)) for i in ids) or "no lists"
        fields = contact.get("dataFields") or {}
        extra = f"; {fields}" if fields else ""
        table.add_row(f"contact {contact.get('contactId')}",
                      f"{ident.get('email') or ident.get('mobileNumber')}: {names}{extra}")
    for enrolment in state.get("enrolments", []):
        table.add_row("enrolment",
                      f"program {enrolment.get('programId')}, contacts {enrolment.get('contacts')}")
    for send in state.get("campaignSends", []):
        table.add_row("campaign send",
                      f"campaign {send.get('campaignId')} to contacts {send.get('contactIds')}")
    for email in state.get("emails", []):
        table.add_row("transactional email", f"{email.get('toAddresses')}: {email.get('subject')}")
    for sms in state.get("sms", []):
        table.add_row("SMS", f"{sms.get('to')}: {sms.get('message')}")
    for msg in state.get("cpaasMessages", []):
        table.add_row("transactional SMS", f"{msg.get('to', {}).get('phoneNumber')}: {msg.get('body')}")
    console.print(table)
