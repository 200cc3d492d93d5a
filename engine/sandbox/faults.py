"""Injected faults for reliability tests: latency, a share of 500/503, dropped connections, and
"fail the next N calls to endpoint X with status S".

Everything random comes from one `random.Random(seed)`, drawn only when a rate is non-zero, so a
given seed and request order always produce the same faults.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

DROP = 0  # rule status meaning "close the connection without an answer"


@dataclass
class FailRule:
    """Fail the next `count` calls matching `endpoint` with `status` (0 = drop the connection).

    `endpoint` is `[METHOD ]PATH` where PATH is a route template (`/contacts/v3/{identifier}/{value}`),
    a concrete path, or a glob (`/v2/campaigns/*`); `*` alone matches every API call.
    """

    endpoint: str
    count: int = 1
    status: int = 503
    retry_after: float | None = None

    def __post_init__(self) -> None:
        method, _, path = self.endpoint.strip().partition(" ")
        if not path:
            method, path = "", method
        self.method = method.upper()
        self.path = path.strip().rstrip("/") or "/"
        if self.count < 0:
            raise ValueError("fault rule count must be 0 or more")
        if self.status != DROP and not 100 <= self.status <= 599:
            raise ValueError(f"fault rule status {self.status} is not an HTTP status (or 0 to drop)")

    def matches(self, method: str, path: str, template: str | None) -> bool:
        if self.method and self.method != method:
            return False
        if self.path in ("*", "/*"):
            return True
        return self.path == template or fnmatchcase(path, self.path)

    def as_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "count": self.count,
            "status": self.status,
            "retry_after": self.retry_after,
        }


@dataclass
class FaultAction:
    """What to do with one request: drop it, or answer `status`."""

    drop: bool = False
    status: int = 0
    retry_after: float | None = None


class Faults:
    def __init__(self) -> None:
        self.configure()

    def configure(
        self,
        *,
        latency: float = 0.0,
        latency_jitter: float = 0.0,
        error_rate: float = 0.0,
        error_statuses: Sequence[int] = (500, 503),
        drop_rate: float = 0.0,
        fail_next: Sequence[FailRule | Mapping[str, Any]] = (),
        seed: int | None = 0,
    ) -> None:
        """Replace the whole fault set (anything not given is off)."""
        for name, rate in (("error_rate", error_rate), ("drop_rate", drop_rate)):
            if not 0.0 <= float(rate) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {rate}")
        if latency < 0 or latency_jitter < 0:
            raise ValueError("latency and latency_jitter must be 0 or more seconds")
        if not error_statuses:
            raise ValueError("error_statuses must name at least one status")
        self.latency = float(latency)
        self.latency_jitter = float(latency_jitter)
        self.error_rate = float(error_rate)
        self.error_statuses = tuple(int(s) for s in error_statuses)
        self.drop_rate = float(drop_rate)
        self.rules = [r if isinstance(r, FailRule) else FailRule(**dict(r)) for r in fail_next]
        self.seed = seed
        self.rng = random.Random(seed)
        self.active = bool(
            self.latency or self.latency_jitter or self.error_rate or self.drop_rate or self.rules
        )

    def configure_from(self, doc: Mapping[str, Any]) -> None:
        """The `POST /_sandbox/faults` body: the keyword arguments of `configure` as JSON."""
        allowed = {
            "latency",
            "latency_jitter",
            "error_rate",
            "error_statuses",
            "drop_rate",
            "fail_next",
            "seed",
        }
        unknown = set(doc) - allowed
        if unknown:
            raise ValueError(f"unknown fault setting(s) {sorted(unknown)}; expected {sorted(allowed)}")
        try:
            self.configure(**doc)
        except TypeError as exc:
            raise ValueError(str(exc)) from None

    def delay(self) -> float:
        """Seconds to wait before answering this request."""
        if self.latency_jitter:
            return self.latency + self.rng.uniform(0.0, self.latency_jitter)
        return self.latency

    def decide(self, method: str, path: str, template: str | None) -> FaultAction | None:
        """Rules first (in order, consuming one count), then drop_rate, then error_rate."""
        for rule in self.rules:
            if rule.count > 0 and rule.matches(method, path, template):
                rule.count -= 1
                return FaultAction(drop=rule.status == DROP, status=rule.status, retry_after=rule.retry_after)
        if self.drop_rate and self.rng.random() < self.drop_rate:
            return FaultAction(drop=True)
        if self.error_rate and self.rng.random() < self.error_rate:
            return FaultAction(status=self.rng.choice(self.error_statuses))
        return None

    def as_json(self) -> dict[str, Any]:
        return {
            "latency": self.latency,
            "latency_jitter": self.latency_jitter,
            "error_rate": self.error_rate,
            "error_statuses": list(self.error_statuses),
            "drop_rate": self.drop_rate,
            "fail_next": [r.as_json() for r in self.rules],
            "seed": self.seed,
        }
