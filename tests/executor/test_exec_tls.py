"""HTTPS on the lean client (engine.execute.http11) and through httpx, against a real TLS server
on 127.0.0.1 whose certificate comes from a private test CA (trustme).

The lean path must trust exactly what httpx trusts (same SSL context), put the same bytes on the
wire inside TLS, reuse its connections, and turn every certificate problem into a connection
failure that says why, never a success.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.execute import http11, transport
from engine.execute.render import RenderedRequest
from engine.execute.response import Response
from engine.execute.transport import Transport

from .test_exec_http11 import REPLIES, RawServer, json_values, query_value, request, segment, token

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _server_context(cert: trustme.LeafCert, **options: Any) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    if "maximum_version" in options:
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # let OpenSSL 3 actually offer the old version
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    for name, value in options.items():
        setattr(ctx, name, value)
    cert.configure_cert(ctx)
    return ctx


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    """The production context (httpx's) that also trusts the test CA."""
    ctx = httpx.create_ssl_context()
    ca.configure_trust(ctx)
    return ctx


@pytest.fixture
def tls(ca: trustme.CA) -> Iterator[RawServer]:
    srv = RawServer(_server_context(ca.issue_cert("127.0.0.1", "localhost")))
    yield srv
    srv.close()


@pytest.fixture(autouse=True)
def _no_ca_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests decide what is trusted; the environment must not."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def lean(t: Transport, *reqs: RenderedRequest) -> tuple[list[Response], int]:
    """Send through the async path; also return how many connections sit idle in the lean pools."""
    async def go() -> tuple[list[Response], int]:
        try:
            out = [await t.asend("k", req) for req in reqs]
            idle = sum(len(c) for p in t._async.values() for c in p.lean._idle.values())
            return out, idle
        finally:
            await t.aclose()
    return asyncio.run(go())


def sync(t: Transport, req: RenderedRequest) -> Response:
    try:
        return t.send("k", req)
    finally:
        t.close()


# -- trusted server ------------------------------------------------------------------------------
def test_https_takes_the_lean_path_and_reuses_one_connection(tls: RawServer, ca: trustme.CA) -> None:
    reqs = [request(tls.url, method="POST", path=f"/n/{i}", body={"i": i}) for i in range(20)]
    built = http11.build(reqs[0])
    assert built is not None and built[0] == ("https", "127.0.0.1", tls.port)
    responses, idle = lean(Transport(5, verify=trusting(ca)), *reqs)
    assert [(r.status, r.body, r.failure) for r in responses] == [(200, {"ok": True}, "")] * 20
    assert tls.connections == 1 and len(tls.requests) == 20 and idle == 1
    assert tls.alpn == ["http/1.1"]  # offered as httpx offers it, even before httpx touched the context
    assert tls.requests[0].startswith(b"POST /n/0 HTTP/1.1\r\nHost: 127.0.0.1:")


def test_a_host_name_is_checked_and_sent_like_httpx_does(tls: RawServer, ca: trustme.CA) -> None:
    req = request(f"https://localhost:{tls.port}", path="/by-name")
    (resp,), _ = lean(Transport(5, verify=trusting(ca)), req)
    reference = sync(Transport(5, verify=trusting(ca)), req)
    assert resp == reference and resp.status == 200
    assert tls.requests[0] == tls.requests[1]
    assert f"Host: localhost:{tls.port}\r\n".encode() in tls.requests[0]


def test_default_port_is_443_and_left_out_of_the_host_header() -> None:
    built = http11.build(request("https://api.example.com", path="/v2/x"))
    assert built is not None
    key, data = built
    assert key == ("https", "api.example.com", 443)
    assert data.startswith(b"GET /v2/x HTTP/1.1\r\nHost: api.example.com\r\n")
    assert http11.build(request("https://api.example.com:8443"))[0][2] == 8443  # type: ignore[index]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
       segments=st.lists(segment, max_size=3),
       query=st.dictionaries(token, query_value, max_size=2),
       headers=st.dictionaries(token.filter(lambda t: t.lower() not in http11._RESERVED),
                               st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=12),
                               max_size=2),
       body=st.none() | json_values.filter(lambda v: v is not None))
def test_bytes_inside_tls_are_exactly_what_httpx_sends(tls: RawServer, ca: trustme.CA, method: str,
                                                       segments: list[str], query: dict[str, Any],
                                                       headers: dict[str, str], body: Any) -> None:
    req = request(tls.url, method=method, path="/" + "/".join(segments), query=query, headers=headers,
                  body=body)
    if http11.build(req) is None:
        assert query and not str(httpx.QueryParams(query))  # the only ineligible case generated
        return
    tls.requests.clear()
    (resp,), _ = lean(Transport(5, verify=trusting(ca)), req)
    assert resp.status == 200
    sync(Transport(5, verify=trusting(ca)), req)
    assert len(tls.requests) == 2 and tls.requests[0] == tls.requests[1]


@pytest.mark.parametrize("name", list(REPLIES))
def test_every_response_shape_reads_over_tls_as_httpx_reads_it(tls: RawServer, ca: trustme.CA,
                                                                name: str) -> None:
    tls.reply = REPLIES[name]
    tls.close_after_reply = name in ("read until close", "closing")
    (resp,), _ = lean(Transport(5, verify=trusting(ca)), request(tls.url))
    assert resp == sync(Transport(5, verify=trusting(ca)), request(tls.url))
    assert resp.status in (200, 201, 204, 404, 429, 500) and not resp.failure


def test_ssl_cert_file_is_honoured_as_httpx_honours_it(tls: RawServer, ca: trustme.CA, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    (resp,), _ = lean(Transport(5), request(tls.url))
    assert resp.status == 200
    assert sync(Transport(5), request(tls.url)).status == 200


def test_the_httpx_escape_hatch_still_serves_https(tls: RawServer, ca: trustme.CA,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transport, "_LEAN_ENABLED", False)
    responses, idle = lean(Transport(5, verify=trusting(ca)), *[request(tls.url) for _ in range(3)])
    assert [r.status for r in responses] == [200] * 3
    assert idle == 0 and tls.connections == 1  # one httpx client, kept alive: not the lean pool


def test_the_escape_hatch_is_read_from_the_environment() -> None:
    code = "from engine.execute import transport; print(transport._LEAN_ENABLED)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**os.environ, "DDENGINE_HTTP_CLIENT": "httpx"}).stdout
    assert out.strip() == "False"


def test_a_scheme_with_a_proxy_in_the_environment_goes_through_httpx(
        tls: RawServer, ca: trustme.CA, monkeypatch: pytest.MonkeyPatch) -> None:
    code = "from engine.execute import transport; print(sorted(transport._PROXIED))"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    for extra, expected in (({}, "[]"), ({"HTTPS_PROXY": "http://127.0.0.1:9"}, "['https']"),
                            ({"all_proxy": "http://127.0.0.1:9"}, "['http', 'https']")):
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                             check=True, env={**env, **extra}).stdout
        assert out.strip() == expected
    monkeypatch.setattr(transport, "_PROXIED", frozenset({"https"}))
    responses, idle = lean(Transport(5, verify=trusting(ca)), *[request(tls.url) for _ in range(2)])
    assert [r.status for r in responses] == [200, 200] and idle == 0  # httpx's client, not the lean pool


# -- certificate problems are connection failures, on both paths --------------------------------
def _both_paths(req: RenderedRequest, verify: ssl.SSLContext | None,
                monkeypatch: pytest.MonkeyPatch) -> tuple[Response, Response, Response]:
    (lean_resp,), _ = lean(Transport(5, verify=verify), req)
    sync_resp = sync(Transport(5, verify=verify), req)
    monkeypatch.setattr(transport, "_LEAN_ENABLED", False)
    (httpx_async,), _ = lean(Transport(5, verify=verify), req)
    return lean_resp, sync_resp, httpx_async


def test_an_untrusted_certificate_is_a_connection_failure(tls: RawServer,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    results = _both_paths(request(tls.url, method="POST", body={"secret": "s"}), None, monkeypatch)
    for resp in results:
        assert resp.status == 0 and resp.body is None
        assert resp.failure == ("connection failed (ConnectError: TLS certificate verify failed: "
                                "unable to get local issuer certificate)")
    deadline = time.monotonic() + 5  # the server thread notices the aborted handshake a moment later
    while tls.handshake_failures < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert tls.requests == [] and tls.handshake_failures == 3  # not one byte of the request was sent


def test_a_certificate_for_another_host_is_a_connection_failure(ca: trustme.CA,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    srv = RawServer(_server_context(ca.issue_cert("api.example.com")))
    try:
        results = _both_paths(request(srv.url), trusting(ca), monkeypatch)
    finally:
        srv.close()
    for resp in results:
        assert resp.status == 0 and resp.failure == (
            "connection failed (ConnectError: TLS certificate verify failed: "
            "IP address mismatch, certificate is not valid for '127.0.0.1'.)")
    assert srv.requests == []


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
def test_tls_older_than_1_2_is_refused(ca: trustme.CA, monkeypatch: pytest.MonkeyPatch) -> None:
    srv = RawServer(_server_context(ca.issue_cert("127.0.0.1"), minimum_version=ssl.TLSVersion.TLSv1,
                                    maximum_version=ssl.TLSVersion.TLSv1_1))
    try:
        lenient = ssl.create_default_context()  # control: the server does speak TLS 1.1
        ca.configure_trust(lenient)
        lenient.set_ciphers("DEFAULT:@SECLEVEL=0")
        lenient.minimum_version = ssl.TLSVersion.TLSv1
        assert sync(Transport(5, verify=lenient), request(srv.url)).status == 200
        results = _both_paths(request(srv.url), trusting(ca), monkeypatch)
    finally:
        srv.close()
    for resp in results:
        assert resp.status == 0
        assert resp.failure == ("connection failed (ConnectError: TLS handshake failed: "
                                "TLSV1_ALERT_PROTOCOL_VERSION)")
    assert len(srv.requests) == 1  # the control's only


def test_a_server_that_never_finishes_the_handshake_is_a_connect_timeout(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as silent:  # accepts TCP (backlog) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        req = request(f"https://127.0.0.1:{silent.getsockname()[1]}")
        (lean_resp,), _ = lean(Transport(0.2), req)
        sync_resp = sync(Transport(0.2), req)
    for resp in (lean_resp, sync_resp):
        assert resp.status == 0 and resp.failure == "no response within 0.2s (ConnectTimeout)"


def test_closing_the_transport_finishes_every_tls_shutdown(tls: RawServer, ca: trustme.CA) -> None:
    """A TLS close is a close_notify exchange; closing the transport must wait for it, or the
    sockets are still open when the event loop ends (and leak)."""
    t = Transport(5, verify=trusting(ca))

    async def go() -> list[bool]:
        await asyncio.gather(*(t.asend("k", request(tls.url, path=f"/{i}")) for i in range(5)))
        conns = [c for p in t._async.values() for idle in p.lean._idle.values() for c in idle]
        await t.aclose()
        return [c.lost.done() for c in conns]  # checked before the loop gets any further turn
    assert asyncio.run(go()) == [True] * 5
