"""Config and pipeline errors name file:line:column of the offending value (or key)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.errors import ConfigError
from engine.runtime.config import load_config
from engine.runtime.pipeline import Pipeline


def _doc(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "destination": "dotdigital",
        "settings": {"region": "r1", "username": "u@x.com", "password": "pw-value"},
        "subscriptions": [{"name": "add", "action": "addContactToList", "mapping": {"listId": 1001}}],
    }
    doc.update(over)
    return doc


def _write(tmp_path: Path, doc: Any) -> tuple[Path, str]:
    text = doc if isinstance(doc, str) else json.dumps(doc, indent=2)
    f = tmp_path / "c.json"
    f.write_text(text)
    return f, text


def _at(text: str, needle: str, shift: int = 0, start: int = 0) -> tuple[int, int]:
    """1-based line and column of `needle` (searched from `start`) plus `shift` characters."""
    offset = text.index(needle, start) + shift
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _trigger_error(text: str) -> tuple[int, int]:
    from engine.errors import TriggerSyntaxError
    from engine.trigger import parse

    with pytest.raises(TriggerSyntaxError) as info:
        parse(text)
    return info.value.line, info.value.column


def _trigger_column(text: str) -> int:
    """0-based offset of the trigger parser's error in a one-line `text`."""
    line, column = _trigger_error(text)
    assert line == 1
    return column - 1


def _load_error(tmp_path: Path, doc: Any, env: dict[str, str] | None = None) -> tuple[ConfigError, str]:
    f, text = _write(tmp_path, doc)
    with pytest.raises(ConfigError) as info:
        load_config(f, env=env or {})
    return info.value, text


def _bind_error(tmp_path: Path, doc: Any) -> tuple[ConfigError, str]:
    f, text = _write(tmp_path, doc)
    with pytest.raises(ConfigError) as info:
        Pipeline.bind(load_config(f, env={}))
    return info.value, text


def test_unknown_key_points_at_the_key(tmp_path: Path) -> None:
    err, text = _load_error(tmp_path, _doc(queue={"backend": "sqlite", "pth": "q.sqlite"}))
    assert err.path == "$.queue" and "pth" in err.reason
    assert (err.line, err.column) == _at(text, '"pth"')
    assert str(err).startswith(f"{tmp_path / 'c.json'}:{err.line}:{err.column}: $.queue: unknown key")


def test_wrong_type_points_at_the_value(tmp_path: Path) -> None:
    doc = _doc(subscriptions=[{"name": "a", "action": "x", "enabled": "yes"}])
    err, text = _load_error(tmp_path, doc)
    assert err.path == "$.subscriptions[0].enabled"
    assert (err.line, err.column) == _at(text, '"yes"')


def test_missing_env_var_points_at_the_reference(tmp_path: Path) -> None:
    doc = _doc(settings={"region": "r1", "username": "u@x.com", "password": "pre-\\u00e9-${DD_PW}"})
    text = json.dumps(doc, indent=2).replace("\\\\u00e9", "\\u00e9")  # a real escape before ${
    err, _ = _load_error(tmp_path, text)
    assert err.path == "$.settings.password" and "DD_PW" in err.reason
    assert (err.line, err.column) == _at(text, "${DD_PW}")


def test_duplicate_subscription_points_at_the_second_name(tmp_path: Path) -> None:
    doc = _doc(subscriptions=[{"name": "a", "action": "x"}, {"name": "a", "action": "y"}])
    err, text = _load_error(tmp_path, doc)
    assert err.path == "$.subscriptions[1].name"
    assert (err.line, err.column) == _at(text, '"a"', start=text.index('"y"') - 40)


def test_parse_without_text_still_works_without_position() -> None:
    from engine.runtime.config import parse_config

    with pytest.raises(ConfigError) as info:
        parse_config(_doc(queue={"pth": 1}), file="c.json", env={})
    assert info.value.line is None and str(info.value).startswith("c.json: $.queue: ")


def test_bind_problems_each_carry_their_position(tmp_path: Path) -> None:
    doc = _doc(
        settings={"region": "r9", "username": "u@x.com", "password": "pw-value", "colour": "red"},
        subscriptions=[
            {"name": "a", "action": "sendSmz"},
            {"name": "b", "action": "sendSms", "trigger": "type = \"track\" and ",
             "mapping": {"message": "hi"}},
            {"name": "c", "action": "addContactToList", "mapping": {"listIdx": 1}},
        ])
    err, text = _bind_error(tmp_path, doc)
    problems = {p.path: p for p in err.problems}  # type: ignore[attr-defined]
    expected = {
        "$.settings": _at(text, '"colour"'),
        "$.settings.region": _at(text, '"r9"'),
        "$.subscriptions[0].action": _at(text, '"sendSmz"'),
        # where the trigger parser puts the error, inside the string (past two quotes escaped as \")
        "$.subscriptions[1].trigger": _at(text, '"type = ', 1 + _trigger_column('type = "track" and ') + 2),
        "$.subscriptions[2].mapping.listIdx": _at(text, '"listIdx"'),
    }
    assert {path: (p.line, p.column) for path, p in problems.items()} == expected
    report = str(err)
    for path, (line, column) in expected.items():
        assert f"  {line}:{column}: {path}: " in report
    assert "pw-value" not in report


def test_mapping_expression_error_points_inside_the_string(tmp_path: Path) -> None:
    doc = _doc(subscriptions=[{"name": "add", "action": "addContactToList",
                               "mapping": {"listId": {"@jmespath": "to_nmber(properties.list)"}}}])
    err, text = _bind_error(tmp_path, doc)
    assert "to_nmber" in err.reason
    assert (err.line, err.column) == _at(text, "to_nmber")


def test_trigger_from_env_points_at_the_string_start(tmp_path: Path) -> None:
    doc = _doc(subscriptions=[{"name": "add", "action": "addContactToList", "trigger": "type = ${T:-}",
                               "mapping": {"listId": 1001}}])
    err, text = _bind_error(tmp_path, doc)
    assert err.path == "$.subscriptions[0].trigger"
    assert (err.line, err.column) == _at(text, '"type = ${T')


def test_multiline_trigger_error_points_inside_the_string(tmp_path: Path) -> None:
    doc = _doc(subscriptions=[{"name": "add", "action": "addContactToList",
                               "trigger": "type = \"track\"\nand event = ", "mapping": {"listId": 1001}}])
    err, text = _bind_error(tmp_path, doc)
    assert err.path == "$.subscriptions[0].trigger"
    line, column = _trigger_error("type = \"track\"\nand event = ")
    assert line == 2
    assert (err.line, err.column) == _at(text, "and event = ", column - 1)
