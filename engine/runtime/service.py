"""Assemble the runtime's parts from a config: queue, limiter, workers (used by the CLI and tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.errors import ConfigError
from engine.runtime.backoff import RetryPolicy
from engine.runtime.config import InstanceConfig
from engine.runtime.limiter import NoLimit, TokenBucket
from engine.runtime.metrics import Registry
from engine.runtime.pipeline import Pipeline
from engine.runtime.queue import DeliveryQueue
from engine.runtime.sqlite_queue import SQLiteQueue
from engine.runtime.worker import RunStats, Worker


def open_queue(config: InstanceConfig, *, path: str | Path | None = None) -> DeliveryQueue:
    """The queue the config names (SQLite by default; `path` overrides the file)."""
    q = config.queue
    if q.backend == "sqlite":
        target = Path(path) if path is not None else q.path
        assert target is not None
        return SQLiteQueue(target, dedupe_window=q.dedupe_window, synchronous=q.synchronous)
    if q.backend == "redis":
        from engine.runtime.redis.queue import open_redis_queue

        return open_redis_queue(q.url, dedupe_window=q.dedupe_window, min_replicas=q.min_replicas,
                                file=config.file)
    raise ConfigError(f"queue backend {q.backend!r} is not available in this version (use \"sqlite\")",
                      file=config.file, path="$.queue.backend")


def ingest_only(config: InstanceConfig) -> bool:
    """Whether `serve` only ingests: with a shared (Redis) queue, delivery is the job of
    `ddengine worker` processes, so ingestion and delivery scale separately."""
    return config.queue.backend == "redis"


def make_limiter(pipeline: Pipeline) -> Any:
    """One token bucket for the account (None budget → no limit)."""
    rpm = pipeline.rate_limit()
    if not rpm:
        return NoLimit()
    if pipeline.config.queue.backend == "redis":  # one budget for every process on every host
        from engine.runtime.redis.wiring import shared_limiter

        return shared_limiter(pipeline.config, rpm, getattr(pipeline.destination, "settings_schema", None))
    burst = pipeline.config.burst or max(1.0, min(rpm / 60.0 * 5, rpm))
    return TokenBucket.per_minute(rpm, burst)


def make_worker(pipeline: Pipeline, queue: DeliveryQueue, *, limiter: Any = None,
                stats: RunStats | None = None, metrics: Registry | None = None,
                on_auth: str = "pause", **overrides: Any) -> Worker:
    d = pipeline.config.delivery
    options: dict[str, Any] = {
        "policy": RetryPolicy(max_attempts=d.max_attempts, base=d.backoff_base, cap=d.backoff_max),
        "concurrency": d.concurrency, "batch_size": d.batch_size, "lease_seconds": d.lease_seconds,
        "auth_pause": d.auth_pause,
    }
    options.update(overrides)
    return Worker(pipeline, queue, limiter=limiter if limiter is not None else make_limiter(pipeline),
                  stats=stats, metrics=metrics, on_auth=on_auth, **options)
