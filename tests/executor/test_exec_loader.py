"""Bad spec input is refused at load time with the file and the JSON path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from engine import load_destination
from engine._resources import specs_dir
from engine.errors import SpecError
from tests.executor.conftest import SpecWriter, base_destination, simple_action


def _step(name: str, path: list[Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "request": {"method": "GET", "path": path}, **extra}


def _refused(write_spec: SpecWriter, **kw: Any) -> SpecError:
    folder = write_spec(**kw)
    with pytest.raises(SpecError) as info:
        load_destination(folder)
    return info.value


@pytest.mark.parametrize("name", ["destination", "action", "fixture", "config"])
def test_meta_schemas_are_valid_2020_12(name: str) -> None:
    schema = json.loads((specs_dir() / "meta" / f"{name}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"].endswith("2020-12/schema")


def test_good_spec_loads(write_spec: SpecWriter) -> None:
    dest = load_destination(write_spec())
    assert dest.slug == "acme" and dest.name == "Acme CRM"
    action = dest.actions["track"]
    assert action.title == "Track" and action.default_trigger == 'type = "track"'
    assert action.fields["required"] == ["email"]


def test_json_syntax_error_names_line_and_column(write_spec: SpecWriter) -> None:
    err = _refused(
        write_spec, actions=[], raw_actions={"broken": '{\n  "key": "broken",\n  "title": oops\n}'}
    )
    assert err.file is not None and err.file.endswith("broken.json")
    assert (err.line, err.column) == (3, 12)
    assert "broken.json:3:12" in str(err)


def test_duplicate_json_key_refused(write_spec: SpecWriter) -> None:
    err = _refused(write_spec, actions=[], raw_actions={"dup": '{"key": "dup", "key": "dup"}'})
    assert "duplicate key 'key'" in str(err)


def test_unknown_top_level_key(write_spec: SpecWriter) -> None:
    err = _refused(write_spec, actions=[simple_action(stepz=[])])
    assert err.path == "$.stepz" and "unknown key 'stepz'" in str(err)


def test_unknown_key_inside_step(write_spec: SpecWriter) -> None:
    action = simple_action()
    action["steps"][0]["retries"] = 3
    err = _refused(write_spec, actions=[action])
    assert err.path == "$.steps[0].retries"
    assert err.file is not None and err.file.endswith("track.json")


def test_unknown_key_in_destination(write_spec: SpecWriter) -> None:
    err = _refused(write_spec, destination=base_destination(basse_url="x"))
    assert err.path == "$.basse_url" and err.file is not None and err.file.endswith("destination.json")


def test_missing_required_key(write_spec: SpecWriter) -> None:
    action = simple_action()
    del action["steps"][0]["request"]["method"]
    err = _refused(write_spec, actions=[action])
    assert err.path == "$.steps[0].request" and "method" in str(err)


def test_bad_jmespath_names_path(write_spec: SpecWriter) -> None:
    action = simple_action()
    action["fields"]["properties"]["email"]["default"] = {"@jmespath": "traits.email ||"}
    err = _refused(write_spec, actions=[action])
    assert err.path.startswith("$.fields.properties.email.default")


def test_unknown_function_refused(write_spec: SpecWriter) -> None:
    action = simple_action()
    action["steps"][0]["request"]["json"] = {"amount": {"@jmespath": "no_such_fn(payload.amount)"}}
    err = _refused(write_spec, actions=[action])
    assert err.path.startswith("$.steps[0].request.json")
    assert "no_such_fn" in str(err)


def test_bad_when_expression(write_spec: SpecWriter) -> None:
    action = simple_action()
    action["steps"][0]["when"] = "payload.amount >"
    err = _refused(write_spec, actions=[action])
    assert err.path.startswith("$.steps[0].when")


def test_undefined_step_reference(write_spec: SpecWriter) -> None:
    action = simple_action(steps=[_step("a", ["x", {"@jmespath": "steps.ghost.body.id"}])])
    err = _refused(write_spec, actions=[action])
    assert "undefined step 'ghost'" in str(err) and err.path == "$.steps[0].request.path"


def test_later_step_reference_is_a_cycle(write_spec: SpecWriter) -> None:
    action = simple_action(steps=[_step("a", ["x", {"@jmespath": "steps.b.body.id"}]), _step("b", ["y"])])
    err = _refused(write_spec, actions=[action])
    assert "step 'b'" in str(err) and "has not run" in str(err)


def test_self_reference_refused(write_spec: SpecWriter) -> None:
    action = simple_action(steps=[_step("a", ["x"], when="steps.a.status == `200`")])
    err = _refused(write_spec, actions=[action])
    assert err.path == "$.steps[0].when" and "step 'a'" in str(err)


def test_undefined_var(write_spec: SpecWriter) -> None:
    action = simple_action(steps=[_step("a", ["x", {"@jmespath": "vars.nope"}])])
    err = _refused(write_spec, actions=[action])
    assert "undefined var 'nope'" in str(err)


def test_var_cycle_refused(write_spec: SpecWriter) -> None:
    action = simple_action(
        vars={"a": {"@jmespath": "vars.b"}, "b": {"@template": "{{ vars.c }}"}, "c": {"@jmespath": "vars.a"}}
    )
    err = _refused(write_spec, actions=[action])
    assert "cycle" in str(err) and "a -> b -> c -> a" in str(err)


def test_vars_are_ordered_by_dependency(write_spec: SpecWriter) -> None:
    action = simple_action(vars={"b": {"@jmespath": "vars.a"}, "a": {"@jmespath": "payload.email"}})
    dest = load_destination(write_spec(actions=[action]))
    assert [name for name, _ in dest.actions["track"].vars] == ["a", "b"]


def test_var_reading_steps_refused(write_spec: SpecWriter) -> None:
    action = simple_action(vars={"a": {"@jmespath": "steps.send.body"}})
    err = _refused(write_spec, actions=[action])
    assert err.path == "$.vars.a" and "before any step" in str(err)


def test_unknown_context_name_refused(write_spec: SpecWriter) -> None:
    action = simple_action()
    action["steps"][0]["request"]["json"] = {"x": {"@jmespath": "paylod.amount"}}
    err = _refused(write_spec, actions=[action])
    assert "unknown name 'paylod'" in str(err)


def test_duplicate_step_names(write_spec: SpecWriter) -> None:
    err = _refused(write_spec, actions=[simple_action(steps=[_step("a", ["x"]), _step("a", ["y"])])])
    assert err.path == "$.steps[1].name"


def test_key_must_match_file_name(write_spec: SpecWriter) -> None:
    err = _refused(write_spec, actions=[], raw_actions={"other": json.dumps(simple_action())})
    assert err.path == "$.key"


def test_unknown_dynamic_refused(write_spec: SpecWriter) -> None:
    action = simple_action()
    action["fields"]["properties"]["email"]["x-dynamic"] = "lists"
    err = _refused(write_spec, actions=[action])
    assert err.path == "$.fields.properties.email.x-dynamic"


def test_basic_auth_needs_password(write_spec: SpecWriter) -> None:
    dest = base_destination(authentication={"scheme": "basic", "username": "x"})
    err = _refused(write_spec, destination=dest)
    assert err.path.startswith("$.authentication") and "password" in str(err)


def test_fields_must_be_a_valid_schema(write_spec: SpecWriter) -> None:
    action = simple_action()
    action["fields"]["properties"]["amount"]["type"] = "nummber"
    err = _refused(write_spec, actions=[action])
    assert err.path.startswith("$.fields.properties.amount")


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"no destination\.json"):
        load_destination(tmp_path / "nowhere")


def test_error_refers_to_settings_only_in_destination(write_spec: SpecWriter) -> None:
    err = _refused(
        write_spec, destination=base_destination(base_url={"@template": "https://{{ payload.x }}"})
    )
    assert err.path == "$.base_url" and "unknown name 'payload'" in str(err)
