"""`ddengine serve` as users run it, and Segment's own Python SDK delivering through it."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.runtime.conftest import PASSWORD, ROOT, contacts_in_list, env, write_config

KEY = "wk-test"


@pytest.fixture
def served(sandbox: Any, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    cfg = write_config(tmp_path, sandbox.url)
    proc = subprocess.Popen([sys.executable, "-m", "engine", "serve", "--config", str(cfg), "--port", "0",
                             "--log-level", "info"], cwd=ROOT, env=env(), stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    url = None
    deadline = time.time() + 30
    while time.time() < deadline:
        line = proc.stderr.readline()
        match = re.search(r"serving on (http://\S+)", line)
        if match:
            url = match.group(1)
            break
    assert url, "serve did not start"
    yield url, proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _wait_for(predicate: Any, timeout: float = 20) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


Served = tuple[str, "subprocess.Popen[str]"]


def test_serve_delivers_reports_metrics_and_stops_on_sigterm(sandbox: Any, served: Served) -> None:
    url, proc = served
    r = httpx.post(f"{url}/v1/track", auth=(KEY, ""), json={
        "userId": "s1", "event": "Add Contact to List", "properties": {"email": "served@example.com"}})
    assert r.status_code == 200, r.text
    assert _wait_for(lambda: "served@example.com" in contacts_in_list(sandbox.state, 1001))
    assert httpx.post(f"{url}/v1/track", auth=("nope", ""), json={}).status_code == 401
    metrics = httpx.get(f"{url}/metrics").text
    assert 'ddengine_deliveries_total{outcome="delivered",subscription="newsletter"} 1' in metrics
    assert 'ddengine_api_calls_total{subscription="newsletter"} 1' in metrics
    assert httpx.get(f"{url}/healthz").json()["status"] == "ok"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert proc.stderr is not None
    logs = proc.stderr.read()
    assert PASSWORD not in logs and KEY not in logs


def test_segment_sdk_end_to_end(sandbox: Any, served: tuple[str, subprocess.Popen[str]]) -> None:
    from segment.analytics import Client

    url, _ = served
    errors: list[Any] = []
    client = Client(write_key=KEY, host=url, sync_mode=True, on_error=lambda e, batch: errors.append(e))
    for i in range(5):
        client.track(user_id=f"sdk{i}", event="Add Contact to List",
                     properties={"email": f"sdk{i}@example.com"}, message_id=f"sdk-msg-{i}")
    client.track(user_id="sdk-sms", event="Send SMS",
                 properties={"phone": "+44 7700 900777", "message": "from the SDK"})
    client.identify(user_id="sdk0", traits={"email": "sdk0@example.com"})
    client.flush()
    assert errors == []
    wanted = {f"sdk{i}@example.com" for i in range(5)}
    assert _wait_for(lambda: wanted <= contacts_in_list(sandbox.state, 1001))
    assert _wait_for(lambda: any(m["message"] == "from the SDK" for m in sandbox.state["sms"]))
