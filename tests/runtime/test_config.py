"""Instance config loading: env expansion, schema errors pointing at the field, endpoint allow-list."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.errors import ConfigError
from engine.runtime.config import check_endpoint, destination_hosts, is_loopback, load_config, parse_config

BASE_URL = {"@template": "https://{{ settings.region }}-api.dotdigital.com"}
SETTINGS_SCHEMA = {"properties": {"region": {"enum": ["r1", "r2", "r3"]}}}


def _doc(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "destination": "dotdigital",
        "settings": {"region": "r1", "username": "u@x.com", "password": "${DD_PASSWORD}"},
        "subscriptions": [{"name": "add", "action": "addContactToList", "mapping": {"listId": 1001}}],
    }
    doc.update(over)
    return doc


def test_env_expansion_and_defaults(tmp_path: Path) -> None:
    f = tmp_path / "c.json"
    f.write_text(json.dumps(_doc(settings={"region": "${R:-r2}", "username": "$${literal}",
                                           "password": "${DD_PASSWORD}"})))
    cfg = load_config(f, env={"DD_PASSWORD": "s3cret!"})
    assert cfg.settings == {"region": "r2", "username": "${literal}", "password": "s3cret!"}
    assert cfg.queue.path == tmp_path / "c.queue.sqlite"
    assert cfg.subscriptions[0].path == "$.subscriptions[0]"


def test_missing_env_names_variable_and_field() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(_doc(), file="c.json", env={})
    assert err.value.path == "$.settings.password"
    assert "DD_PASSWORD" in str(err.value)


def test_invalid_json_gives_line_and_column(tmp_path: Path) -> None:
    f = tmp_path / "c.json"
    f.write_text('{\n  "destination": "dotdigital",\n  "settings": {,}\n}')
    with pytest.raises(ConfigError) as err:
        load_config(f, env={})
    assert (err.value.line, err.value.column) == (3, 16)


@pytest.mark.parametrize(("change", "path", "text"), [
    ({"subscriptions": [{"name": "a", "action": "x", "enabeld": True}]}, "$.subscriptions[0]", "enabeld"),
    ({"subscriptions": [{"name": "a", "action": "x", "enabled": "yes"}]}, "$.subscriptions[0].enabled",
     "boolean"),
    ({"subscriptions": [{"name": f"s{i}", "action": "x"} for i in range(51)]}, "$.subscriptions", "50"),
    ({"endpoint": "http://127.0.0.1:9/path"}, "$.endpoint", "no path"),
    ({"subscriptions": [{"name": "a", "action": "x"}, {"name": "a", "action": "y"}]},
     "$.subscriptions[1].name", "duplicate"),
])
def test_schema_errors_point_at_field(change: dict[str, Any], path: str, text: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(_doc(**change), file="c.json", env={"DD_PASSWORD": "p"})
    assert err.value.path == path
    assert text in str(err.value)


def test_destination_hosts_cover_every_region() -> None:
    hosts = destination_hosts(BASE_URL, SETTINGS_SCHEMA, {"region": "r1"})
    assert hosts == {"r1-api.dotdigital.com", "r2-api.dotdigital.com", "r3-api.dotdigital.com"}


@pytest.mark.parametrize(("endpoint", "allow", "ok"), [
    ("https://r2-api.dotdigital.com", False, True),
    ("http://127.0.0.1:8123", False, True),
    ("http://localhost:1", False, True),
    ("http://[::1]:80", False, True),
    ("https://evil.example.com", False, False),
    ("https://r1-api.dotdigital.com.evil.com", False, False),
    ("https://evil.example.com", True, True),
])
def test_endpoint_allow_list(endpoint: str, allow: bool, ok: bool) -> None:
    cfg = parse_config(_doc(endpoint=endpoint, allow_custom_endpoint=allow), env={"DD_PASSWORD": "p"})
    hosts = destination_hosts(BASE_URL, SETTINGS_SCHEMA, cfg.settings)
    if ok:
        check_endpoint(cfg, hosts)
    else:
        with pytest.raises(ConfigError) as err:
            check_endpoint(cfg, hosts)
        assert err.value.path == "$.endpoint" and "allow_custom_endpoint" in str(err.value)


def test_loopback() -> None:
    assert is_loopback("127.8.0.1") and is_loopback("::1") and not is_loopback("10.0.0.1")


def test_bind_reports_every_problem_of_the_config_at_once(tmp_path: Path) -> None:
    from engine.runtime.pipeline import Pipeline

    f = tmp_path / "c.json"
    f.write_text(json.dumps(_doc(
        settings={"region": "r9", "username": "u@x.com", "password": "s3cret-value"},
        subscriptions=[
            {"name": "a", "action": "sendSmz"},
            {"name": "b", "action": "sendSms", "trigger": "type = ", "mapping": {"message": "hi"}},
            {"name": "c", "action": "addContactToList", "mapping": {"listIdx": 1}},
        ])))
    with pytest.raises(ConfigError) as info:
        Pipeline.bind(load_config(f))
    paths = [p.path for p in info.value.problems]  # type: ignore[attr-defined]
    assert paths == ["$.settings.region", "$.subscriptions[0].action", "$.subscriptions[1].trigger",
                     "$.subscriptions[2].mapping.listIdx"]
    text = str(info.value)
    assert "4 problems" in text and "unknown action 'sendSmz'" in text and "line 1, column 7" in text
    assert "s3cret-value" not in text
