"""A local Dotdigital API sandbox: the endpoints, bodies, errors, rate limits and faults the
Dotdigital actions meet, over real HTTP. See docs/sandbox.md.
"""

from __future__ import annotations

from engine.sandbox.faults import FailRule
from engine.sandbox.ratelimit import RateLimitConfig
from engine.sandbox.seed import DEMO_PASSWORD, DEMO_USER
from engine.sandbox.server import Sandbox, serve

__all__ = ["DEMO_PASSWORD", "DEMO_USER", "FailRule", "RateLimitConfig", "Sandbox", "serve"]
