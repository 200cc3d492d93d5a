"""HTTP on httpx: one pooled client per destination instance (base URL + credentials), sync and async."""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from typing import Any

import httpx

from engine.execute.render import RenderedRequest
from engine.execute.response import Response, parse_body

_MAX_CLIENTS = 64
#: Keep every connection we open alive: with httpx's default (20 idle of 100) a burst of concurrent
#: requests keeps reopening connections.
_LIMITS = httpx.Limits(max_connections=64, max_keepalive_connections=64, keepalive_expiry=30)
#: httpcore's async pool scans every connection for every queued request, so a small pool of
#: busy connections serves 32 concurrent actions faster than 64 mostly idle ones (measured:
#: about 2x on benchmarks/mapping.py).
_ASYNC_LIMITS = httpx.Limits(max_connections=16, max_keepalive_connections=16, keepalive_expiry=30)


def _to_response(resp: httpx.Response) -> Response:
    headers = {k.lower(): v for k, v in resp.headers.items()}
    body, text = parse_body(resp.content, headers.get("content-type", ""))
    return Response(status=resp.status_code, headers=headers, body=body, text=text)


def _failure(exc: Exception, timeout: float) -> Response:
    if isinstance(exc, httpx.TimeoutException):
        return Response(status=0, failure=f"no response within {timeout:g}s ({type(exc).__name__})")
    return Response(status=0, failure=f"connection failed ({type(exc).__name__})")


def _kwargs(req: RenderedRequest) -> dict[str, Any]:
    kw: dict[str, Any] = {"headers": req.headers}
    if req.query:
        kw["params"] = req.query
    if req.has_json and req.json is not None:
        kw["json"] = req.json
    return kw


class Transport:
    """Pools httpx clients by instance key; closing the transport closes every client."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._sync: OrderedDict[str, httpx.Client] = OrderedDict()
        self._async: dict[tuple[int, str], tuple[asyncio.AbstractEventLoop, httpx.AsyncClient]] = {}
        self._lock = threading.Lock()

    def _client(self, key: str) -> httpx.Client:
        with self._lock:
            client = self._sync.get(key)
            if client is None:
                client = httpx.Client(timeout=self.timeout, follow_redirects=False, limits=_LIMITS)
                self._sync[key] = client
                while len(self._sync) > _MAX_CLIENTS:
                    self._sync.popitem(last=False)[1].close()
            else:
                self._sync.move_to_end(key)
            return client

    def _aclient(self, key: str) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        with self._lock:
            # Clients belong to the loop that opened their connections; forget those of dead loops.
            for stale in [k for k, (lp, _) in self._async.items() if lp.is_closed()]:
                del self._async[stale]
            entry = self._async.get((id(loop), key))
            if entry is None or entry[0] is not loop:
                entry = (
                    loop,
                    httpx.AsyncClient(timeout=self.timeout, follow_redirects=False, limits=_ASYNC_LIMITS),
                )
                self._async[(id(loop), key)] = entry
            return entry[1]

    def send(self, key: str, req: RenderedRequest) -> Response:
        try:
            resp = self._client(key).request(req.method, req.url, **_kwargs(req))
        except httpx.HTTPError as exc:
            return _failure(exc, self.timeout)
        return _to_response(resp)

    async def asend(self, key: str, req: RenderedRequest) -> Response:
        try:
            resp = await self._aclient(key).request(req.method, req.url, **_kwargs(req))
        except httpx.HTTPError as exc:
            return _failure(exc, self.timeout)
        return _to_response(resp)

    def close(self) -> None:
        with self._lock:
            clients, self._sync = list(self._sync.values()), OrderedDict()
        for client in clients:
            client.close()

    async def aclose(self) -> None:
        self.close()
        loop = asyncio.get_running_loop()
        with self._lock:
            mine = [k for k, (lp, _) in self._async.items() if lp is loop]
            clients = [self._async.pop(k)[1] for k in mine]
        for client in clients:
            await client.aclose()
