"""A private `redis-server` for tests: ephemeral port, temp dir, persistence on.

Persistence is the one production needs for "acknowledged means durable": `appendonly yes` and
`appendfsync always`, so a write Redis has answered is on disk even if Redis is then killed -9.
Used as a pytest plugin (fixtures `redis_server`, `redis_url`) and directly by scripts.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

REDIS_SERVER = shutil.which("redis-server")
SKIP_REASON = "redis-server is not installed (apt-get install -y redis-server); CI installs it"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """One redis-server process; `restart(hard=True)` kills it -9 and starts it on the same data."""

    def __init__(self, directory: Path | None = None, port: int | None = None,
                 extra_args: tuple[str, ...] = ()) -> None:
        if REDIS_SERVER is None:
            raise RuntimeError(SKIP_REASON)
        self._owned_dir = directory is None
        self.dir = Path(tempfile.mkdtemp(prefix="ddredis-")) if directory is None else directory
        self.port = port or _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.extra_args = extra_args

    def start(self) -> RedisServer:
        args = [
            str(REDIS_SERVER),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.dir),
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--save", "",
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--logfile", str(self.dir / "redis.log"),
            *self.extra_args,
        ]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 10.0) -> None:
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)
        deadline = time.monotonic() + timeout
        try:
            while True:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    log = (self.dir / "redis.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"redis-server exited with {self.proc.returncode}:\n{log}")
                try:
                    # PING answers while the AOF is still loading; wait for a real read.
                    client.dbsize()
                    return
                except (redis.ConnectionError, redis.BusyLoadingError, redis.TimeoutError):
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
        finally:
            client.close()

    def stop(self, *, hard: bool = False) -> None:
        """SIGTERM (Redis flushes and exits) or, with hard=True, SIGKILL (a crash)."""
        if self.proc is None:
            return
        deadline = time.monotonic() + 10
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.proc.kill()
            else:
                # Redis refuses a SIGTERM while it writes its initial AOF (e.g. right after a
                # replica's first sync): ask again until it accepts.
                self.proc.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
            try:
                self.proc.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                continue
        self.proc = None

    def restart(self, *, hard: bool = True, down_for: float = 0.0) -> None:
        self.stop(hard=hard)
        if down_for:
            time.sleep(down_for)
        self.start()

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True)

    def close(self) -> None:
        self.stop()
        if self._owned_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _require_redis() -> None:
    if REDIS_SERVER is None:
        # CI installs redis-server itself; there a missing server is a failure, not a skip.
        if os.environ.get("DDENGINE_REQUIRE_REDIS") == "1":
            pytest.fail(SKIP_REASON + " (DDENGINE_REQUIRE_REDIS=1)")
        pytest.skip(SKIP_REASON)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One server for the session; tests isolate themselves by namespace (see `redis_ns`)."""
    _require_redis()
    with RedisServer() as server:
        yield server


@pytest.fixture
def fresh_redis() -> Iterator[RedisServer]:
    """A server of one's own, for tests that restart or kill it."""
    _require_redis()
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest.fixture
def redis_ns(request: pytest.FixtureRequest) -> str:
    """A key namespace unique to the test, so tests sharing a server never see each other."""
    return f"t{os.getpid()}:{request.node.name}"
