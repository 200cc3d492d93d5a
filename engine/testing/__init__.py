"""Helpers for users' own tests: the spec-fixture runner and a canned local HTTP server."""

from __future__ import annotations

from engine.testing.fixtures import CaseOutcome, FixtureCase, fixture_cases, run_case, run_fixtures
from engine.testing.server import CannedServer, RecordedRequest

__all__ = [
    "CannedServer",
    "CaseOutcome",
    "FixtureCase",
    "RecordedRequest",
    "fixture_cases",
    "run_case",
    "run_fixtures",
]
