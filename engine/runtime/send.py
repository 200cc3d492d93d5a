"""One-shot delivery (`ddengine send`, `ddengine demo`): read events, queue, drain, summarise.

The events go through the same durable queue and workers as the service, so a `send` that is
interrupted leaves its remaining deliveries queued for the next `send` or `worker`.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from engine.eventfiles import EventFileError, documents, read_source
from engine.runtime.events import InvalidEvent, from_document
from engine.runtime.pipeline import Pipeline
from engine.runtime.queue import DeliveryQueue, Submission
from engine.runtime.service import make_worker
from engine.runtime.worker import RunStats


@dataclass
class SendReport:
    events: int = 0
    duplicates: int = 0
    invalid: list[str] = field(default_factory=list)
    deliveries: int = 0
    stats: RunStats = field(default_factory=RunStats)
    pending: int = 0

    @property
    def ok(self) -> bool:
        return not self.invalid and self.stats.failed == 0 and self.pending == 0


def read_events(sources: Sequence[str],
                stdin: IO[str] | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Events from JSON, JSON Lines or Segment batch files ('-' = stdin), and the problems found."""
    events: list[dict[str, Any]] = []
    problems: list[str] = []
    for source in sources or ["-"]:
        try:
            name, text = read_source(source, stdin)
        except EventFileError as exc:
            problems.append(str(exc))
            continue
        for doc in documents(text, name, problems=problems):
            try:
                events.extend(from_document(doc.value))
            except InvalidEvent as exc:
                problems.append(f"{doc.label}: {exc}")
    return events, problems


def enqueue(pipeline: Pipeline, queue: DeliveryQueue, events: Sequence[dict[str, Any]],
            report: SendReport) -> None:
    submissions = [Submission(event=e, subscriptions=tuple(pipeline.route(e)), message_id=e.get("messageId"))
                   for e in events]
    result = queue.enqueue(submissions)
    report.events += result.accepted
    report.duplicates += result.duplicates
    report.deliveries += result.deliveries
    for sub, dupe in zip(submissions, result.duplicate_flags, strict=True):
        if not dupe:
            for name in sub.subscriptions:
                report.stats.of(name).matched += 1
    for name in pipeline.subscriptions:
        report.stats.of(name)


async def drain(pipeline: Pipeline, queue: DeliveryQueue, report: SendReport, *,
                console: Console | None = None, progress: bool = False, limiter: Any = None) -> None:
    """Deliver until nothing is pending, with a progress bar when asked."""
    bar: Progress | None = None
    task_id: Any = None
    if progress and console is not None:
        bar = Progress(TextColumn("[bold]delivering"), BarColumn(), MofNCompleteColumn(),
                       TextColumn("{task.fields[note]}"), TimeElapsedColumn(), console=console,
                       transient=False)
        task_id = bar.add_task("deliver", total=max(report.deliveries, 1), note="")

    def settled(name: str, outcome: str) -> None:
        if bar is not None and outcome in {"delivered", "dead_lettered"}:
            retried = sum(s.retried for s in report.stats.subscriptions.values())
            note = f"retried {retried}" if retried else ""
            bar.update(task_id, advance=1, note=note)

    worker = make_worker(pipeline, queue, limiter=limiter, stats=report.stats, on_auth="dead_letter",
                         on_settled=settled, poll_interval=0.05)
    if bar is not None:
        with bar:
            await worker.run(asyncio.Event(), drain=True)
    else:
        await worker.run(asyncio.Event(), drain=True)
    report.pending = (await asyncio.to_thread(queue.stats)).pending


def summary_table(report: SendReport, title: str = "Delivery summary") -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("subscription")
    for col in ("matched", "delivered", "failed permanently", "retried", "API calls"):
        table.add_column(col, justify="right")
    totals = [0, 0, 0, 0, 0]
    for name, s in report.stats.subscriptions.items():
        row = [s.matched, s.delivered, s.failed, s.retried, s.api_calls]
        totals = [a + b for a, b in zip(totals, row, strict=True)]
        table.add_row(name, *(_cell(v, i) for i, v in enumerate(row)))
    table.add_section()
    table.add_row("[bold]total", *(f"[bold]{_cell(v, i)}" for i, v in enumerate(totals)))
    return table


def _cell(value: int, column: int) -> str:
    if column == 2 and value:
        return f"[red]{value}[/red]"
    return str(value)


def plan_requests(pipeline: Pipeline, event: dict[str, Any], name: str) -> Any:
    """The requests a subscription would send for an event (dry run), secrets masked."""
    planned = pipeline.plan(name, event)
    return pipeline.mask([_plain(p) for p in planned])


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if hasattr(obj, "_asdict"):
        return obj._asdict()
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    return obj
