"""The generated Dotdigital page stays in step with the spec files; the generator is generic."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from engine import docgen

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "dotdigital.md"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", "docs", "generate", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_committed_page_matches_the_specs() -> None:
    assert PAGE.read_text(encoding="utf-8") == docgen.generate("dotdigital"), (
        "docs/dotdigital.md drifted from specs/dotdigital: run "
        "`python -m engine docs generate dotdigital --out docs/dotdigital.md`")


def test_page_documents_every_action_field_and_the_differences() -> None:
    page = docgen.generate("dotdigital")
    for path in sorted((ROOT / "specs" / "dotdigital" / "actions").glob("*.json")):
        action = json.loads(path.read_text())
        assert f"### {action['title']}" in page
        assert action["default_trigger"] in page
        for key in action["fields"]["properties"]:
            assert f"`{key}`" in page, (action["key"], key)
    assert "## Where we differ from Segment and why" in page
    assert "PATCH /contacts/v3/email/carol@example.com?merge-option=overwrite" in page
    assert "password (secret)" in page


def test_check_flags_a_drifted_copy(tmp_path: Path) -> None:
    stale = tmp_path / "dotdigital.md"
    stale.write_text(PAGE.read_text(encoding="utf-8").replace("Send SMS", "Send Pigeon"), encoding="utf-8")
    drifted = _cli("dotdigital", "--out", str(stale), "--check")
    assert drifted.returncode == 1
    assert "Send Pigeon" in drifted.stdout and "out of date" in drifted.stderr
    ok = _cli("dotdigital", "--out", str(PAGE), "--check")
    assert ok.returncode == 0, ok.stderr


def test_generator_works_for_any_destination_folder(tmp_path: Path) -> None:
    folder = tmp_path / "acme"
    (folder / "actions").mkdir(parents=True)
    (folder / "fixtures" / "ping").mkdir(parents=True)
    (folder / "docs").mkdir()
    (folder / "destination.json").write_text(json.dumps({
        "name": "Acme", "slug": "acme", "settings": {"type": "object", "required": ["token"], "properties": {
            "token": {"title": "API token", "type": "string", "writeOnly": True}}},
        "base_url": "https://api.acme.test",
        "authentication": {"scheme": "bearer", "token": {"@jmespath": "settings.token"}},
    }))
    (folder / "actions" / "ping.json").write_text(json.dumps({
        "key": "ping", "title": "Ping", "description": "Pings.", "default_trigger": 'type = "track"',
        "fields": {"type": "object", "required": ["who"], "properties": {
            "who": {"title": "Who", "type": "string", "default": {"@path": "$.userId"}}}},
        "steps": [{"name": "ping", "request": {"method": "POST",
                                               "path": ["v1", "ping", {"@jmespath": "payload.who"}]}}],
    }))
    (folder / "fixtures" / "ping" / "defaults.json").write_text(json.dumps({
        "event": {"type": "track", "userId": "u 1"}, "settings": {"token": "t"},
        "responses": [{"status": 204}],
        "expect": {"requests": [{"method": "POST", "path": "/v1/ping/u%201"}]}}))
    (folder / "docs" / "notes.md").write_text("## Notes\n\nHand-written.\n")
    page = docgen.generate(folder)
    assert page.startswith("# Acme destination")
    assert "| API token | `token` |" in page and "password (secret)" in page
    assert "`POST /v1/ping/{payload.who}`" in page
    assert "POST /v1/ping/u%201" in page
    assert page.rstrip().endswith("Hand-written.")
    out = tmp_path / "acme.md"
    assert _cli(str(folder), "--out", str(out)).returncode == 0
    assert out.read_text() == page


def test_unknown_destination_is_a_clear_error() -> None:
    result = _cli("no-such-destination")
    assert result.returncode == 1
    assert "no destination 'no-such-destination'" in result.stderr
