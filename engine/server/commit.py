"""Group commit: concurrent requests share one durable queue write.

Each request waits for its own submissions to be on disk (at-least-once starts at the ack), but
while one write runs, the requests that arrive meanwhile pile up and go in the next write
together, so throughput grows with load instead of paying one fsync per request.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from engine.runtime.queue import DeliveryQueue, EnqueueResult, Submission


class GroupCommitter:
    """Funnel `enqueue` calls from many coroutines into few queue transactions."""

    def __init__(self, queue: DeliveryQueue, *, max_batch: int = 5000, linger: float = 0.002) -> None:
        self.queue = queue
        self.max_batch = max_batch
        #: How long the first waiter of a write waits for company (seconds); an fsync costs more.
        self.linger = linger
        self._pending: list[tuple[list[Submission], asyncio.Future[EnqueueResult]]] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self.writes = 0

    async def submit(self, submissions: Sequence[Submission]) -> EnqueueResult:
        """Return once the submissions are durably queued (or raise what the queue raised)."""
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = asyncio.create_task(self._run())
        assert self._wake is not None
        future: asyncio.Future[EnqueueResult] = asyncio.get_running_loop().create_future()
        self._pending.append((list(submissions), future))
        self._wake.set()
        return await future

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            if self.linger:
                await asyncio.sleep(self.linger)
            self._wake.clear()
            while self._pending:
                batch: list[tuple[list[Submission], asyncio.Future[EnqueueResult]]] = []
                size = 0
                while self._pending and (not batch or size + len(self._pending[0][0]) <= self.max_batch):
                    item = self._pending.pop(0)
                    batch.append(item)
                    size += len(item[0])
                await self._write(batch)

    async def _write(self, batch: list[tuple[list[Submission], asyncio.Future[EnqueueResult]]]) -> None:
        flat = [s for subs, _ in batch for s in subs]
        try:
            result = await asyncio.to_thread(self.queue.enqueue, flat)
        except Exception as exc:  # every waiter learns the write failed: nothing is acknowledged
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        self.writes += 1
        offset = 0
        for subs, future in batch:
            flags = result.duplicate_flags[offset:offset + len(subs)]
            offset += len(subs)
            dupes = sum(flags)
            if not future.done():
                future.set_result(EnqueueResult(
                    accepted=len(subs) - dupes, duplicates=dupes,
                    deliveries=sum(len(s.subscriptions) for s, d in zip(subs, flags, strict=True) if not d),
                    duplicate_flags=tuple(flags)))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
