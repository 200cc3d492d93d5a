"""A lean asyncio HTTP/1.1 client for ``http`` and ``https`` requests.

Why: the delivery worker spent most of its CPU in httpx/httpcore's per-request bookkeeping
(request and URL models, anyio wrappers, pool scans). This client writes the same bytes httpx
would (same default headers, same JSON encoding, same query encoding) on keep-alive connections
owned by one request at a time, and parses the answer with ``httptools`` (uvicorn's parser).

It only takes requests it can send exactly as httpx would (`build`): ``http://`` and
``https://`` URLs whose path needs no re-encoding, headers without control characters, no HEAD.
Everything else goes through httpx. TLS uses the SSL context the transport hands over, the same
one its httpx clients use (`httpx.create_ssl_context()` unless the caller supplies one), with the
URL's host as server name, so certificate and hostname checks are httpx's. Failures come back as
`Response(status=0, failure=...)` with the same wording and httpx's exception names, so callers
cannot tell the paths apart.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import time
import zlib
from collections.abc import Callable
from typing import Any

import httptools
import httpx

from engine.execute.render import RenderedRequest
from engine.execute.response import Response, parse_body

#: An ``http(s)://host[:port]/path`` URL whose path httpx would send unchanged (RFC 3986 path
#: characters, valid percent escapes), with no query or fragment of its own.
_URL = re.compile(
    r"(?P<scheme>https?)://(?P<host>[A-Za-z0-9.\-]+)(?::(?P<port>[0-9]{1,5}))?"
    r"(?P<path>/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*)?\Z"
)
_BAD_HEADER = re.compile(r"[^\x20-\x7e\t]")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
#: What httpx adds to every request (lower-case name, name on the wire, value). Only the codings
#: `_decode` understands are offered.
_DEFAULT_HEADERS = (
    ("accept", "Accept", "*/*"),
    ("accept-encoding", "Accept-Encoding", "gzip, deflate"),
    ("connection", "Connection", "keep-alive"),
    ("user-agent", "User-Agent", f"python-httpx/{httpx.__version__}"),
)
#: Headers this client must write itself; a request that sets them goes through httpx.
_RESERVED = frozenset({"host", "content-length", "transfer-encoding", "connection", "expect", "upgrade"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_KEEPALIVE_EXPIRY = 30.0
_MAX_IDLE_PER_HOST = 64


#: Which connections a request may use: (scheme, host, port).
Key = tuple[str, str, int]


class _Target:
    """Where an eligible request goes: connection key, Host header value, request path."""

    __slots__ = ("host_header", "key", "path")

    def __init__(self, key: Key, host_header: str, path: str) -> None:
        self.key = key
        self.host_header = host_header
        self.path = path


def _target(url: str) -> _Target | None:
    """Host, port and path of an eligible URL (request URLs differ per event: no cache)."""
    match = _URL.match(url)
    if match is None:
        return None
    scheme, host = match["scheme"], match["host"].lower()
    default = _DEFAULT_PORTS[scheme]
    port = int(match["port"]) if match["port"] else default
    path = match["path"] or "/"
    dotted = any(part in (".", "..") for part in path.split("/"))  # httpx would remove them
    if port > 65535 or host.startswith(".") or ".." in host or dotted:
        return None
    return _Target((scheme, host, port), host if port == default else f"{host}:{port}", path)


def _query_text(query: dict[str, Any]) -> str | None:
    text = str(httpx.QueryParams(query))
    return text or None


def build(req: RenderedRequest) -> tuple[Key, bytes] | None:
    """The connection key and the request's bytes, or None when httpx must send it.

    Header order and spelling follow httpx: ``Host``, its defaults not overridden by the
    caller, the caller's headers as given, then ``Content-Length`` / ``Content-Type`` (an
    empty POST/PUT/PATCH gets ``Content-Length: 0`` right after ``Host``).
    """
    if req.method == "HEAD" or not _TOKEN.match(req.method):
        return None
    target = _target(req.url)
    if target is None:
        return None
    path = target.path
    if req.query:
        text = _query_text(req.query)
        if text is None:
            return None
        path = f"{path}?{text}"
    lines = [f"{req.method} {path} HTTP/1.1", f"Host: {target.host_header}"]
    given: set[str] = set()
    for name, value in req.headers.items():
        low = name.lower()
        if low in _RESERVED or not _TOKEN.match(name) or _BAD_HEADER.search(value):
            return None
        given.add(low)
    lines.extend(f"{name}: {value}" for low, name, value in _DEFAULT_HEADERS if low not in given)
    lines.extend(f"{name}: {value}" for name, value in req.headers.items())
    body = b""
    if req.has_json and req.json is not None:
        try:
            body = json.dumps(req.json, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
        except (TypeError, ValueError):
            return None  # let httpx raise exactly what it raises
        lines.append(f"Content-Length: {len(body)}")
        if "content-type" not in given:
            lines.append("Content-Type: application/json")
    elif req.method in ("POST", "PUT", "PATCH"):
        lines.insert(2, "Content-Length: 0")  # httpx announces the empty body right after Host
    lines.append("\r\n")
    return target.key, "\r\n".join(lines).encode("latin-1") + body


def connect_failure(exc: BaseException) -> str:
    """The failure text for a connection that could not be set up; TLS problems say why (a
    certificate error must never read like a network blip). ``exc`` may be httpx's ConnectError:
    the ssl error is found in its cause chain."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            break
        if isinstance(seen, ssl.SSLCertVerificationError):
            return f"connection failed (ConnectError: TLS certificate verify failed: {seen.verify_message})"
        if isinstance(seen, ssl.SSLError):
            return f"connection failed (ConnectError: TLS handshake failed: {seen.reason or seen})"
        seen = seen.__cause__ or seen.__context__
    return "connection failed (ConnectError)"


class _Failure(Exception):
    """A connection-level failure, named like httpx's exception for the same case."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[None] | None = None
        self.lost: asyncio.Future[None] = loop.create_future()  # done once the transport is gone
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        self._headers_done = False
        self.keep_alive = False

    # -- asyncio.Protocol ------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            self.close()  # bytes nobody asked for: the connection cannot be trusted any more
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self._finish(_Failure("RemoteProtocolError"))

    def eof_received(self) -> bool | None:
        return None  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.lost.done():
            self.lost.set_result(None)
        if self._waiter is not None and not self._waiter.done():
            if self._headers_done and not self._has_length():
                self.keep_alive = False
                self._waiter.set_result(None)  # body delimited by the end of the connection
            else:
                name = "ReadError" if exc is not None else "RemoteProtocolError"
                self._waiter.set_exception(_Failure(name))

    # -- httptools callbacks -------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self.keep_alive = self._parser.should_keep_alive()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    # -- use -----------------------------------------------------------------------------------
    def _has_length(self) -> bool:
        return any(k in ("content-length", "transfer-encoding") for k, _ in self._headers)

    def _finish(self, exc: BaseException) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    async def exchange(self, data: bytes) -> Response:
        assert self.transport is not None
        self._headers, self._body, self._headers_done = [], [], False
        self._waiter = self._loop.create_future()
        self.transport.write(data)
        await self._waiter
        self._waiter = None
        status = self._parser.get_status_code()
        headers: dict[str, str] = {}
        for name, value in self._headers:
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        content = b"".join(self._body)
        coding = headers.get("content-encoding", "").strip().lower()
        if coding in ("gzip", "deflate") and content:
            content = _decode(content, coding)
        body, text = parse_body(content, headers.get("content-type", ""))
        return Response(status=status, headers=headers, body=body, text=text)


def _decode(content: bytes, coding: str) -> bytes:
    try:
        if coding == "gzip":
            return zlib.decompress(content, 16 + zlib.MAX_WBITS)
        try:
            return zlib.decompress(content)
        except zlib.error:
            return zlib.decompress(content, -zlib.MAX_WBITS)
    except zlib.error:
        raise _Failure("DecodingError") from None


class ConnectionPool:
    """Idle keep-alive connections per (scheme, host, port), most recently used first.

    ``tls`` returns the SSL context for ``https`` connections; it is called only when one is
    opened (building a context costs ~20 ms, and plain-http users never need one).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float,
                 tls: Callable[[], ssl.SSLContext]) -> None:
        self.loop = loop
        self.timeout = timeout
        self._tls = tls
        self._idle: dict[Key, list[_Connection]] = {}

    async def _open(self, key: Key) -> _Connection:
        scheme, host, port = key
        context = self._tls() if scheme == "https" else None
        _, proto = await self.loop.create_connection(
            lambda: _Connection(self.loop), host, port, ssl=context,
            server_hostname=host if context is not None else None,
        )
        return proto

    def _checkout(self, key: Key) -> _Connection | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if not conn.closed and now - conn.idle_since < _KEEPALIVE_EXPIRY:
                return conn
            conn.close()
        return None

    def _checkin(self, key: Key, conn: _Connection) -> None:
        idle = self._idle.setdefault(key, [])
        if conn.closed or not conn.keep_alive or len(idle) >= _MAX_IDLE_PER_HOST:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        idle.append(conn)

    async def send(self, key: Key, data: bytes) -> Response:
        """Send prepared request bytes; a Response, or one with `failure` set (nothing raised)."""
        timeout = self.timeout
        conn = self._checkout(key)
        phase = "ConnectTimeout"
        try:
            async with asyncio.timeout(timeout):
                if conn is None:
                    try:
                        conn = await self._open(key)
                    except OSError as exc:  # ssl.SSLError (certificate, handshake) included
                        return Response(status=0, failure=connect_failure(exc))
                phase = "ReadTimeout"
                resp = await conn.exchange(data)
        except TimeoutError:
            if conn is not None:
                conn.close()
            return Response(status=0, failure=f"no response within {timeout:g}s ({phase})")
        except _Failure as exc:
            if conn is not None:
                conn.close()
            return Response(status=0, failure=f"connection failed ({exc.name})")
        except BaseException:
            if conn is not None:
                conn.close()  # cancelled or broken mid-exchange: the connection's state is unknown
            raise
        self._checkin(key, conn)
        return resp

    def close(self) -> None:
        idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()

    async def aclose(self, grace: float = 1.0) -> None:
        """Close every idle connection and wait (at most `grace` seconds) until they are gone:
        a TLS close sends close_notify and waits for the peer's, which would otherwise still be
        pending when the event loop shuts down (leaking the socket). Laggards are aborted."""
        conns = [conn for idle in self._idle.values() for conn in idle]
        self.close()
        pending = [conn.lost for conn in conns if not conn.lost.done()]
        if pending:
            await asyncio.wait(pending, timeout=grace)
        for conn in conns:
            if not conn.lost.done() and conn.transport is not None:
                conn.transport.abort()
