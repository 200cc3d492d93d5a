"""Worker policies against the sandbox: auth pause, vanished subscriptions, retry exhaustion."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from engine.runtime.config import load_config
from engine.runtime.pipeline import Pipeline
from engine.runtime.queue import Submission
from engine.runtime.service import make_worker
from engine.runtime.sqlite_queue import SQLiteQueue
from tests.runtime.conftest import add_events, write_config


def _setup(tmp_path: Path, url: str, password: str = "demo-password",
           **delivery: Any) -> tuple[Any, SQLiteQueue]:
    cfg = write_config(tmp_path, url, delivery={"backoff_base": 0.01, "backoff_max": 0.05, **delivery})
    pipeline = Pipeline.bind(load_config(cfg, env={"TEST_DD_PASSWORD": password}))
    return pipeline, SQLiteQueue(tmp_path / "queue.sqlite")


async def _run_for(worker: Any, seconds: float) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await asyncio.sleep(seconds)
    stop.set()
    await task


def test_auth_failure_pauses_instead_of_hammering(sandbox: Any, tmp_path: Path) -> None:
    pipeline, queue = _setup(tmp_path, sandbox.url, password="wrong-password", auth_pause=5)
    queue.enqueue([Submission(e, ("newsletter",), e["messageId"]) for e in add_events(5, "auth")])
    asyncio.run(_run_for(make_worker(pipeline, queue, concurrency=1), 1.0))
    stats = queue.stats()
    assert stats.dead == 0 and stats.pending == 5  # kept for after the settings are fixed
    assert len(sandbox.requests) <= 2  # paused after the first refusal


def test_retries_exhausted_go_to_dead_letters(sandbox: Any, tmp_path: Path) -> None:
    sandbox.set_faults(error_rate=1.0, error_statuses=[503])
    pipeline, queue = _setup(tmp_path, sandbox.url, max_attempts=3)
    queue.enqueue([Submission(e, ("newsletter",), e["messageId"]) for e in add_events(1, "exh")])
    asyncio.run(make_worker(pipeline, queue, poll_interval=0.01).run(asyncio.Event(), drain=True))
    (letter,) = queue.dlq_list()
    assert letter.attempts == 3 and "gave up after 3 attempts" in letter.error["note"]
    assert letter.error["type"] == "RetryableError" and letter.error["status"] == 503
    assert len(sandbox.requests) == 3


def test_delivery_for_a_removed_subscription_is_dead_lettered(sandbox: Any, tmp_path: Path) -> None:
    pipeline, queue = _setup(tmp_path, sandbox.url)
    queue.enqueue([Submission(add_events(1, "gone")[0], ("no-longer-configured",), "gone-1")])
    asyncio.run(make_worker(pipeline, queue).run(asyncio.Event(), drain=True))
    (letter,) = queue.dlq_list()
    assert letter.error["type"] == "ConfigError" and "no longer enabled" in letter.error["message"]
    assert sandbox.requests == []
