"""The ASGI application: the API pipeline and the `/_sandbox` control endpoints.

API requests go through: route match -> injected faults -> Basic auth -> rate limit -> handler
-> request log. That path speaks raw ASGI (no middleware stack) to stay cheap, and so a
"dropped connection" fault can close uvicorn's transport without any HTTP answer. The control
endpoints are an ordinary Starlette application.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as StarletteRoute

from engine.sandbox.api import build_router
from engine.sandbox.core import SandboxCore
from engine.sandbox.errors import ApiError, generic_error, unauthorized
from engine.sandbox.routing import Call, MethodNotAllowed, Reply, family_of, split_path

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON_HEADERS = [(b"content-type", b"application/json; charset=utf-8")]
_MAX_LOGGED_TEXT = 10_000


class SandboxApp:
    """ASGI entry point; `base_url` is filled in once the server knows its port."""

    def __init__(self, core: SandboxCore) -> None:
        self.core = core
        self.router = build_router()
        self.base_url = ""
        self.control = _control_app(core)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await _lifespan(receive, send)
            return
        if scope["path"].startswith("/_sandbox"):
            await self.control(scope, receive, send)
            return
        await self._api(scope, receive, send)

    async def _api(self, scope: Scope, receive: Receive, send: Send) -> None:
        core = self.core
        method: str = scope["method"]
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("utf-8", "replace")
        segments = split_path(raw_path)
        family = family_of(segments)
        body_bytes = await _read_body(receive)
        query_string: bytes = scope.get("query_string", b"")
        query = (
            dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)) if query_string else {}
        )
        path = "/" + "/".join(segments)
        route = params = None
        not_allowed = False
        try:
            matched = self.router.match(method, segments)
        except MethodNotAllowed:
            matched, not_allowed = None, True
        if matched:
            route, params = matched
            family = route.family

        faults = core.faults
        if faults.active:
            with core.lock:
                delay = faults.delay()
                action = faults.decide(method, path, route.template if route else None)
            if delay:
                await asyncio.sleep(delay)
            if action is not None:
                if action.drop:
                    self._log(method, raw_path, query, body_bytes, None, None)
                    await _drop(send)
                    return
                headers = (
                    {"Retry-After": str(int(action.retry_after))} if action.retry_after is not None else {}
                )
                text = "An error has occurred." if action.status >= 500 else "Injected fault."
                err = generic_error(family, action.status, "", text)
                await self._finish(
                    send, method, raw_path, query, body_bytes, None, action.status, err.body, headers
                )
                return

        user = core.auth.user_for(_header(scope, b"authorization"))
        if user is None:
            err = unauthorized(family)
            await self._finish(send, method, raw_path, query, body_bytes, None, 401, err.body, {})
            return

        if route is None:
            if not_allowed:
                err = generic_error(
                    family, 405, "", f"The requested resource does not support http method '{method}'."
                )
            else:
                err = generic_error(
                    family, 404, "", f"No HTTP resource was found that matches the request URI '{path}'."
                )
            await self._finish(send, method, raw_path, query, body_bytes, user, err.status, err.body, {})
            return

        body: Any = None
        bad_json: ApiError | None = None
        if body_bytes:
            try:
                body = json.loads(body_bytes)
            except (ValueError, UnicodeDecodeError):
                body = _parse_for_log(body_bytes)
                bad_json = generic_error(
                    family, 400, "ERROR_PARAMETER_INVALID", "The request body is not valid JSON."
                )
                if family == "v3":
                    bad_json.body["errorCode"] = "contacts:badJson"

        now = time.time()
        with core.lock:
            account = core.accounts[user]
            rate_headers: dict[str, str] = {}
            reply: Reply | None = None
            if core.limiter is not None:
                decision = core.limiter.hit(account.id, route.tier, now)
                rate_headers = decision.headers
                if not decision.allowed:
                    err = generic_error(
                        family,
                        429,
                        "ERROR_RATE_LIMIT_EXCEEDED",
                        f"Too many requests: the {route.tier} tier allows "
                        f"{rate_headers['X-RateLimit-Limit']} calls per window.",
                    )
                    reply = Reply(429, err.body)
            if reply is None:
                if bad_json is not None:
                    reply = Reply(400, bad_json.body)
                else:
                    call = Call(account, params or {}, query, body, self.base_url, now, core.rate_config)
                    reply = self._handle(route.handler, call)
            self._log_locked(method, raw_path, query, body, user, reply.status, now)
        await _respond(send, reply.status, reply.body, {**rate_headers, **reply.headers})

    @staticmethod
    def _handle(handler: Callable[[Call], Reply], call: Call) -> Reply:
        try:
            return handler(call)
        except ApiError as err:
            return Reply(err.status, err.body, err.headers)

    def _log_locked(
        self,
        method: str,
        raw_path: str,
        query: dict[str, str],
        body: Any,
        user: str | None,
        status: int | None,
        now: float,
    ) -> None:
        self.core.log.add(
            {
                "method": method,
                "path": raw_path,
                "query": query,
                "json": body,
                "status": status,
                "time": now,
                "user": user,
            }
        )

    def _log(
        self,
        method: str,
        raw_path: str,
        query: dict[str, str],
        body_bytes: bytes,
        user: str | None,
        status: int | None,
    ) -> None:
        body = _parse_for_log(body_bytes)
        with self.core.lock:
            self._log_locked(method, raw_path, query, body, user, status, time.time())

    async def _finish(
        self,
        send: Send,
        method: str,
        raw_path: str,
        query: dict[str, str],
        body_bytes: bytes,
        user: str | None,
        status: int,
        out: Any,
        headers: dict[str, str],
    ) -> None:
        self._log(method, raw_path, query, body_bytes, user, status)
        await _respond(send, status, out, headers)


def _parse_for_log(body_bytes: bytes) -> Any:
    """Parsed JSON for the log; undecodable bodies are logged as (truncated) text."""
    if not body_bytes:
        return None
    try:
        return json.loads(body_bytes)
    except (ValueError, UnicodeDecodeError):
        return body_bytes[:_MAX_LOGGED_TEXT].decode("utf-8", "replace")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _respond(send: Send, status: int, body: Any, headers: dict[str, str]) -> None:
    if body is None:
        payload = b""
        raw_headers: list[tuple[bytes, bytes]] = [(b"content-length", b"0")]
    else:
        payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        raw_headers = [*_JSON_HEADERS, (b"content-length", str(len(payload)).encode())]
    for key, value in headers.items():
        raw_headers.append((key.lower().encode(), value.encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


async def _drop(send: Send) -> None:
    """Close the client connection without any HTTP answer.

    uvicorn's `send` is a bound method of its request cycle, which holds the transport; closing
    it and marking the cycle disconnected makes uvicorn end the request silently. Other servers:
    start a response and raise, which at least aborts it mid-way.
    """
    cycle: Any = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is not None and hasattr(cycle, "disconnected"):
        transport.close()
        cycle.disconnected = True
        return
    await send({"type": "http.response.start", "status": 500, "headers": []})
    raise ConnectionAbortedError("sandbox fault: dropped connection")


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


# -- control endpoints ----------------------------------------------------------------------------
def _control_app(core: SandboxCore) -> Starlette:
    async def state(request: Request) -> Response:
        try:
            return JSONResponse(core.snapshot(request.query_params.get("user")))
        except KeyError as exc:
            return JSONResponse({"error": str(exc.args[0])}, status_code=404)

    async def reset(request: Request) -> Response:
        core.reset()
        return JSONResponse({"reset": True})

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            with core.lock:
                core.faults.configure()
        elif request.method == "POST":
            doc = await _json_object(request)
            if isinstance(doc, Response):
                return doc
            try:
                with core.lock:
                    core.faults.configure_from(doc)
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        with core.lock:
            return JSONResponse(core.faults.as_json())

    async def rate_limits(request: Request) -> Response:
        if request.method == "POST":
            doc = await _json_object(request, allow_null=True)
            if isinstance(doc, Response):
                return doc
            try:
                core.set_rate_limits(doc.get("limits") if doc and "limits" in doc else (doc or None))
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        config = core.rate_config
        return JSONResponse({"enabled": config is not None, **(config.as_json() if config else {})})

    async def requests(request: Request) -> Response:
        if request.method == "DELETE":
            core.clear_requests()
            return JSONResponse({"cleared": True})
        entries = core.requests()
        limit = request.query_params.get("limit")
        if limit and limit.isdigit():
            entries = entries[-int(limit) :] if int(limit) else []
        return JSONResponse({"count": len(entries), "requests": entries})

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "seed": core.seed_name, "users": list(core.users)})

    return Starlette(
        routes=[
            StarletteRoute("/_sandbox/state", state, methods=["GET"]),
            StarletteRoute("/_sandbox/reset", reset, methods=["POST"]),
            StarletteRoute("/_sandbox/faults", faults, methods=["GET", "POST", "DELETE"]),
            StarletteRoute("/_sandbox/rate-limits", rate_limits, methods=["GET", "POST"]),
            StarletteRoute("/_sandbox/requests", requests, methods=["GET", "DELETE"]),
            StarletteRoute("/_sandbox/health", health, methods=["GET"]),
        ]
    )


async def _json_object(request: Request, *, allow_null: bool = False) -> Any:
    raw = await request.body()
    if not raw.strip():
        return None if allow_null else {}
    try:
        doc = json.loads(raw)
    except ValueError:
        return JSONResponse({"error": "the body is not valid JSON"}, status_code=400)
    if doc is None and allow_null:
        return None
    if not isinstance(doc, dict):
        return JSONResponse({"error": "expected a JSON object"}, status_code=400)
    return doc
