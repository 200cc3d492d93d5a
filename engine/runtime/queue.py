"""The delivery queue interface every backend implements (SQLite now, Redis Streams later).

One queue item is one *delivery*: an event paired with the name of the subscription that
matched it. Routing happens before enqueueing, so a retry or a dead letter concerns exactly
one subscription and never re-sends what another subscription already delivered.

Lifecycle of an item::

    enqueue ─▶ ready ─lease─▶ leased ─ack──────────▶ (gone)
                 ▲              │ ├─retry(delay)──▶ delayed ─(time)─▶ ready
                 │              │ ├─dead_letter───▶ dead letters ─replay─▶ ready
                 └──release─────┘ └─(lease expires: worker died)──▶ ready

Every method that settles a lease takes the `Lease` and returns False when the lease was lost
(it expired and another worker took the item): the caller's outcome is then dropped, which is
where the at-least-once window comes from (see docs/runtime.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class Submission:
    """One accepted event and the subscriptions it matched (possibly none)."""

    event: Mapping[str, Any]
    subscriptions: Sequence[str]
    #: Deduplication key; `None` disables deduplication for this event.
    message_id: str | None = None


@dataclass(frozen=True)
class EnqueueResult:
    """What `enqueue` did with a batch of submissions."""

    accepted: int = 0
    duplicates: int = 0
    deliveries: int = 0
    #: Per submission, in order: True when it was a duplicate and was dropped.
    duplicate_flags: tuple[bool, ...] = ()


@dataclass(frozen=True)
class Lease:
    """A delivery handed to one worker until `expires_at` (epoch seconds)."""

    id: str
    token: str
    subscription: str
    event: dict[str, Any]
    message_id: str | None
    #: Attempts already made before this lease (0 on the first delivery).
    attempts: int
    enqueued_at: float
    expires_at: float


@dataclass(frozen=True)
class DeadLetter:
    """A delivery that failed for good, with the reason (never containing secrets)."""

    id: str
    subscription: str
    event: dict[str, Any]
    message_id: str | None
    attempts: int
    error: dict[str, Any]
    failed_at: float
    enqueued_at: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class QueueStats:
    """Counts for `/metrics` and the CLI."""

    ready: int = 0
    delayed: int = 0
    leased: int = 0
    dead: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    @property
    def pending(self) -> int:
        """Items not yet settled (ready, waiting for a retry, or leased)."""
        return self.ready + self.delayed + self.leased


@runtime_checkable
class DeliveryQueue(Protocol):
    """Durable, at-least-once delivery queue with a dead-letter store.

    Implementations must make `enqueue` durable before returning (the server acknowledges the
    HTTP request right after), must drop a submission whose `message_id` was enqueued within
    the dedupe window, and must make every lease expire so that a crashed worker's items come
    back. All methods are synchronous and thread-safe; async callers run them in a thread.
    """

    def enqueue(self, submissions: Sequence[Submission]) -> EnqueueResult:
        """Store the submissions durably in one batch, dropping duplicates by message id."""
        ...

    def lease(self, n: int, lease_seconds: float) -> list[Lease]:
        """Take up to `n` ready deliveries for `lease_seconds`."""
        ...

    def ack(self, lease: Lease) -> bool:
        """The delivery succeeded: forget it."""
        ...

    def ack_many(self, leases: Sequence[Lease]) -> int:
        """Ack several leases at once (one durable write); returns how many were still held."""
        ...

    def retry(self, lease: Lease, delay: float, error: Mapping[str, Any]) -> bool:
        """Make the delivery ready again after `delay` seconds, counting one more attempt."""
        ...

    def dead_letter(self, lease: Lease, error: Mapping[str, Any]) -> bool:
        """Move the delivery to the dead-letter store with the reason."""
        ...

    def release(self, lease: Lease) -> bool:
        """Give the delivery back untouched (shutdown): ready now, no attempt counted."""
        ...

    def dlq_list(self, *, limit: int = 100, subscription: str | None = None) -> list[DeadLetter]:
        """Dead letters, oldest first."""
        ...

    def dlq_show(self, dead_letter_id: str) -> DeadLetter | None:
        """One dead letter by id, or None."""
        ...

    def dlq_replay(self, ids: Sequence[str] | None = None) -> int:
        """Queue the given (default: all) dead letters again with attempts reset; returns count."""
        ...

    def dlq_purge(self, ids: Sequence[str] | None = None) -> int:
        """Delete the given (default: all) dead letters; returns count."""
        ...

    def stats(self) -> QueueStats:
        """Current counts."""
        ...

    def close(self) -> None:
        """Release connections; the queue's data stays."""
        ...


__all__ = [
    "DeadLetter",
    "DeliveryQueue",
    "EnqueueResult",
    "Lease",
    "QueueStats",
    "Submission",
]
