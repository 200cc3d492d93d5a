"""Choosing Redis in the instance config: the queue, the shared limiter, the dlq commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.errors import ConfigError
from engine.runtime.config import parse_config
from engine.runtime.queue import Submission
from engine.runtime.redis import RedisLimiter
from engine.runtime.redis.queue import RedisQueue
from engine.runtime.redis.wiring import account_key, shared_limiter
from engine.runtime.service import ingest_only, open_queue
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {"region": "r1", "username": "demo@apiconnector.com", "password": "demo-password"}
SCHEMA = {"properties": {"password": {"type": "string", "writeOnly": True}}}


def _doc(**queue: Any) -> dict[str, Any]:
    return {"destination": "dotdigital", "settings": dict(SETTINGS), "queue": queue,
            "subscriptions": [{"name": "s", "action": "sendSms", "mapping": {"message": "hi"}}]}


def test_redis_backend_opens_a_redis_queue_and_serve_only_ingests(redis_url: str) -> None:
    config = parse_config(_doc(backend="redis", url=redis_url, dedupe_window=5, min_replicas=2))
    queue = open_queue(config)
    try:
        assert isinstance(queue, RedisQueue) and queue.dedupe_window == 5 and queue.min_replicas == 2
    finally:
        queue.close()
    assert ingest_only(config)
    assert not ingest_only(parse_config(_doc()))


@pytest.mark.parametrize(("queue", "message"), [
    ({"backend": "redis"}, "queue.url is required"),
    ({"backend": "redis", "url": "http://x:pw@host/0"}, "redis://"),
])
def test_bad_redis_queue_config_points_at_the_field(queue: dict[str, Any], message: str) -> None:
    config = parse_config(_doc(**queue), file="inst.json")
    with pytest.raises(ConfigError, match=message) as err:
        open_queue(config)
    assert err.value.path == "$.queue.url" and err.value.file == "inst.json"
    assert "pw" not in str(err.value)


def test_the_account_key_follows_the_account_not_the_password_or_subscriptions() -> None:
    base = parse_config(_doc())
    other_password = parse_config({**_doc(), "settings": {**SETTINGS, "password": "rotated"}})
    more_subs = parse_config({**_doc(), "subscriptions": [{"name": "t", "action": "sendSms"}]})
    other_user = parse_config({**_doc(), "settings": {**SETTINGS, "username": "other@x.com"}})
    key = account_key(base, SCHEMA)
    assert key == account_key(other_password, SCHEMA) == account_key(more_subs, SCHEMA)
    assert key != account_key(other_user, SCHEMA)
    assert "demo" not in key


def test_shared_limiter_takes_the_configured_budget(redis_url: str) -> None:
    config = parse_config({**_doc(backend="redis", url=redis_url), "rate_limit": {"requests_per_minute": 600,
                                                                                   "burst": 4}})
    limiter = shared_limiter(config, 600, SCHEMA)
    assert isinstance(limiter, RedisLimiter)
    assert (limiter.per_minute, limiter.burst) == (600, 4) and limiter.rate == pytest.approx(596 / 60)
    with pytest.raises(ConfigError, match="burst"):
        shared_limiter(parse_config({**_doc(backend="redis", url=redis_url),
                                     "rate_limit": {"requests_per_minute": 10, "burst": 10}}), 10)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=60)


def test_dlq_commands_work_on_the_redis_queue(redis_server: RedisServer, tmp_path: Path) -> None:
    url = redis_server.url.replace("/0", "/3")  # its own database: the default namespace is free
    config = tmp_path / "inst.json"
    config.write_text(json.dumps(_doc(backend="redis", url=url)))
    queue = RedisQueue(url)
    queue.dlq_purge()
    queue.enqueue([Submission(event={"type": "track", "n": i}, subscriptions=("s",), message_id=f"d{i}")
                   for i in range(3)])
    for lease in queue.lease(3, 30):
        queue.dead_letter(lease, {"type": "PayloadValidationError", "message": f"bad {lease.event['n']}"})
    listed = _cli("dlq", "list", "--config", str(config), "--json")
    assert listed.returncode == 0, listed.stderr
    letters = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [d["message_id"] for d in letters] == ["d0", "d1", "d2"]
    shown = _cli("dlq", "show", "--config", str(config), letters[0]["id"])
    assert json.loads(shown.stdout)["error"]["message"] == "bad 0"
    assert "1 dead letters queued again" in _cli("dlq", "replay", "--config", str(config),
                                                  letters[1]["id"]).stdout
    assert [x.message_id for x in queue.lease(10, 30)] == ["d1"]
    assert "2 dead letters deleted" in _cli("dlq", "purge", "--config", str(config), "--all").stdout
    assert queue.dlq_list() == []
    queue.close()


def test_worker_refuses_weak_redis_with_require_durable(tmp_path: Path) -> None:
    with RedisServer(extra_args=("--appendonly", "no")) as server:
        config = tmp_path / "inst.json"
        config.write_text(json.dumps(_doc(backend="redis", url=server.url)))
        run = _cli("worker", "--config", str(config), "--require-durable")
    assert run.returncode == 1
    assert "appendonly" in run.stderr and "docs/operations.md" in run.stderr
