"""Delivery end to end against the sandbox over real HTTP: demo, faults, 429s, dead letters, secrets."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from engine.runtime.config import load_config
from engine.runtime.pipeline import Pipeline
from engine.runtime.send import SendReport, drain, enqueue, read_events
from engine.runtime.sqlite_queue import SQLiteQueue
from tests.runtime.conftest import PASSWORD, ROOT, add_events, cli, contacts_in_list, write_config


def _run(config_path: Path, events: list[dict[str, Any]], endpoint: str | None = None,
         rate: float | None = None) -> tuple[SendReport, SQLiteQueue]:
    config = load_config(config_path, env={"TEST_DD_PASSWORD": PASSWORD})
    if endpoint:
        config = config.with_endpoint(endpoint)
    pipeline = Pipeline.bind(config)
    queue = SQLiteQueue(config.queue.path or config_path.with_suffix(".sqlite"))
    report = SendReport()
    enqueue(pipeline, queue, events, report)
    asyncio.run(drain(pipeline, queue, report))
    pipeline.close()
    return report, queue


def test_demo_command_end_to_end() -> None:
    result = cli("demo", "--progress", "never")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "finished as designed" in result.stdout
    assert "dead-lettered demo-bad-event" in result.stdout
    assert PASSWORD not in result.stdout + result.stderr


def test_demo_scenario_state(sandbox: Any, tmp_path: Path) -> None:
    """The example config over the demo events leaves exactly the designed state in the sandbox."""
    sandbox.set_rate_limits({"low": 4, "medium": 4, "high": 4, "window": 1})
    config = load_config(ROOT / "examples" / "config.json").with_endpoint(sandbox.url)
    pipeline = Pipeline.bind(config)
    queue = SQLiteQueue(tmp_path / "q.sqlite")
    events, problems = read_events([str(ROOT / "examples" / "demo-events.jsonl")])
    report = SendReport()
    enqueue(pipeline, queue, events, report)
    asyncio.run(drain(pipeline, queue, report))
    assert not problems and report.pending == 0
    assert [d.message_id for d in queue.dlq_list()] == ["demo-bad-event"]
    state = sandbox.state
    assert contacts_in_list(state, 1001) >= {"dave@example.com", "frank@example.com", "ivan@example.com"}
    assert "alice@example.com" not in contacts_in_list(state, 1001)
    assert contacts_in_list(state, 1004) == {"bob@example.com"}
    assert [e["programId"] for e in state["enrolments"]] == [2001]
    assert [s["campaignId"] for s in state["campaignSends"]] == [3002]
    assert len(state["emails"]) == 1 and len(state["sms"]) == 1 and len(state["cpaasMessages"]) == 1
    assert any(r["status"] == 429 for r in sandbox.requests)  # the rate-limit hit happened …
    assert report.stats.of("Newsletter sign-up").delivered == 5  # … and was survived


def test_500s_and_dropped_connections_survived(sandbox: Any, tmp_path: Path) -> None:
    sandbox.set_faults(error_rate=0.3, error_statuses=[500, 502, 503], drop_rate=0.15, seed=3)
    events = add_events(30, "fault")
    report, queue = _run(write_config(tmp_path, sandbox.url), events)
    assert report.stats.of("newsletter").delivered == 30
    assert report.stats.of("newsletter").retried > 0
    assert queue.stats().dead == 0 and queue.stats().pending == 0
    assert contacts_in_list(sandbox.state, 1001) >= {e["properties"]["email"] for e in events}


def test_429_storm_honours_retry_after(sandbox: Any, tmp_path: Path) -> None:
    sandbox.fail_next("PATCH /contacts/v3/{identifier}/{value}", count=12, status=429, retry_after=1)
    events = add_events(10, "storm")
    report, queue = _run(write_config(tmp_path, sandbox.url), events)
    assert report.stats.of("newsletter").delivered == 10 and queue.stats().dead == 0
    patches = [r for r in sandbox.requests if r["method"] == "PATCH"]
    first_429 = min(r["time"] for r in patches if r["status"] == 429)
    first_ok = min(r["time"] for r in patches if r["status"] < 300)
    assert first_ok - first_429 >= 0.9  # nobody retried before the API's Retry-After


def test_account_budget_keeps_under_rate_limit(sandbox: Any, tmp_path: Path) -> None:
    """With the config's budget under the sandbox's, the limiter avoids 429s altogether."""
    sandbox.set_rate_limits({"low": 10, "medium": 10, "high": 10, "window": 1})
    cfg = write_config(tmp_path, sandbox.url, rate_limit={"requests_per_minute": 360, "burst": 2})
    report, _ = _run(cfg, add_events(12, "budget"))
    assert report.stats.of("newsletter").delivered == 12
    assert not [r for r in sandbox.requests if r["status"] == 429]


def test_permanent_error_dead_lettered_then_cli_replay_and_purge(sandbox: Any, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, sandbox.url)
    bad = {"type": "track", "event": "Send SMS", "userId": "u", "messageId": "bad-1",
           "properties": {"phone": "12", "message": "hi"}}
    unknown_list = {"type": "track", "event": "Add Contact to List", "userId": "u", "messageId": "bad-2",
                    "properties": {"email": "z@example.com"}}
    (tmp_path / "events.jsonl").write_text(json.dumps(bad) + "\n" + json.dumps(unknown_list) + "\n")
    result = cli("send", "--config", str(cfg), str(tmp_path / "events.jsonl"))
    assert result.returncode == 1, result.stdout + result.stderr  # something failed → non-zero
    assert "failed permanently" in result.stdout
    listed = cli("dlq", "list", "--config", str(cfg), "--json")
    letters = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(d["message_id"], d["error"]["type"]) for d in letters] == [("bad-1", "PayloadValidationError")]
    assert letters[0]["error"]["problems"][0]["field"] == "to"
    shown = cli("dlq", "show", "--config", str(cfg), letters[0]["id"])
    assert json.loads(shown.stdout)["subscription"] == "sms"
    assert cli("dlq", "replay", "--config", str(cfg)).returncode == 2  # ids or --all required
    assert "1 dead letters queued again" in cli("dlq", "replay", "--config", str(cfg), "--all").stdout
    again = cli("send", "--config", str(cfg), stdin="")  # drains the replayed delivery: fails again
    assert again.returncode == 1
    assert "1 dead letters deleted" in cli("dlq", "purge", "--config", str(cfg), "--all").stdout
    assert cli("dlq", "list", "--config", str(cfg), "--json").stdout == ""


def test_wrong_password_is_permanent_and_never_shown(sandbox: Any, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, sandbox.url)
    (tmp_path / "e.json").write_text(json.dumps(add_events(2, "auth")))
    secret = "Wr0ng-Passw0rd-XYZ"
    result = cli("send", "--config", str(cfg), "--log-level", "debug", str(tmp_path / "e.json"),
                 extra_env={"TEST_DD_PASSWORD": secret})
    assert result.returncode == 1
    assert secret not in result.stdout + result.stderr
    dump = cli("dlq", "list", "--config", str(cfg), "--json", extra_env={"TEST_DD_PASSWORD": secret})
    assert secret not in dump.stdout and "AuthenticationError" in dump.stdout
    assert cli("config", "check", str(cfg), extra_env={"TEST_DD_PASSWORD": secret}).returncode == 1


def test_send_twice_delivers_once(sandbox: Any, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, sandbox.url)
    (tmp_path / "e.jsonl").write_text("\n".join(json.dumps(e) for e in add_events(3, "dup")))
    first = cli("send", "--config", str(cfg), str(tmp_path / "e.jsonl"))
    assert first.returncode == 0, first.stdout + first.stderr
    calls = len(sandbox.requests)
    second = cli("send", "--config", str(cfg), str(tmp_path / "e.jsonl"))
    assert second.returncode == 0 and "3 dropped as duplicates" in second.stdout
    assert len(sandbox.requests) == calls


def test_config_check(sandbox: Any, tmp_path: Path) -> None:
    ok = cli("config", "check", str(write_config(tmp_path, sandbox.url)))
    assert ok.returncode == 0 and "authentication: ok" in ok.stdout
    bad = write_config(tmp_path, sandbox.url, subscriptions=[
        {"name": "x", "action": "addContactToList", "trigger": "type = ", "mapping": {"listId": 1}}])
    result = cli("config", "check", str(bad))
    assert result.returncode == 1 and "$.subscriptions[0].trigger" in result.stderr
    unknown = write_config(tmp_path, sandbox.url, subscriptions=[
        {"name": "x", "action": "addContactToLists"}])
    assert "$.subscriptions[0].action" in cli("config", "check", str(unknown)).stderr
    field = write_config(tmp_path, sandbox.url, subscriptions=[
        {"name": "x", "action": "addContactToList", "mapping": {"listID": 1}}])
    assert "$.subscriptions[0].mapping.listID" in cli("config", "check", str(field)).stderr
    needs = write_config(tmp_path, sandbox.url, subscriptions=[{"name": "x", "action": "sendSms"}])
    result = cli("config", "check", "--no-auth", str(needs))
    assert "$.subscriptions[0].mapping" in result.stderr and "'message'" in result.stderr
    jmes = write_config(tmp_path, sandbox.url, subscriptions=[
        {"name": "x", "action": "sendSms", "mapping": {"message": {"@jmespath": "properties.["}}}])
    assert "$.subscriptions[0].mapping.message" in cli("config", "check", "--no-auth", str(jmes)).stderr
    remote = write_config(tmp_path, "https://collector.example.net")
    assert "allow_custom_endpoint" in cli("config", "check", "--no-auth", str(remote)).stderr


@pytest.mark.parametrize("fmt", ["jsonl", "array", "batch"])
def test_send_reads_every_format(sandbox: Any, tmp_path: Path, fmt: str) -> None:
    events = add_events(2, f"fmt{fmt}")
    text = {"jsonl": "\n".join(json.dumps(e) for e in events), "array": json.dumps(events),
            "batch": json.dumps({"batch": events})}[fmt]
    result = cli("send", "--config", str(write_config(tmp_path, sandbox.url)), "-", stdin=text)
    assert result.returncode == 0, result.stdout + result.stderr
    assert contacts_in_list(sandbox.state, 1001) >= {e["properties"]["email"] for e in events}


def test_dry_run_masks_and_sends_nothing(sandbox: Any, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, sandbox.url)
    sms = {"type": "track", "event": "Send SMS", "userId": "u", "properties": {"phone": "+44 7700 900555",
                                                                             "message": "hi"}}
    result = cli("send", "--config", str(cfg), "--dry-run", "-", stdin=json.dumps(sms))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "/v2/sms-messages/send-to/447700900555" in result.stdout
    assert PASSWORD not in result.stdout and sandbox.requests == []
