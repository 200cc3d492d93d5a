"""Running the sandbox: `Sandbox` (in-process, background thread) and `serve` (CLI, foreground).

uvicorn serves the app on a socket we bind ourselves, so port 0 yields an ephemeral port that
is known before the first request. httptools and uvloop are used when installed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from engine.sandbox.app import SandboxApp
from engine.sandbox.core import SandboxCore
from engine.sandbox.faults import FailRule
from engine.sandbox.ratelimit import RateLimitConfig

RateLimitsArg = RateLimitConfig | Mapping[str, Any] | str | int | bool | None


def _uvicorn_config(app: SandboxApp, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http="httptools" if importlib.util.find_spec("httptools") else "h11",
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
        timeout_keep_alive=30,  # fewer close-while-reusing races for clients that pool connections
        server_header=False,
        date_header=True,
    )


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _url(host: str, sock: socket.socket) -> str:
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


class Sandbox:
    """A local Dotdigital API on an ephemeral port, for tests, demos and embedders.

    >>> with Sandbox() as sb:              # demo seed, user demo@apiconnector.com / demo-password
    ...     httpx.get(sb.url + "/v2/programs", auth=sb.auth)
    """

    def __init__(
        self,
        seed: str = "demo",
        users: Mapping[str, str] | None = None,
        rate_limits: RateLimitsArg = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        data: str | Path | Mapping[str, Any] | None = None,
        request_log_size: int = 100_000,
        faults: Mapping[str, Any] | None = None,
    ) -> None:
        self.core = SandboxCore(seed, users, rate_limits, data, request_log_size, faults)
        self.app = SandboxApp(self.core)
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> Sandbox:
        """Serve in a background thread; returns once the socket accepts connections."""
        if self._thread is not None:
            return self
        sock = _bind(self.host, self.port)
        self._url = _url(self.host, sock)
        self.app.base_url = self._url
        server = uvicorn.Server(_uvicorn_config(self.app, self.host, sock.getsockname()[1]))
        errors: list[BaseException] = []

        def run() -> None:
            try:
                server.run(sockets=[sock])
            except BaseException as exc:  # surfaced to start() below
                errors.append(exc)
            finally:
                sock.close()

        thread = threading.Thread(target=run, name=f"ddengine-sandbox-{self._url}", daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if errors or not thread.is_alive():
                raise RuntimeError(f"sandbox failed to start: {errors[0] if errors else 'server exited'}")
            if time.monotonic() > deadline:
                server.should_exit = True
                raise RuntimeError(f"sandbox did not start within {timeout} s")
            time.sleep(0.005)
        self._server, self._thread = server, thread
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving (idempotent); open keep-alive connections are closed."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)
        self._server = self._thread = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- addresses and credentials -------------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:54321` (use it as the region/base URL setting)."""
        if self._url is None:
            raise RuntimeError("the sandbox is not started; use `with Sandbox() as sb:` or sb.start()")
        return self._url

    @property
    def users(self) -> dict[str, str]:
        return dict(self.core.users)

    @property
    def auth(self) -> tuple[str, str]:
        """(user, password) of the first API user, ready for httpx's `auth=`."""
        user = self.core.default_user
        return user, self.core.users[user]

    # -- state and logs ------------------------------------------------------------------------
    @property
    def state(self) -> dict[str, Any]:
        """JSON-able snapshot of the first user's account (see `account_state` for others)."""
        return self.core.snapshot()

    def account_state(self, user: str) -> dict[str, Any]:
        return self.core.snapshot(user)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every API request received (last 100,000): method, path, query, json, status, time, user."""
        return self.core.requests()

    @property
    def request_count(self) -> int:
        """API requests received since start/reset/clear (cheap: no copy of the log)."""
        return self.core.log.total

    def clear_requests(self) -> None:
        self.core.clear_requests()

    def reset(self) -> None:
        """Back to the seed; clears the request log and rate-limit counters; faults return to those
        given to the constructor (none by default)."""
        self.core.reset()

    # -- behaviour -----------------------------------------------------------------------------
    def set_faults(
        self,
        *,
        latency: float = 0.0,
        latency_jitter: float = 0.0,
        error_rate: float = 0.0,
        error_statuses: Sequence[int] = (500, 503),
        drop_rate: float = 0.0,
        fail_next: Sequence[FailRule | Mapping[str, Any]] = (),
        seed: int | None = 0,
    ) -> None:
        """Replace the fault set; call with no arguments to clear it. See docs/sandbox.md."""
        with self.core.lock:
            self.core.faults.configure(
                latency=latency,
                latency_jitter=latency_jitter,
                error_rate=error_rate,
                error_statuses=error_statuses,
                drop_rate=drop_rate,
                fail_next=fail_next,
                seed=seed,
            )

    def fail_next(
        self, endpoint: str, count: int = 1, status: int = 503, retry_after: float | None = None
    ) -> None:
        """Add one "fail the next N calls to endpoint X with status S" rule (status 0 = drop)."""
        with self.core.lock:
            faults = self.core.faults
            faults.rules.append(FailRule(endpoint, count, status, retry_after))
            faults.active = True

    def set_rate_limits(self, limits: RateLimitsArg) -> None:
        """None/False/"off" turns limits off; True/"on", an int, a mapping or "low=5,..." turn them on."""
        self.core.set_rate_limits(limits)


class _ForegroundServer(uvicorn.Server):
    """uvicorn re-raises a captured SIGTERM after shutdown (exit status 143); the CLI wants a
    clean exit instead, so SIGINT and SIGTERM only ask the server to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def serve(
    sandbox: Sandbox,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve in the foreground until SIGINT/SIGTERM (uvicorn handles both and shuts down cleanly)."""
    sock = _bind(sandbox.host, sandbox.port)
    url = _url(sandbox.host, sock)
    sandbox.app.base_url = url
    sandbox._url = url
    server = _ForegroundServer(_uvicorn_config(sandbox.app, sandbox.host, sock.getsockname()[1]))
    if on_ready is not None:
        on_ready(url)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
