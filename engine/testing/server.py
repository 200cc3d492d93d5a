"""A real HTTP server on 127.0.0.1 that answers with canned responses in order and records requests.

Used by the spec-fixture runner and by tests: the engine talks to it over real sockets, exactly as
it talks to an API.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class RecordedRequest:
    """One request the server received; `path` is raw (as sent), `decoded_path` percent-decoded."""

    method: str
    path: str
    query: dict[str, Any]
    headers: dict[str, str]
    body: bytes
    json: Any = None

    @property
    def decoded_path(self) -> str:
        return unquote(self.path)


@dataclass
class CannedResponse:
    status: int = 200
    json: Any = None
    text: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    has_json: bool = False
    delay: float = 0.0

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> CannedResponse:
        return cls(
            status=int(raw.get("status", 200)),
            json=raw.get("json"),
            text=raw.get("text"),
            headers=dict(raw.get("headers", {})),
            has_json="json" in raw,
            delay=float(raw.get("delay", 0.0)),
        )


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default (5) makes concurrent clients wait for SYN retries
    daemon_threads = True


class CannedServer:
    """``with CannedServer() as server: server.push(...); ...; server.requests``.

    When the queue is empty the server answers 500 ``{"message": "no canned response left"}``
    (or `fallback` if set), so a spec that sends too much fails visibly.
    """

    def __init__(self, responses: list[dict[str, Any]] | None = None, *, host: str = "127.0.0.1") -> None:
        self._queue: deque[CannedResponse] = deque()
        self.requests: list[RecordedRequest] = []
        self.fallback: CannedResponse | None = None
        self._lock = threading.Lock()
        self._server = _Server((host, 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        for raw in responses or []:
            self.push(raw)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def push(self, response: dict[str, Any] | CannedResponse) -> None:
        """Queue one response (`{"status", "json" | "text", "headers"}`)."""
        canned = response if isinstance(response, CannedResponse) else CannedResponse.from_dict(response)
        with self._lock:
            self._queue.append(canned)

    def reset(self, responses: list[dict[str, Any]] | None = None) -> None:
        """Forget recorded requests and queued responses; queue `responses`."""
        with self._lock:
            self._queue.clear()
            self.requests = []
        for raw in responses or []:
            self.push(raw)

    @property
    def remaining(self) -> int:
        return len(self._queue)

    def start(self) -> CannedServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="canned-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> CannedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next(self, recorded: RecordedRequest) -> CannedResponse:
        with self._lock:
            self.requests.append(recorded)
            if self._queue:
                return self._queue.popleft()
        return self.fallback or CannedResponse(
            status=500, json={"message": "no canned response left"}, has_json=True
        )

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                query = {k: v[0] if len(v) == 1 else v for k, v in parse_qs(parts.query).items()}
                try:
                    parsed = json.loads(body) if body else None
                except ValueError:
                    parsed = None
                recorded = RecordedRequest(
                    method=self.command,
                    path=parts.path,
                    query=query,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    json=parsed,
                )
                canned = server._next(recorded)
                if canned.delay:
                    time.sleep(canned.delay)
                if canned.has_json:
                    payload = json.dumps(canned.json).encode()
                    content_type = "application/json"
                else:
                    payload = (canned.text or "").encode()
                    content_type = "text/plain"
                self.send_response(canned.status)
                if payload:
                    self.send_header("Content-Type", content_type)
                for key, value in canned.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if payload and self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                return

        return Handler
