"""The delivery runtime: instance config, durable queue, workers, retries, limiter.

See docs/runtime.md. The queue interface (`DeliveryQueue`) is backend-neutral; SQLite is the
embedded default.
"""

import logging

from engine.runtime.backoff import RetryPolicy
from engine.runtime.config import InstanceConfig, SubscriptionConfig, load_config, parse_config
from engine.runtime.limiter import NoLimit, TokenBucket
from engine.runtime.queue import DeadLetter, DeliveryQueue, EnqueueResult, Lease, QueueStats, Submission
from engine.runtime.sqlite_queue import SQLiteQueue

# Library use stays quiet unless the application configures logging (the CLI does).
logging.getLogger("engine").addHandler(logging.NullHandler())

__all__ = [
    "DeadLetter",
    "DeliveryQueue",
    "EnqueueResult",
    "InstanceConfig",
    "Lease",
    "NoLimit",
    "QueueStats",
    "RetryPolicy",
    "SQLiteQueue",
    "Submission",
    "SubscriptionConfig",
    "TokenBucket",
    "load_config",
    "parse_config",
]
