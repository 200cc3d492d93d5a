"""Declarative destination engine.

The embedding API (stable, see docs/embedding.md) is re-exported here:
`load_destination`, `Destination`, `Action`, `ActionResult`, `SentRequest`, `PlannedRequest`,
`Cache`, `MemoryCache`, `Limiter`, and the error classes of `engine.errors`. Imports are lazy so
that `import engine` (and the CLI's start-up) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_destination": "engine.execute.destination",
    "Destination": "engine.execute.destination",
    "Limiter": "engine.execute.destination",
    "ActionResult": "engine.execute.result",
    "SentRequest": "engine.execute.result",
    "PlannedRequest": "engine.execute.result",
    "Cache": "engine.execute.cache",
    "MemoryCache": "engine.execute.cache",
    "Action": "engine.spec.model",
    "EngineError": "engine.errors",
    "SpecError": "engine.errors",
    "ConfigError": "engine.errors",
    "MappingError": "engine.errors",
    "PayloadValidationError": "engine.errors",
    "Problem": "engine.errors",
    "DestinationError": "engine.errors",
    "AuthenticationError": "engine.errors",
    "RetryableError": "engine.errors",
    "TriggerSyntaxError": "engine.errors",
}

if TYPE_CHECKING:
    from engine.errors import (
        AuthenticationError,
        ConfigError,
        DestinationError,
        EngineError,
        MappingError,
        PayloadValidationError,
        Problem,
        RetryableError,
        SpecError,
        TriggerSyntaxError,
    )
    from engine.execute.cache import Cache, MemoryCache
    from engine.execute.destination import Destination, Limiter, load_destination
    from engine.execute.result import ActionResult, PlannedRequest, SentRequest
    from engine.spec.model import Action


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "Action",
    "ActionResult",
    "AuthenticationError",
    "Cache",
    "ConfigError",
    "Destination",
    "DestinationError",
    "EngineError",
    "Limiter",
    "MappingError",
    "MemoryCache",
    "PayloadValidationError",
    "PlannedRequest",
    "Problem",
    "RetryableError",
    "SentRequest",
    "SpecError",
    "TriggerSyntaxError",
    "__version__",
    "load_destination",
]
