"""Every Dotdigital fixture runs through the engine's fixture runner against canned responses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine._resources import specs_dir

testing = pytest.importorskip("engine.testing")
if not hasattr(testing, "fixture_cases"):
    pytest.skip("the fixture runner (executor branch) is not merged yet", allow_module_level=True)

FOLDER = specs_dir() / "dotdigital"
ACTIONS = sorted(p.stem for p in (FOLDER / "actions").glob("*.json"))
CASES = testing.fixture_cases(FOLDER)


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    """One canned server for the module (starting one per case costs ~0.5 s each)."""
    with testing.CannedServer() as srv:
        yield srv


def _run(case: Any, server: Any) -> Any:
    from engine import load_destination
    from engine.execute.cache import MemoryCache

    dest = load_destination(FOLDER, cache=MemoryCache())  # fresh cache: cases stay independent
    try:
        return testing.run_case(case, destination=dest, server=server)
    finally:
        dest.close()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_fixture(case: Any, server: Any) -> None:
    outcome = _run(case, server)
    assert outcome.ok, outcome.report()


@pytest.mark.parametrize("action", ACTIONS)
def test_each_action_has_the_required_fixture_kinds(action: str) -> None:
    folder = FOLDER / "fixtures" / action
    names = {p.stem for p in folder.glob("*.json")}
    assert len(names) >= 4
    assert "defaults" in names
    assert {"api_error_401", "api_error_404", "api_error_429", "api_error_500"} <= names
    expects = [json.loads((folder / f"{n}.json").read_text())["expect"] for n in names]
    kinds = {e.get("error", {}).get("type") for e in expects}
    assert "PayloadValidationError" in kinds, "at least one validation-error case"


def test_429_fixtures_carry_rate_limit_headers() -> None:
    for path in sorted(Path(FOLDER, "fixtures").glob("*/api_error_429.json")):
        case = json.loads(path.read_text())
        headers = case["responses"][-1]["headers"]
        assert {"X-RateLimit-Scope", "X-RateLimit-Limit", "X-RateLimit-Reset"} <= set(headers), path


@pytest.mark.parametrize("case", [c for c in CASES if str(c).endswith("/api_error_429")], ids=str)
def test_429_retry_after_comes_from_rate_limit_reset(case: Any, server: Any) -> None:
    outcome = _run(case, server)
    assert outcome.error is not None
    assert outcome.error.retry_after == 42
