"""`ddengine trigger check|eval`, run as the real command (and in-process for the cheap cases)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "events.jsonl"


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", "trigger", *args], cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=60)


def test_readme_command_explains_every_bundled_event() -> None:
    done = _run("eval", "--explain", 'type = "track" and properties.total >= 100', "--event", str(EXAMPLES))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    events = [json.loads(line) for line in EXAMPLES.read_text().splitlines() if line.strip()]
    assert len(lines) == len(events)
    assert 10 <= len(events) <= 20
    assert {e["type"] for e in events} == {"track", "identify", "page", "screen", "group", "alias"}
    for line, event in zip(lines, events, strict=True):
        total = event.get("properties", {}).get("total")
        expected = event["type"] == "track" and type(total) in (int, float) and total >= 100
        assert line.startswith("true " if expected else "false "), line
    assert '"250.00", a string, not a number' in done.stdout  # the string total is explained
    assert 'properties.total is missing' in done.stdout


def test_check_prints_canonical_form_and_warnings() -> None:
    done = _run("check", 'type="track" and x=1 or type = "page"')
    assert done.returncode == 0
    assert done.stdout.strip() == 'type = "track" and x = 1 or type = "page"'
    assert "mixed without parentheses" in done.stderr
    assert "only accepts type, event, name and userId" in done.stderr


def test_check_reports_syntax_errors_with_caret_and_status_1() -> None:
    done = _run("check", 'type = "track" and')
    assert done.returncode == 1
    assert "expected an expression after 'and'" in done.stderr
    assert done.stderr.rstrip().endswith("^")


def test_eval_reads_json_lines_from_stdin() -> None:
    stdin = '{"type": "track", "event": "A"}\n\n{"type": "page"}\n'
    done = _run("eval", 'type = "track"', stdin=stdin)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["true", "false"]


def test_check_strict_exits_3_on_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trigger", "check", "--strict", 'type = "a" or type = "b" and event = "c"']) == 3
    assert main(["trigger", "check", "--strict", 'type = "a" or (type = "b" and event = "c")']) == 0
    capsys.readouterr()


@pytest.mark.parametrize(("content", "expected"), [
    ('{"type": "track"}', ["true"]),
    ('[{"type": "track"}, {"type": "identify"}, {"type": "track"}]', ["true", "false", "true"]),
    ('{\n  "type": "track",\n  "event": "x"\n}\n', ["true"]),
])
def test_eval_accepts_object_array_and_pretty_json(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   content: str, expected: list[str]) -> None:
    source = tmp_path / "events.json"
    source.write_text(content)
    assert main(["trigger", "eval", 'type = "track"', "--event", str(source)]) == 0
    assert capsys.readouterr().out.split() == expected


@pytest.mark.parametrize(("content", "message"), [
    ('{"type": "track"}\n{"type": oops}\n', "line 2, column 10: invalid JSON"),
    ('{"type": "track"}\n[1, 2]\n', "line 2: an event must be a JSON object, not list"),
    ('[{"type": "track"}, 3]', "item 1 of the array is not a JSON object"),
    ("\n\n", "no events found"),
])
def test_eval_reports_bad_input_with_its_position(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  content: str, message: str) -> None:
    source = tmp_path / "events.jsonl"
    source.write_text(content)
    assert main(["trigger", "eval", 'type = "track"', "--event", str(source)]) == 2
    assert message in capsys.readouterr().err


def test_eval_missing_file_is_a_clean_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trigger", "eval", 'type = "track"', "--event", str(tmp_path / "nope.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_explain_names_the_deciding_condition(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "e.jsonl"
    source.write_text('{"type": "identify", "traits": {"vip": 1}}\n{"type": "page", "name": "Home"}\n')
    assert main(["trigger", "eval", "--explain", '(type = "page" or traits.vip = true) and not name = null',
                 "--event", str(source)]) == 0
    first, second = capsys.readouterr().out.splitlines()
    assert first.startswith("false")
    assert "traits.vip = true is false (traits.vip is 1, a number, not a boolean)" in first
    assert second.startswith("true") and 'not name = null is true (name is "Home")' in second
