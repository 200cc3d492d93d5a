"""`ddengine sandbox` as a real process: prints its URL, serves, stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _start(*args: str) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine", "sandbox", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), url
    return proc, url


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_serves_and_stops_cleanly(sig: signal.Signals) -> None:
    proc, url = _start("--port", "0", "--seed", "demo", "--rate-limit", "low=2")
    try:
        r = httpx.get(url + "/v2/programs", auth=("demo@apiconnector.com", "demo-password"))
        assert r.status_code == 200 and r.headers["x-ratelimit-limit"] == "2"
    finally:
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "stopped" in err


def test_cli_fault_options() -> None:
    proc, url = _start("--fail-next", "GET /v2/programs=1:502", "--latency", "0.05")
    try:
        auth = ("demo@apiconnector.com", "demo-password")
        assert httpx.get(url + "/v2/programs", auth=auth).status_code == 502
        assert httpx.get(url + "/v2/programs", auth=auth).status_code == 200
        assert httpx.get(url + "/_sandbox/faults").json()["latency"] == 0.05
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_cli_empty_seed_with_user() -> None:
    proc, url = _start("--seed", "empty", "--user", "x@y.com:pw")
    try:
        assert httpx.get(url + "/v2/address-books", auth=("x@y.com", "pw")).json() == []
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_cli_rejects_bad_options() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    bad = (
        ["--rate-limit", "speed=3"],
        ["--user", "nopassword"],
        ["--data", "/nonexistent.json"],
        ["--fail-next", "GET /v2/programs"],
        ["--error-rate", "2"],
        ["--error-statuses", "x"],
    )
    for args in bad:
        done = subprocess.run(
            [sys.executable, "-m", "engine", "sandbox", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert done.returncode == 1, args
        assert done.stderr.startswith("error: "), done.stderr
