"""Run actions: render steps to requests, send them with httpx (sync or async), read the answers."""

from __future__ import annotations

from engine.execute.cache import Cache, MemoryCache
from engine.execute.destination import Destination, Limiter, load_destination
from engine.execute.result import ActionResult, PlannedRequest, SentRequest

__all__ = [
    "ActionResult",
    "Cache",
    "Destination",
    "Limiter",
    "MemoryCache",
    "PlannedRequest",
    "SentRequest",
    "load_destination",
]
