"""Spec-loader errors name file:line:column of the offending value (or key, or expression part)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.errors import SpecError
from engine.spec import load_spec
from tests.executor.conftest import base_destination, simple_action


def _folder(tmp_path: Path, action_text: str, destination: Any = None) -> Path:
    folder = tmp_path / "spec"
    (folder / "actions").mkdir(parents=True)
    (folder / "destination.json").write_text(json.dumps(destination or base_destination(), indent=2))
    (folder / "actions" / "track.json").write_text(action_text)
    return folder


def _refused(tmp_path: Path, action: Any, destination: Any = None) -> tuple[SpecError, str]:
    text = action if isinstance(action, str) else json.dumps(action, indent=2, ensure_ascii=False)
    with pytest.raises(SpecError) as info:
        load_spec(_folder(tmp_path, text, destination))
    return info.value, text


def _at(text: str, needle: str, shift: int = 0) -> tuple[int, int]:
    """1-based line and column of the first `needle` in `text` (plus `shift` characters)."""
    offset = text.index(needle) + shift
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def test_unknown_key_points_at_the_key(tmp_path: Path) -> None:
    action = simple_action()
    action["steps"][0]["retries"] = 3
    err, text = _refused(tmp_path, action)
    assert err.path == "$.steps[0].retries"
    assert (err.line, err.column) == _at(text, '"retries"')
    assert str(err).endswith(f"track.json:{err.line}:{err.column}: $.steps[0].retries: " + err.reason)


def test_schema_error_points_at_the_value(tmp_path: Path) -> None:
    action = simple_action()
    action["steps"][0]["request"]["method"] = 42
    err, text = _refused(tmp_path, action)
    assert err.path == "$.steps[0].request.method"
    assert (err.line, err.column) == _at(text, "42")


def test_unknown_function_column_is_inside_the_expression(tmp_path: Path) -> None:
    action = simple_action()
    action["steps"][0]["request"]["path"] = ["v1", {"@template": "x/{{ phonex(payload.email) }}"}]
    err, text = _refused(tmp_path, action)
    assert "phonex" in err.reason
    assert (err.line, err.column) == _at(text, "phonex")


def test_expression_column_accounts_for_escapes_before_it(tmp_path: Path) -> None:
    action = simple_action()
    action["steps"][0]["when"] = 'payload.name == \'é"\' && nope(payload.x)'
    err, text = _refused(tmp_path, action)  # ensure_ascii=False keeps é, escapes the quote
    assert "nope" in err.reason and err.path == "$.steps[0].when"
    assert (err.line, err.column) == _at(text, "nope(")
    ascii_text = json.dumps(action, indent=2)  # é as \u00e9: five more characters before nope
    err2, _ = _refused(tmp_path / "b", ascii_text)
    assert (err2.line, err2.column) == _at(ascii_text, "nope(")


def test_bad_jmespath_syntax_in_body_expression(tmp_path: Path) -> None:
    dest = base_destination(error_message="error.message ||| x")
    err, _ = _refused(tmp_path, simple_action(), dest)
    text = (tmp_path / "spec" / "destination.json").read_text()
    assert err.file is not None and err.file.endswith("destination.json") and err.path == "$.error_message"
    line, column = _at(text, '"error.message')
    assert err.line == line and err.column is not None and err.column > column


def test_undefined_step_points_at_the_value(tmp_path: Path) -> None:
    action = simple_action(steps=[{"name": "a", "request": {"method": "GET",
                                                            "path": ["x", {"@jmespath": "steps.ghost.id"}]}}])
    err, text = _refused(tmp_path, action)
    assert err.path == "$.steps[0].request.path" and "ghost" in err.reason
    assert (err.line, err.column) == _at(text, '"path": [', len('"path": '))


def test_undefined_var_in_when_points_inside_the_string(tmp_path: Path) -> None:
    action = simple_action()
    action["steps"][0]["when"] = "vars.nope"
    err, text = _refused(tmp_path, action)
    assert "undefined var 'nope'" in err.reason
    assert (err.line, err.column) == _at(text, '"vars.nope"')


def test_duplicate_key_points_at_the_second_occurrence(tmp_path: Path) -> None:
    text = '{\n  "key": "track",\n  "title": "T",\n  "key": "again"\n}'
    err, _ = _refused(tmp_path, text)
    assert "duplicate key 'key'" in str(err) and err.path == "$.key"
    assert (err.line, err.column) == (4, 3)


def test_syntax_errors_keep_their_own_position(tmp_path: Path) -> None:
    err, _ = _refused(tmp_path, '{\n  "key": "track",\n  "title": oops\n}')
    assert (err.line, err.column) == (3, 12)


def test_fixture_errors_name_line_and_column(tmp_path: Path) -> None:
    import shutil

    import engine
    from engine.testing.fixtures import check_fixture_actions, fixture_cases

    folder = tmp_path / "dotdigital"
    shutil.copytree(Path(__file__).resolve().parents[2] / "specs" / "dotdigital", folder)
    case_file = folder / "fixtures" / "sendSms" / "defaults.json"
    data = json.loads(case_file.read_text())
    data["mapping"] = {"message": "hi", "messagex": "typo"}
    case_file.write_text(json.dumps(data, indent=2))
    lines = case_file.read_text().splitlines()
    want_line = next(i for i, line in enumerate(lines, 1) if '"messagex"' in line)
    dest = engine.load_destination(folder)
    with pytest.raises(SpecError) as info:
        check_fixture_actions(fixture_cases(folder), dest.actions)
    assert (info.value.line, info.value.column) == (want_line, lines[want_line - 1].index('"messagex"') + 1)
    assert str(info.value).startswith(f"{case_file}:{want_line}:")
