"""Every Dotdigital fixture runs through the engine's fixture runner against canned responses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine._resources import specs_dir

testing = pytest.importorskip("engine.testing")

FOLDER = specs_dir() / "dotdigital"
ACTIONS = sorted(p.stem for p in (FOLDER / "actions").glob("*.json"))
CASES = testing.fixture_cases(FOLDER)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_fixture(case: object) -> None:
    outcome = testing.run_case(case)
    assert outcome.ok, outcome.report()


@pytest.mark.parametrize("action", ACTIONS)
def test_each_action_has_the_required_fixture_kinds(action: str) -> None:
    folder = FOLDER / "fixtures" / action
    names = {p.stem for p in folder.glob("*.json")}
    assert len(names) >= 4
    assert "defaults" in names
    assert {"api_error_401", "api_error_404", "api_error_429", "api_error_500"} <= names
    kinds = {json.loads((folder / f"{n}.json").read_text())["expect"].get("error", {}).get("type") for n in names}
    assert "PayloadValidationError" in kinds, "at least one validation-error case"


def test_429_fixtures_carry_rate_limit_headers() -> None:
    for path in sorted(Path(FOLDER, "fixtures").glob("*/api_error_429.json")):
        case = json.loads(path.read_text())
        headers = case["responses"][-1]["headers"]
        assert {"X-RateLimit-Scope", "X-RateLimit-Limit", "X-RateLimit-Reset"} <= set(headers), path


@pytest.mark.parametrize("case", [c for c in CASES if str(c).endswith("/api_error_429")], ids=str)
def test_429_retry_after_comes_from_rate_limit_reset(case: object) -> None:
    outcome = testing.run_case(case)
    assert outcome.error is not None
    assert outcome.error.retry_after == 42
