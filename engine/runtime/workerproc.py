"""A process that only delivers: `ddengine worker --config FILE`.

With a Redis queue, ingestion (`ddengine serve`) and delivery scale apart: start as many of these
as the account budget and the machines allow, on any host that reaches Redis. They share the
queue, the account's rate budget and the step cache through Redis. SIGTERM or SIGINT stops one
gracefully: no new leases, in-flight deliveries finish, unstarted leases go back at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass
from typing import Any

import redis

from engine.errors import ConfigError, SpecError
from engine.runtime import logs
from engine.runtime.config import InstanceConfig
from engine.runtime.pipeline import Pipeline
from engine.runtime.queue import DeliveryQueue
from engine.runtime.service import make_limiter, make_worker, open_queue

_log = logging.getLogger("engine.runtime.workerproc")


@dataclass(frozen=True)
class WorkerOptions:
    concurrency: int | None = None
    lease_seconds: float | None = None
    drain: bool = False
    require_durable: bool = False


def bind_pipeline(config: InstanceConfig) -> Pipeline:
    """The config bound to its destination; with Redis, the step cache is the shared one."""
    if config.queue.backend != "redis":
        return Pipeline.bind(config)
    import engine
    from engine.runtime.redis.wiring import shared_cache

    try:
        destination = engine.load_destination(config.destination_ref(), cache=shared_cache(config))
    except SpecError as exc:
        if exc.file is None or "not found" in str(exc).lower():
            raise ConfigError(str(exc), file=config.file, path="$.destination") from None
        raise
    return Pipeline.bind(config, destination=destination)


def check_durability(queue: DeliveryQueue, *, require: bool) -> None:
    """Warn (or, with `require`, refuse to start) when Redis would lose acknowledged events."""
    problems_of = getattr(queue, "durability_problems", None)
    if not callable(problems_of):
        return
    problems: list[str] = problems_of()
    for problem in problems:
        logs.event(_log, logging.WARNING, "redis persistence is weaker than the queue promises",
                   problem=problem)
    if problems and require:
        raise ConfigError("; ".join(problems) + " (see docs/operations.md)", path="$.queue.url")


async def run(config: InstanceConfig, options: WorkerOptions, *, stop: asyncio.Event | None = None) -> int:
    """Deliver until stopped (or, with `drain`, until nothing is pending); returns settled count."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):  # first: loading the specs takes a moment
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    try:
        pipeline = bind_pipeline(config)
        queue = open_queue(config)
    except BaseException:
        _remove_handlers(loop)
        raise
    overrides: dict[str, Any] = {}
    if options.concurrency:
        overrides["concurrency"] = options.concurrency
    if options.lease_seconds:
        overrides["lease_seconds"] = options.lease_seconds
    try:
        check_durability(queue, require=options.require_durable)
        worker = make_worker(pipeline, queue, limiter=make_limiter(pipeline), **overrides)
        logs.event(_log, logging.INFO, "worker started", backend=config.queue.backend,
                   consumer=getattr(queue, "consumer", None), concurrency=worker.concurrency)
        while not stop.is_set():
            try:
                await worker.run(stop, drain=options.drain)
                break
            except redis.RedisError as exc:  # Redis away longer than the client's retry window
                logs.event(_log, logging.ERROR, "queue unreachable; retrying", error=str(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=2.0)
        logs.event(_log, logging.INFO, "worker stopped", settled=worker.stats.settled)
        return worker.stats.settled
    finally:
        _remove_handlers(loop)
        queue.close()
        pipeline.close()


def _remove_handlers(loop: asyncio.AbstractEventLoop) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(sig)
