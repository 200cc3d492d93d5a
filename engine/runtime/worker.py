"""Delivery workers: lease deliveries, run the action, settle each lease by the error's class.

Outcome by error class (docs/decisions.md D3): success → ack; `RetryableError` → retry after
backoff (the API's `retry_after` as a floor; a 429 also pauses the account's limiter) until
`max_attempts`, then dead letter; `AuthenticationError` → pause the worker and retry later
(`on_auth="pause"`) or dead-letter (`"dead_letter"`, used by one-shot `send`); every other engine
error → dead letter at once. Unexpected exceptions are retried like retryable errors, so a bug
never silently drops an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from engine.errors import AuthenticationError, EngineError, ErrorInfo, RetryableError
from engine.runtime import logs
from engine.runtime.backoff import RetryPolicy
from engine.runtime.metrics import Registry
from engine.runtime.pipeline import Pipeline
from engine.runtime.queue import DeliveryQueue, Lease

_log = logging.getLogger("engine.runtime.worker")


@dataclass
class SubscriptionStats:
    matched: int = 0
    delivered: int = 0
    failed: int = 0
    retried: int = 0
    api_calls: int = 0


@dataclass
class RunStats:
    """Counters per subscription for the `send` summary and tests."""

    subscriptions: dict[str, SubscriptionStats] = field(default_factory=dict)

    def of(self, name: str) -> SubscriptionStats:
        return self.subscriptions.setdefault(name, SubscriptionStats())

    @property
    def settled(self) -> int:
        return sum(s.delivered + s.failed for s in self.subscriptions.values())

    @property
    def failed(self) -> int:
        return sum(s.failed for s in self.subscriptions.values())


class Worker:
    """Runs deliveries from a queue with bounded concurrency until told to stop."""

    def __init__(self, pipeline: Pipeline, queue: DeliveryQueue, *, limiter: Any,
                 policy: RetryPolicy | None = None, concurrency: int = 8, batch_size: int = 100,
                 lease_seconds: float = 60.0, on_auth: str = "pause", auth_pause: float = 60.0,
                 stats: RunStats | None = None, metrics: Registry | None = None,
                 on_settled: Callable[[str, str], None] | None = None, poll_interval: float = 0.2,
                 rng: random.Random | None = None) -> None:
        self.pipeline = pipeline
        self.queue = queue
        self.limiter = limiter
        self.policy = policy or RetryPolicy()
        self.concurrency = concurrency
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.on_auth = on_auth
        self.auth_pause = auth_pause
        self.stats = stats or RunStats()
        self.metrics = metrics
        self.on_settled = on_settled
        self.poll_interval = poll_interval
        self._rng = rng or random.Random()
        self._paused_until = 0.0
        self._acks: list[Lease] = []
        self._held: dict[str, Lease] = {}

    async def run(self, stop: asyncio.Event, *, drain: bool = False) -> None:
        """Deliver until `stop` is set (or, with `drain`, until the queue has nothing pending).

        On stop, no new leases are taken, in-flight deliveries finish, and leases not yet
        started are released so another worker can take them at once.
        """
        sem = asyncio.Semaphore(self.concurrency)
        tasks: set[asyncio.Task[None]] = set()
        flusher = asyncio.create_task(self._flush_loop(stop))
        try:
            while not stop.is_set():
                if time.time() < self._paused_until:
                    await _wait(stop, min(self._paused_until - time.time(), 1.0))
                    continue
                free = self.concurrency - len(tasks)
                if free <= 0:
                    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                    continue
                leases = await asyncio.to_thread(self.queue.lease, min(free, self.batch_size),
                                                 self.lease_seconds)
                if not leases:
                    if drain and not tasks:
                        await self._flush()
                        if (await asyncio.to_thread(self.queue.stats)).pending == 0:
                            break
                    await _wait(stop, self.poll_interval)
                    continue
                for lease in leases:
                    self._held[lease.id] = lease
                for lease in leases:
                    if stop.is_set():
                        break
                    await sem.acquire()
                    task = asyncio.create_task(self._run_one(lease, sem))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            flusher.cancel()
            await self._flush()
            unstarted = list(self._held.values())
            self._held.clear()
            for lease in unstarted:
                await asyncio.to_thread(self.queue.release, lease)

    async def _run_one(self, lease: Lease, sem: asyncio.Semaphore) -> None:
        try:
            await self.deliver(lease)
        finally:
            sem.release()

    async def deliver(self, lease: Lease) -> str:
        """Deliver one lease and settle it; returns the outcome name."""
        self._held.pop(lease.id, None)
        name = lease.subscription
        stats = self.stats.of(name)
        started = time.monotonic()
        try:
            result = await self.pipeline.deliver(name, lease.event, limiter=self.limiter)
        except RetryableError as exc:
            self._count_calls(name, len(exc.requests))
            if exc.status == 429 and exc.retry_after:
                pause = getattr(self.limiter, "pause", None)
                if callable(pause):
                    pause(min(exc.retry_after, self.policy.max_retry_after))
            return await self._retry_or_die(lease, exc, exc.retry_after)
        except AuthenticationError as exc:
            self._count_calls(name, len(exc.requests))
            if self.on_auth == "pause":
                self._paused_until = time.time() + self.auth_pause
                logs.event(_log, logging.ERROR, "authentication refused; pausing deliveries",
                           subscription=name, pause_seconds=self.auth_pause, error=str(exc))
                await asyncio.to_thread(self.queue.retry, lease, self.auth_pause, self._error(exc))
                return self._settled(name, "paused", retried=True)
            return await self._dead(lease, exc)
        except EngineError as exc:
            self._count_calls(name, len(getattr(exc, "requests", []) or []))
            return await self._dead(lease, exc)
        except Exception as exc:  # a bug or an unexpected library error: retry, never drop
            logs.event(_log, logging.ERROR, "unexpected error during delivery", subscription=name,
                       delivery=lease.id, error=f"{type(exc).__name__}: {exc}")
            return await self._retry_or_die(lease, exc, None)
        self._count_calls(name, len(getattr(result, "requests", []) or []))
        self._acks.append(lease)
        if len(self._acks) >= self.batch_size:
            await self._flush()
        stats.delivered += 1
        logs.event(_log, logging.DEBUG, "delivered", subscription=name, delivery=lease.id,
                   message_id=lease.message_id, ms=round((time.monotonic() - started) * 1000, 1))
        return self._settled(name, "delivered")

    async def _retry_or_die(self, lease: Lease, exc: BaseException, retry_after: float | None) -> str:
        attempts = lease.attempts + 1
        if self.policy.exhausted(attempts):
            return await self._dead(lease, exc, note=f"gave up after {attempts} attempts")
        delay = self.policy.delay(lease.attempts, retry_after, self._rng)
        await asyncio.to_thread(self.queue.retry, lease, delay, self._error(exc))
        logs.event(_log, logging.INFO, "delivery will be retried", subscription=lease.subscription,
                   delivery=lease.id, attempt=attempts, delay=round(delay, 3), error=self._error(exc))
        return self._settled(lease.subscription, "retried", retried=True)

    async def _dead(self, lease: Lease, exc: BaseException, note: str | None = None) -> str:
        error = self._error(exc)
        if note:
            error["note"] = note
        await asyncio.to_thread(self.queue.dead_letter, lease, error)
        self.stats.of(lease.subscription).failed += 1
        logs.event(_log, logging.WARNING, "delivery dead-lettered", subscription=lease.subscription,
                   delivery=lease.id, message_id=lease.message_id, error=error)
        return self._settled(lease.subscription, "dead_lettered")

    def _error(self, exc: BaseException) -> dict[str, Any]:
        info = asdict(ErrorInfo.from_exception(exc))
        masked: dict[str, Any] = self.pipeline.mask(info)
        return masked

    def _settled(self, name: str, outcome: str, *, retried: bool = False) -> str:
        if retried:
            self.stats.of(name).retried += 1
        if self.metrics is not None:
            self.metrics.inc("ddengine_deliveries_total", subscription=name, outcome=outcome)
        if self.on_settled is not None:
            self.on_settled(name, outcome)
        return outcome

    def _count_calls(self, name: str, n: int) -> None:
        self.stats.of(name).api_calls += n
        if self.metrics is not None and n:
            self.metrics.inc("ddengine_api_calls_total", n, subscription=name)

    async def _flush(self) -> None:
        if self._acks:
            batch, self._acks = self._acks, []
            await asyncio.to_thread(self.queue.ack_many, batch)

    async def _flush_loop(self, stop: asyncio.Event) -> None:
        while True:
            await asyncio.sleep(0.05)
            await self._flush()


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout=max(seconds, 0.0))


def register_metrics(registry: Registry) -> None:
    registry.counter("ddengine_deliveries_total", "Deliveries settled, by subscription and outcome.")
    registry.counter("ddengine_api_calls_total", "HTTP requests sent to the destination, by subscription.")
