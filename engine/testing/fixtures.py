"""The spec-fixture runner: run ``fixtures/<action>/<case>.json`` against a local canned server.

From pytest::

    from engine.testing import fixture_cases, run_case
    @pytest.mark.parametrize("case", fixture_cases("specs/acme"), ids=str)
    def test_spec(case):
        outcome = run_case(case)
        assert outcome.ok, outcome.report()
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import EngineError, SpecError
from engine.execute.cache import MemoryCache
from engine.execute.destination import Destination
from engine.execute.result import ActionResult
from engine.spec._positions import index_of, place
from engine.spec.jsonfile import json_path, load_json_file
from engine.spec.loader import load_spec, resolve_folder
from engine.spec.meta import check_against_meta
from engine.testing.server import CannedServer, RecordedRequest
from engine.values import compile_value


@dataclass(frozen=True)
class FixtureCase:
    """One fixture file, checked against specs/meta/fixture.schema.json."""

    folder: Path
    file: Path
    action: str
    data: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.action}/{self.file.stem}"

    def __str__(self) -> str:
        return self.name


@dataclass
class CaseOutcome:
    case: FixtureCase
    failures: list[str] = field(default_factory=list)
    result: ActionResult | None = None
    error: BaseException | None = None
    requests: list[RecordedRequest] = field(default_factory=list)
    trace: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def report(self) -> str:
        head = f"{'PASS' if self.ok else 'FAIL'} {self.case.name}"
        return "\n".join([head, *(f"  - {f}" for f in self.failures)])


def fixture_cases(path: str | os.PathLike[str]) -> list[FixtureCase]:
    """Every fixture of a destination folder (or bundled name), sorted, checked against the meta-schema."""
    folder = resolve_folder(path)
    cases = []
    root = folder / "fixtures"
    for file in sorted(root.glob("*/*.json")) if root.is_dir() else []:
        data = load_json_file(file)
        try:
            check_against_meta("fixture", data, file=str(file))
        except SpecError as exc:
            raise _placed(exc, file) from None
        cases.append(
            FixtureCase(folder=folder, file=file, action=data.get("action", file.parent.name), data=data)
        )
    return cases


def check_fixture_actions(cases: list[FixtureCase], actions: Mapping[str, Any] | set[str]) -> None:
    """Refuse fixtures naming an action the destination does not have, and (given the actions)
    mappings that name undeclared fields or hold bad expressions."""
    for case in cases:
        try:
            _check_fixture_action(case, actions)
        except SpecError as exc:
            on_key = exc.reason.startswith(("unknown key", f"{case.action} has no"))
            raise _placed(exc, case.file, key=on_key) from None


def _check_fixture_action(case: FixtureCase, actions: Mapping[str, Any] | set[str]) -> None:
    if case.action not in actions:
        raise SpecError(f"fixture for unknown action {case.action!r}", file=str(case.file), path="$.action")
    action = actions[case.action] if isinstance(actions, Mapping) else None
    mapping = case.data.get("mapping") or {}
    if action is None:
        return
    fields = action.fields
    open_schema = fields.get("additionalProperties") not in (None, False)
    for key, raw in mapping.items():
        where = json_path(["mapping", key])
        if key not in fields.get("properties", {}) and not open_schema:
            known = ", ".join(sorted(fields.get("properties", {})))
            raise SpecError(
                f"{case.action} has no field {key!r} (fields: {known})", file=str(case.file), path=where
            )
        compile_value(raw, file=str(case.file), path=where)


def _placed(exc: SpecError, file: Path, *, key: bool = False) -> SpecError:
    """The error with the line and column of its JSON path in `file` (read again: errors are rare)."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError:
        return exc
    return place(exc, index_of(text), key=key)


def _compare_requests(expected: list[dict[str, Any]], got: list[RecordedRequest]) -> list[str]:
    failures = []
    if len(expected) != len(got):
        sent = ", ".join(f"{r.method} {r.path}" for r in got) or "none"
        failures.append(f"expected {len(expected)} request(s), got {len(got)}: {sent}")
    for i, (want, have) in enumerate(zip(expected, got, strict=False)):
        label = f"request {i + 1}"
        if want["method"].upper() != have.method:
            failures.append(f"{label}: method {have.method}, expected {want['method'].upper()}")
        if want["path"] not in (have.path, have.decoded_path):
            failures.append(f"{label}: path {have.decoded_path!r}, expected {want['path']!r}")
        if "query" in want:
            wanted = {
                k: [str(x) for x in v] if isinstance(v, list) else str(v) for k, v in want["query"].items()
            }
            if wanted != have.query:
                failures.append(f"{label}: query {have.query}, expected {wanted}")
        if "json" in want and want["json"] != have.json:
            failures.append(f"{label}: json {have.json!r}, expected {want['json']!r}")
    return failures


def _compare_error(want: dict[str, Any], error: BaseException) -> list[str]:
    failures = []
    names = {cls.__name__ for cls in type(error).__mro__}
    if want["type"] not in names:
        failures.append(f"error {type(error).__name__}: {error}, expected {want['type']}")
    if "contains" in want and want["contains"] not in str(error):
        failures.append(f"error message {str(error)!r} does not contain {want['contains']!r}")
    for name in want.get("fields", []):
        if name not in getattr(error, "fields", []):
            failures.append(f"error does not name field {name!r} (fields: {getattr(error, 'fields', [])})")
    if "status" in want and getattr(error, "status", None) != want["status"]:
        failures.append(f"error status {getattr(error, 'status', None)}, expected {want['status']}")
    return failures


def run_case(
    case: FixtureCase, *, destination: Destination | None = None, server: CannedServer | None = None
) -> CaseOutcome:
    """Run one case against a canned server (started here unless given) and compare."""
    own_dest = destination is None
    dest = destination or Destination(load_spec(case.folder), cache=MemoryCache())
    own_server = server is None
    srv = server or CannedServer().start()
    outcome = CaseOutcome(case=case)
    data = case.data
    try:
        srv.reset(data.get("responses", []))
        expect = data["expect"]
        try:
            outcome.result = dest.run_action(
                case.action,
                data["event"],
                settings=data["settings"],
                mapping=data.get("mapping"),
                base_url=srv.url,
            )
            outcome.trace = outcome.result.trace
        except EngineError as exc:
            outcome.error = exc
        outcome.requests = list(srv.requests)
        if "requests" in expect:
            outcome.failures += _compare_requests(expect["requests"], outcome.requests)
        if "error" in expect:
            if outcome.error is None:
                outcome.failures.append(f"expected {expect['error']['type']}, but the action succeeded")
            else:
                outcome.failures += _compare_error(expect["error"], outcome.error)
        elif outcome.error is not None:
            outcome.failures.append(f"unexpected {type(outcome.error).__name__}: {outcome.error}")
        if (
            "result" in expect
            and outcome.error is None
            and outcome.result is not None
            and outcome.result.result != expect["result"]
        ):
            outcome.failures.append(f"result {outcome.result.result!r}, expected {expect['result']!r}")
    finally:
        if own_server:
            srv.stop()
        if own_dest:
            dest.close()
    return outcome


def run_fixtures(path: str | os.PathLike[str]) -> list[CaseOutcome]:
    """Load a destination and run all its fixtures with one server; each case gets a fresh cache."""
    folder = resolve_folder(path)
    spec = load_spec(folder)
    cases = fixture_cases(folder)
    check_fixture_actions(cases, spec.actions)
    outcomes = []
    with CannedServer() as server:
        for case in cases:
            dest = Destination(spec, cache=MemoryCache())
            try:
                outcomes.append(run_case(case, destination=dest, server=server))
            finally:
                dest.close()
    return outcomes
