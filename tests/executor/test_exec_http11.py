"""The lean asyncio HTTP/1.1 client (engine.execute.http11) against raw sockets on 127.0.0.1.

It must put on the wire exactly the bytes httpx does (so the async path cannot drift from the
sync one), read every response shape httpx reads, reuse connections, and report failures in
httpx's words.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.execute import http11
from engine.execute.render import RenderedRequest
from engine.execute.response import Response
from engine.execute.transport import Transport

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}"


class RawServer:
    """Records each request's raw bytes; answers with `self.reply` (bytes, or None: hang up).

    With `tls` (a server-side SSL context) it speaks HTTPS; failed handshakes are counted in
    `handshake_failures`.
    """

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.tls = tls
        self.handshake_failures = 0
        self.alpn: list[str | None] = []  # protocol agreed by ALPN, per TLS connection
        self.requests: list[bytes] = []
        self.connections = 0
        self.reply: bytes | None = OK
        self.close_after_reply = False
        self.delay = 0.0
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        if self.tls is not None:
            try:
                conn = self.tls.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError):
                self.handshake_failures += 1
                conn.close()
                return
            self.alpn.append(conn.selected_alpn_protocol())
        buf = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                head, _, rest = buf.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(rest) < length:
                    rest += conn.recv(65536)
                self.requests.append(head + b"\r\n\r\n" + rest[:length])
                buf = rest[length:]
                if self.delay:
                    time.sleep(self.delay)
                if self.reply is None:
                    return
                conn.sendall(self.reply)
                if self.close_after_reply:
                    return

    def close(self) -> None:
        self._stop = True
        self.sock.close()


@pytest.fixture
def raw() -> Iterator[RawServer]:
    srv = RawServer()
    yield srv
    srv.close()


def request(url: str, *, method: str = "GET", path: str = "/x", query: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None, body: Any = None) -> RenderedRequest:
    return RenderedRequest(method=method, url=url + path, path=path, query=query or {},
                           headers=headers or {}, json=body, has_json=body is not None)


def send_async(transport: Transport, *reqs: RenderedRequest) -> list[Response]:
    async def go() -> list[Response]:
        try:
            return [await transport.asend("k", req) for req in reqs]
        finally:
            await transport.aclose()
    return asyncio.run(go())


# -- the wire bytes are httpx's --------------------------------------------------------------------
segment = st.text(st.sampled_from("abcXYZ019-._~!$&'()*+,;=:@"), min_size=1, max_size=8).filter(
    lambda s: s not in (".", "..")) | st.sampled_from(["%2B", "a%20b", "x%C3%A9", "%c3%a9", "%2e"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8)
token = st.text(st.sampled_from("abcdefXYZ-_0123"), min_size=1, max_size=10)
header_value = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20)
query_value = st.text(max_size=8) | st.lists(st.text(max_size=5), min_size=1, max_size=3)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
       segments=st.lists(segment, max_size=4),
       query=st.dictionaries(token, query_value, max_size=3),
       headers=st.dictionaries(token.filter(lambda t: t.lower() not in http11._RESERVED), header_value,
                               max_size=3)
       | st.just({"Authorization": "Basic abc=", "Content-Type": "application/vnd+json", "accept": "x/y"}),
       body=st.none() | json_values.filter(lambda v: v is not None))
def test_request_bytes_are_exactly_what_httpx_sends(raw: RawServer, method: str, segments: list[str],
                                                    query: dict[str, Any], headers: dict[str, str],
                                                    body: Any) -> None:
    req = request(raw.url, method=method, path="/" + "/".join(segments), query=query, headers=headers,
                  body=body)
    built = http11.build(req)
    if req.query and not str(__import__("httpx").QueryParams(req.query)):
        assert built is None
        return
    assert built is not None, "an eligible request must take the lean path"
    key, data = built
    assert key == ("http", "127.0.0.1", raw.port)
    raw.requests.clear()
    transport = Transport(5)
    try:
        transport.send("k", req)  # the sync path: httpx
    finally:
        transport.close()
    assert raw.requests == [data]


def test_lean_path_and_httpx_send_the_same_over_a_connection(raw: RawServer) -> None:
    req = request(raw.url, method="POST", path="/v2/books/1/contacts", query={"a": "1 2"},
                  headers={"Authorization": "Basic eA=="}, body={"email": "é@x.com", "n": [1, 2.5]})
    send_async(Transport(5), req)
    lean = raw.requests.pop()
    transport = Transport(5)
    transport.send("k", req)
    transport.close()
    assert lean == raw.requests.pop()


@pytest.mark.parametrize("req", [
    request("http://127.0.0.1:1", method="HEAD"),                    # no body to read: httpx
    request("http://127.0.0.1:1", path="/a b"),                      # path httpx would re-encode
    request("http://127.0.0.1:1", path="/a?b=1"),                    # query inside the URL
    request("http://127.0.0.1:1", path="/a/../b"),                   # dot segments httpx removes
    request("http://127.0.0.1:1", path="/a/."),
    request("http://127.0.0.1:1", headers={"X-A": "line\r\nX-B: injected"}),
    request("http://127.0.0.1:1", headers={"X-A": "caf\u00e9"}),
    request("http://127.0.0.1:1", headers={"Host": "elsewhere"}),
    request("http://127.0.0.1:1", query={"a": []}),
    request("http://127.0.0.1:1", body=float("nan")),
])
def test_requests_the_lean_path_cannot_send_identically_go_to_httpx(req: RenderedRequest) -> None:
    assert http11.build(req) is None


# -- responses ---------------------------------------------------------------------------------------
def _gzip_reply() -> bytes:
    body = gzip.compress(b'{"zipped": 1}')
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


REPLIES = {
    "json": OK,
    "chunked": b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
               b"5\r\n{\"a\":\r\n3\r\n 1}\r\n0\r\n\r\n",
    "gzip": _gzip_reply(),
    "no content": b"HTTP/1.1 204 No Content\r\n\r\n",
    "duplicate headers": b"HTTP/1.1 429 Too Many\r\nX-A: 1\r\nx-a: 2\r\nRetry-After: 3\r\n"
                         b"Content-Length: 4\r\n\r\nslow",
    "read until close": b"HTTP/1.1 500 Oops\r\nContent-Type: text/plain\r\n\r\nsomething broke",
    "closing": b"HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 2\r\n\r\n[]",
}


@pytest.mark.parametrize("name", list(REPLIES))
def test_every_response_shape_reads_as_httpx_reads_it(raw: RawServer, name: str) -> None:
    raw.reply = REPLIES[name]
    raw.close_after_reply = name in ("read until close", "closing")
    (lean,) = send_async(Transport(5), request(raw.url))
    transport = Transport(5)
    reference = transport.send("k", request(raw.url))
    transport.close()
    assert lean == reference
    assert lean.status in (200, 201, 204, 404, 429, 500) and not lean.failure


def test_connections_are_kept_alive_and_reused(raw: RawServer) -> None:
    responses = send_async(Transport(5), *[request(raw.url, path=f"/n/{i}") for i in range(20)])
    assert [r.status for r in responses] == [200] * 20
    assert raw.connections == 1 and len(raw.requests) == 20


def test_concurrent_requests_each_get_a_connection_and_all_answer(raw: RawServer) -> None:
    raw.delay = 0.05
    transport = Transport(5)

    async def go() -> list[Response]:
        try:
            return list(await asyncio.gather(*(transport.asend("k", request(raw.url, path=f"/c/{i}"))
                                               for i in range(40))))
        finally:
            await transport.aclose()
    started = time.monotonic()
    responses = asyncio.run(go())
    assert all(r.status == 200 and r.body == {"ok": True} for r in responses)
    assert sorted(r.split(b" ")[1] for r in raw.requests) == sorted(f"/c/{i}".encode() for i in range(40))
    # Bounded by the pool (32 connections), and concurrent: far less than 40 × 50 ms.
    assert raw.connections <= 32 and time.monotonic() - started < 1.5


def test_a_connection_the_server_closed_while_idle_is_not_reused(raw: RawServer) -> None:
    raw.close_after_reply = True  # keep-alive promised, then closed anyway

    async def go() -> list[Response]:
        transport = Transport(5)
        out = []
        for i in range(3):
            out.append(await transport.asend("k", request(raw.url, path=f"/{i}")))
            await asyncio.sleep(0.05)
        await transport.aclose()
        return out
    assert [r.status for r in asyncio.run(go())] == [200, 200, 200]
    assert raw.connections == 3


def test_hang_up_without_an_answer_is_a_connection_failure(raw: RawServer) -> None:
    raw.reply = None
    (resp,) = send_async(Transport(5), request(raw.url))
    assert resp.status == 0 and resp.failure == "connection failed (RemoteProtocolError)"


def test_refused_connection_is_a_connection_failure() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (resp,) = send_async(Transport(5), request(f"http://127.0.0.1:{port}"))
    assert resp.status == 0 and resp.failure == "connection failed (ConnectError)"


def test_no_answer_in_time_is_a_timeout_and_the_connection_is_dropped(raw: RawServer) -> None:
    raw.delay = 0.5
    transport = Transport(0.1)

    async def go() -> tuple[Response, int]:
        resp = await transport.asend("k", request(raw.url))
        pool = next(iter(transport._async.values())).lean
        idle = sum(len(conns) for conns in pool._idle.values())
        await transport.aclose()
        return resp, idle
    resp, idle = asyncio.run(go())
    assert resp.status == 0 and resp.failure == "no response within 0.1s (ReadTimeout)"
    assert idle == 0


def test_a_cancelled_request_does_not_leave_its_connection_for_the_next(raw: RawServer) -> None:
    raw.delay = 0.3
    transport = Transport(5)

    async def go() -> Response:
        task = asyncio.ensure_future(transport.asend("k", request(raw.url, path="/first")))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        raw.delay = 0.0
        resp = await transport.asend("k", request(raw.url, path="/second"))
        await transport.aclose()
        return resp
    resp = asyncio.run(go())
    assert resp.status == 200 and raw.connections == 2
    assert json.loads(OK.split(b"\r\n\r\n")[1]) == resp.body


def test_requests_httpx_must_send_still_work_on_the_async_path(raw: RawServer) -> None:
    reqs = [request(raw.url, path=f"/a b/{i}") for i in range(3)] + [request(raw.url, method="HEAD")]
    assert all(http11.build(req) is None for req in reqs)
    responses = send_async(Transport(5), *reqs)
    assert [r.status for r in responses] == [200] * 4
    assert raw.requests[0].startswith(b"GET /a%20b/0 HTTP/1.1")
    assert raw.requests[3].startswith(b"HEAD /x HTTP/1.1")
    assert raw.connections == 1  # one httpx client, kept alive, reused by each request in turn
