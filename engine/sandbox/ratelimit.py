"""Tiered per-account rate limits (Low / Medium / High calls per minute) and their headers.

Each account has one fixed window per tier; the window opens with the first call and lasts
`window` seconds. Every answer carries `X-RateLimit-Scope/Limit/Remaining/Reset` (Reset =
whole seconds until the window closes); a call over budget gets 429 with `Retry-After`.
Budgets of the real service depend on the package and are unpublished except Basic Low = 35.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

TIERS = ("Low", "Medium", "High")
DEFAULT_BUDGETS = {"Low": 35, "Medium": 150, "High": 600}
DEFAULT_ENROLMENTS_PER_HOUR = 20


@dataclass(frozen=True)
class RateLimitConfig:
    """Per-tier budgets per `window` seconds, plus the enrolment allowance (None = off)."""

    budgets: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_BUDGETS))
    window: float = 60.0
    enrolments_per_hour: int | None = DEFAULT_ENROLMENTS_PER_HOUR
    enrolment_window: float = 3600.0

    def as_json(self) -> dict[str, Any]:
        return {
            **{tier.lower(): n for tier, n in self.budgets.items()},
            "window": self.window,
            "enrolments_per_hour": self.enrolments_per_hour,
            "enrolment_window": self.enrolment_window,
        }


def config_from(
    value: RateLimitConfig | Mapping[str, Any] | str | int | bool | None,
) -> RateLimitConfig | None:
    """Build a config from the forms users write; None / False / "off" turn limits off.

    Accepted: `True`/"on" (defaults), an int N (every tier N per window), a mapping or a
    "low=5,medium=10,high=20,window=60,enrolments=20" string (keys case-insensitive; missing
    tiers keep their defaults; `enrolments=off` disables the hourly enrolment allowance).
    """
    if value is None or value is False:
        return None
    if isinstance(value, RateLimitConfig):
        return value
    if value is True:
        return RateLimitConfig()
    if isinstance(value, int):
        return _from_mapping({"low": value, "medium": value, "high": value})
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("", "off", "none", "false"):
            return None
        if text in ("on", "true", "default"):
            return RateLimitConfig()
        if text.isdigit():
            return config_from(int(text))
        pairs: dict[str, Any] = {}
        for part in text.split(","):
            key, sep, raw = part.partition("=")
            if not sep:
                raise ValueError(
                    f"rate limit {part!r}: expected KEY=VALUE (keys low, medium, high, window, enrolments)"
                )
            pairs[key.strip()] = raw.strip()
        return _from_mapping(pairs)
    if isinstance(value, Mapping):
        return _from_mapping(value)
    raise ValueError(f"cannot read rate limits from {value!r}")


def _from_mapping(values: Mapping[str, Any]) -> RateLimitConfig:
    budgets = dict(DEFAULT_BUDGETS)
    window = 60.0
    enrolments: int | None = DEFAULT_ENROLMENTS_PER_HOUR
    enrolment_window = 3600.0
    for raw_key, raw in values.items():
        key = str(raw_key).lower().replace("-", "_")
        try:
            if key in ("low", "medium", "high"):
                budgets[key.capitalize()] = _positive_int(raw)
            elif key == "window":
                window = float(raw)
                if window <= 0:
                    raise ValueError
            elif key in ("enrolments", "enrolments_per_hour"):
                enrolments = None if str(raw).lower() in ("off", "none", "0", "false") else _positive_int(raw)
            elif key == "enrolment_window":
                enrolment_window = float(raw)
            else:
                raise KeyError(raw_key)
        except KeyError:
            raise ValueError(
                f"unknown rate limit key {raw_key!r}; "
                "expected low, medium, high, window, enrolments, enrolment_window"
            ) from None
        except (TypeError, ValueError):
            raise ValueError(f"rate limit {raw_key!r}: {raw!r} is not a positive number") from None
    return RateLimitConfig(budgets, window, enrolments, enrolment_window)


def _positive_int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError
    number = int(raw)
    if number < 1:
        raise ValueError
    return number


@dataclass
class Decision:
    allowed: bool
    headers: dict[str, str]


class RateLimiter:
    """Fixed windows keyed by (account id, tier); call under the sandbox lock."""

    def __init__(self, config: RateLimitConfig) -> None:
        self.config = config
        self._windows: dict[tuple[int, str], list[float]] = {}  # key -> [window start, count]

    def hit(self, account_id: int, tier: str, now: float) -> Decision:
        limit = self.config.budgets.get(tier)
        if limit is None:  # an unlimited tier
            return Decision(True, {"X-RateLimit-Scope": tier})
        window = self._windows.get((account_id, tier))
        if window is None or now - window[0] >= self.config.window:
            window = [now, 0]
            self._windows[(account_id, tier)] = window
        allowed = window[1] < limit
        if allowed:
            window[1] += 1
        reset = max(1, math.ceil(window[0] + self.config.window - now))
        headers = {
            "X-RateLimit-Scope": tier,
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(int(limit - window[1])),
            "X-RateLimit-Reset": str(reset),
        }
        if not allowed:
            headers["Retry-After"] = str(reset)
        return Decision(allowed, headers)

    def clear(self) -> None:
        self._windows.clear()
