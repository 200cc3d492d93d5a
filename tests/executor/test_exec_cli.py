"""`ddengine spec validate|test|run` as a user runs them (subprocess, real files, real HTTP)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from engine.testing.server import CannedServer
from tests.executor.conftest import SETTINGS, SpecWriter, simple_action

ROOT = Path(__file__).resolve().parents[2]


def ddengine(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def _files(tmp_path: Path) -> tuple[str, str, str]:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"type": "track", "traits": {"email": "a/b@x.com"}}))
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps(SETTINGS))
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"amount": "3"}))
    return str(event), str(settings), str(mapping)


def test_validate_reports_bad_spec_with_path(write_spec: SpecWriter) -> None:
    action = simple_action()
    action["steps"][0]["request"]["methd"] = "GET"
    folder = write_spec(actions=[action])
    out = ddengine("spec", "validate", str(folder))
    assert out.returncode == 1
    text = (folder / "actions" / "track.json").read_text()
    offset = text.index('"methd"')
    line, column = text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)
    assert f"track.json:{line}:{column}: $.steps[0].request.methd: unknown key 'methd'" in out.stderr


def test_validate_reports_fixture_for_unknown_action(write_spec: SpecWriter) -> None:
    folder = write_spec(fixtures={"ghost/case": {"event": {}, "settings": {}, "expect": {}}})
    out = ddengine("spec", "validate", str(folder))
    assert out.returncode == 1 and "fixture for unknown action 'ghost'" in out.stderr


def test_test_command_fails_on_wrong_expectation(write_spec: SpecWriter) -> None:
    case = {
        "event": {"traits": {"email": "a@x.com"}},
        "settings": SETTINGS,
        "responses": [{"status": 200, "json": {}}],
        "expect": {"requests": [{"method": "POST", "path": "/v1/people/b@x.com/events"}]},
    }
    out = ddengine("spec", "test", str(write_spec(fixtures={"track/wrong": case})))
    assert out.returncode == 1
    assert "FAIL track/wrong" in out.stdout and "expected '/v1/people/b@x.com/events'" in out.stdout


def test_run_dry_run_masks_secrets(write_spec: SpecWriter, tmp_path: Path) -> None:
    action = simple_action()
    action["steps"][0]["request"]["query"] = {"key": {"@jmespath": "settings.password"}}
    event, settings, mapping = _files(tmp_path)
    out = ddengine(
        "spec",
        "run",
        "track",
        "--spec",
        str(write_spec(actions=[action])),
        "--event",
        event,
        "--settings",
        settings,
        "--mapping",
        mapping,
        "--dry-run",
        "--explain",
    )
    assert out.returncode == 0, out.stderr
    planned = json.loads(out.stdout[: out.stdout.rindex("]") + 1])
    assert planned[0]["url"] == "https://unused.example/v1/people/a%2Fb@x.com/events"
    assert planned[0]["query"] == {"key": "***"} and planned[0]["json"] == {"amount": 3}
    assert "hunter2-secret" not in out.stdout + out.stderr
    assert "field amount = 3 <- mapping" in out.stdout


def test_run_sends_to_base_url(write_spec: SpecWriter, tmp_path: Path) -> None:
    event, settings, mapping = _files(tmp_path)
    folder = write_spec()
    with CannedServer([{"status": 202, "json": {"queued": True}}]) as server:
        out = ddengine(
            "spec",
            "run",
            str(folder / "actions" / "track.json"),
            "--event",
            event,
            "--settings",
            settings,
            "--mapping",
            mapping,
            "--base-url",
            server.url,
            "--explain",
        )
        assert [r.path for r in server.requests] == ["/v1/people/a%2Fb@x.com/events"]
    assert out.returncode == 0, out.stderr
    assert '"queued": true' in out.stdout and "-> 202 (ok)" in out.stdout


def test_run_reports_payload_problems(write_spec: SpecWriter, tmp_path: Path) -> None:
    event = tmp_path / "bad.json"
    event.write_text('{"traits": {}}')
    _, settings, _ = _files(tmp_path)
    out = ddengine(
        "spec",
        "run",
        "track",
        "--spec",
        str(write_spec()),
        "--event",
        str(event),
        "--settings",
        settings,
        "--dry-run",
    )
    assert out.returncode == 1 and "email" in out.stderr


def test_run_reports_json_syntax_error_in_event(write_spec: SpecWriter, tmp_path: Path) -> None:
    event = tmp_path / "bad.json"
    event.write_text('{"traits": }')
    _, settings, _ = _files(tmp_path)
    out = ddengine(
        "spec", "run", "track", "--spec", str(write_spec()), "--event", str(event), "--settings", settings
    )
    assert out.returncode == 1 and "bad.json:1:12" in out.stderr


def test_validate_refuses_fixture_mapping_of_unknown_field(write_spec: SpecWriter) -> None:
    case = {"event": {}, "settings": SETTINGS, "mapping": {"emial": "x"}, "expect": {}}
    out = ddengine("spec", "validate", str(write_spec(fixtures={"track/typo": case})))
    assert out.returncode == 1
    assert re.search(r"typo\.json:\d+:\d+: \$\.mapping\.emial: track has no field 'emial'", out.stderr)


def test_validate_refuses_fixture_mapping_with_bad_expression(write_spec: SpecWriter) -> None:
    case = {"event": {}, "settings": SETTINGS, "mapping": {"email": {"@jmespath": "traits.["}}, "expect": {}}
    out = ddengine("spec", "validate", str(write_spec(fixtures={"track/bad": case})))
    assert out.returncode == 1 and "bad.json" in out.stderr and "$.mapping.email" in out.stderr
