"""HTTP for the executor: pooled connections per destination instance (base URL + credentials).

Sync requests use one httpx client per instance. Async requests use, per instance and event
loop, a pool of connections each serving one request at a time: ``http`` and ``https`` requests
go through the lean client in `engine.execute.http11` (same bytes on the wire as httpx), the rest
(anything it cannot send identically) through single-connection httpx clients.

TLS: every path uses ONE SSL context per transport, ``httpx.create_ssl_context()`` (certifi's CA
bundle, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set, as httpx honours them; hostname
checking; TLS 1.2 or later), unless the caller passes its own as ``Transport(verify=...)`` (tests
trusting a private CA do).
"""

from __future__ import annotations

import asyncio
import os
import ssl
import threading
import urllib.request
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import httpx

from engine.execute import http11
from engine.execute.render import RenderedRequest
from engine.execute.response import Response, parse_body

_MAX_CLIENTS = 64
#: Keep every connection we open alive: with httpx's default (20 idle of 100) a burst of concurrent
#: requests keeps reopening connections.
_LIMITS = httpx.Limits(max_connections=64, max_keepalive_connections=64, keepalive_expiry=30)
#: Async requests go through a pool of clients with ONE connection each, one request per client
#: at a time: httpcore's async pool scans every connection (a poll() per connection) for every
#: request it assigns, so one client shared by many tasks costs several times the CPU of a
#: client per task. At most this many clients (= connections) per instance and event loop.
_ASYNC_CLIENTS = 32
_ASYNC_LIMITS = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=30)
#: `DDENGINE_HTTP_CLIENT=httpx` sends every request through httpx: the escape hatch should the
#: lean client ever misbehave, and for comparing figures.
_LEAN_ENABLED = os.environ.get("DDENGINE_HTTP_CLIENT", "").lower() != "httpx"


def _proxied_schemes() -> frozenset[str]:
    """Schemes with a proxy in the environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY): httpx
    honours them and the lean client does not, so those requests go through httpx."""
    proxies = urllib.request.getproxies_environment()
    return frozenset(s for s in ("http", "https") if s in proxies or "all" in proxies)


_PROXIED = _proxied_schemes()


def _to_response(resp: httpx.Response) -> Response:
    headers = {k.lower(): v for k, v in resp.headers.items()}
    body, text = parse_body(resp.content, headers.get("content-type", ""))
    return Response(status=resp.status_code, headers=headers, body=body, text=text)


def _failure(exc: Exception, timeout: float) -> Response:
    if isinstance(exc, httpx.TimeoutException):
        return Response(status=0, failure=f"no response within {timeout:g}s ({type(exc).__name__})")
    if isinstance(exc, httpx.ConnectError):
        return Response(status=0, failure=http11.connect_failure(exc))
    return Response(status=0, failure=f"connection failed ({type(exc).__name__})")


def _kwargs(req: RenderedRequest) -> dict[str, Any]:
    kw: dict[str, Any] = {"headers": req.headers}
    if req.query:
        kw["params"] = req.query
    if req.has_json and req.json is not None:
        kw["json"] = req.json
    return kw


def _http11_alpn(ctx: ssl.SSLContext) -> ssl.SSLContext:
    """Offer ALPN ``http/1.1`` as httpcore does (it sets this on the context it is given): every
    handshake, lean or httpx, first or later, then looks the same to the server."""
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


class _AsyncPool:
    """Single-connection clients handed to one request at a time (most recently used first, so
    the warm connections keep being reused and the rest may expire)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float,
                 tls: Callable[[], ssl.SSLContext]) -> None:
        self.loop = loop
        self.timeout = timeout
        self.lean = http11.ConnectionPool(loop, timeout, tls)
        self._idle: list[httpx.AsyncClient] = []
        self._all: list[httpx.AsyncClient] = []
        self._slots = asyncio.Semaphore(_ASYNC_CLIENTS)
        self._tls = tls

    async def send(self, req: RenderedRequest) -> Response:
        """Requests httpx would send byte for byte the same go through the lean client; the
        rest through httpx."""
        built = http11.build(req) if _LEAN_ENABLED else None
        if built is not None and built[0][0] in _PROXIED:
            built = None
        if built is None:
            try:
                resp = await self.request(req)
            except httpx.HTTPError as exc:
                return _failure(exc, self.timeout)
            return _to_response(resp)
        async with self._slots:
            return await self.lean.send(*built)

    async def request(self, req: RenderedRequest) -> httpx.Response:
        async with self._slots:
            if self._idle:
                client = self._idle.pop()
            else:
                client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False, limits=_ASYNC_LIMITS,
                                           verify=self._tls())
                self._all.append(client)
            try:
                return await client.request(req.method, req.url, **_kwargs(req))
            finally:
                self._idle.append(client)

    async def aclose(self) -> None:
        await self.lean.aclose()
        clients, self._all, self._idle = self._all, [], []
        for client in clients:
            await client.aclose()


class Transport:
    """Pools connections by instance key; closing the transport closes every client.

    ``verify``: the SSL context for every HTTPS connection, lean or httpx; by default
    ``httpx.create_ssl_context()``, built on first use and shared.
    """

    def __init__(self, timeout: float, verify: ssl.SSLContext | None = None) -> None:
        self.timeout = timeout
        self._sync: OrderedDict[str, httpx.Client] = OrderedDict()
        self._async: dict[tuple[int, str], _AsyncPool] = {}
        self._lock = threading.Lock()
        self._verify = _http11_alpn(verify) if verify is not None else None
        self._tls_lock = threading.Lock()

    def _tls(self) -> ssl.SSLContext:
        """The shared SSL context (building one costs ~20 ms: once per transport)."""
        if self._verify is None:
            with self._tls_lock:
                if self._verify is None:
                    self._verify = _http11_alpn(httpx.create_ssl_context())
        return self._verify

    def _client(self, key: str) -> httpx.Client:
        with self._lock:
            client = self._sync.get(key)
            if client is None:
                client = httpx.Client(timeout=self.timeout, follow_redirects=False, limits=_LIMITS,
                                      verify=self._tls())
                self._sync[key] = client
                while len(self._sync) > _MAX_CLIENTS:
                    self._sync.popitem(last=False)[1].close()
            else:
                self._sync.move_to_end(key)
            return client

    def _apool(self, key: str) -> _AsyncPool:
        loop = asyncio.get_running_loop()
        pool = self._async.get((id(loop), key))
        if pool is not None and pool.loop is loop:
            return pool
        with self._lock:
            # Clients belong to the loop that opened their connections; forget those of dead loops.
            for stale in [k for k, p in self._async.items() if p.loop.is_closed()]:
                del self._async[stale]
            pool = self._async.get((id(loop), key))
            if pool is None or pool.loop is not loop:
                pool = _AsyncPool(loop, self.timeout, self._tls)
                self._async[(id(loop), key)] = pool
            return pool

    def send(self, key: str, req: RenderedRequest) -> Response:
        try:
            resp = self._client(key).request(req.method, req.url, **_kwargs(req))
        except httpx.HTTPError as exc:
            return _failure(exc, self.timeout)
        return _to_response(resp)

    async def asend(self, key: str, req: RenderedRequest) -> Response:
        return await self._apool(key).send(req)

    def close(self) -> None:
        with self._lock:
            clients, self._sync = list(self._sync.values()), OrderedDict()
        for client in clients:
            client.close()

    async def aclose(self) -> None:
        self.close()
        loop = asyncio.get_running_loop()
        with self._lock:
            mine = [k for k, p in self._async.items() if p.loop is loop]
            pools = [self._async.pop(k) for k in mine]
        for pool in pools:
            await pool.aclose()
