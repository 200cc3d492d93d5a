"""Segment tracking-API compatible ingestion (Starlette).

`POST /v1/{track,identify,page,screen,group,alias,batch}` with the write key as the Basic-auth
user name (or `writeKey` in the body, as some SDKs send). A request is answered 200 only after
its events are durably queued; any invalid event rejects the whole request with a 4xx naming
the field, and nothing of it is queued.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import json
import logging
import zlib
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from engine.runtime import logs
from engine.runtime.events import MAX_BATCH_BYTES, MAX_EVENT_BYTES, TYPES, InvalidEvent, check_size, normalize
from engine.runtime.metrics import Registry
from engine.runtime.queue import DeliveryQueue, QueueStats, Submission
from engine.server.commit import GroupCommitter

_log = logging.getLogger("engine.server")

Router = Callable[[Mapping[str, Any]], Sequence[str]]
Background = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


class _Reject(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def create_app(*, route: Router, queue: DeliveryQueue, write_keys: Sequence[str],
               metrics: Registry | None = None, background: Sequence[Background] = ()) -> Starlette:
    """The ingestion app; `background` coroutines (in-process workers) run for its lifetime."""
    if not write_keys:
        raise ValueError("at least one write key is required (config: server.write_keys)")
    keys = [k.encode("utf-8") for k in write_keys]
    registry = metrics or Registry()
    _register(registry)
    committer = GroupCommitter(queue)
    last_stats: dict[str, QueueStats] = {"value": QueueStats()}
    registry.gauge("ddengine_queue_items", "Deliveries in the queue, by state.", lambda: {
        (("state", "ready"),): last_stats["value"].ready,
        (("state", "delayed"),): last_stats["value"].delayed,
        (("state", "leased"),): last_stats["value"].leased,
        (("state", "dead"),): last_stats["value"].dead,
    })

    def reply(endpoint: str, status: int, body: dict[str, Any],
              headers: dict[str, str] | None = None) -> Response:
        registry.inc("ddengine_http_requests_total", endpoint=endpoint, status=str(status))
        return JSONResponse(body, status_code=status, headers=headers)

    async def ingest(request: Request) -> Response:
        kind = request.path_params["kind"]
        endpoint = f"/v1/{kind}"
        try:
            if kind != "batch" and kind not in TYPES:
                raise _Reject(404, "not_found", f"unknown endpoint {endpoint}")
            limit = MAX_BATCH_BYTES if kind == "batch" else MAX_EVENT_BYTES
            body = await _read_json(request, limit)
            _authorize(request, body, keys)
            events = _events(kind, body)
            submissions = [Submission(event=e, subscriptions=tuple(route(e)), message_id=e.get("messageId"))
                           for e in events]
        except _Reject as rej:
            registry.inc("ddengine_events_rejected_total", reason=rej.code)
            logs.event(_log, logging.INFO, "request rejected", endpoint=endpoint, status=rej.status,
                       code=rej.code, reason=rej.message)
            headers = {"WWW-Authenticate": 'Basic realm="ddengine"'} if rej.status == 401 else None
            return reply(endpoint, rej.status, {"success": False, "code": rej.code, "message": rej.message},
                         headers)
        try:
            result = await committer.submit(submissions)
        except Exception as exc:
            logs.event(_log, logging.ERROR, "queue write failed", endpoint=endpoint,
                       error=f"{type(exc).__name__}: {exc}")
            return reply(endpoint, 503, {"success": False, "code": "unavailable",
                                         "message": "the queue is unavailable; retry later"})
        for sub in submissions:
            registry.inc("ddengine_events_received_total", type=str(sub.event.get("type")))
        registry.inc("ddengine_events_duplicate_total", result.duplicates)
        registry.inc("ddengine_deliveries_enqueued_total", result.deliveries)
        return reply(endpoint, 200, {"success": True})

    async def healthz(request: Request) -> Response:
        try:
            stats = await asyncio.to_thread(queue.stats)
        except Exception as exc:
            return JSONResponse({"status": "unhealthy", "error": type(exc).__name__}, status_code=503)
        last_stats["value"] = stats
        return JSONResponse({"status": "ok", "queue": {"ready": stats.ready, "delayed": stats.delayed,
                                                        "leased": stats.leased, "dead": stats.dead}})

    async def metrics_endpoint(request: Request) -> Response:
        with contextlib.suppress(Exception):
            last_stats["value"] = await asyncio.to_thread(queue.stats)
        return PlainTextResponse(registry.render(), media_type="text/plain; version=0.0.4")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(job(stop)) for job in background]
        try:
            yield
        finally:
            stop.set()  # the server has stopped taking requests: let workers finish or release
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            await committer.close()

    app = Starlette(routes=[
        Route("/v1/{kind}", ingest, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ], lifespan=lifespan)
    app.state.committer = committer
    app.state.metrics = registry
    return app


def _register(registry: Registry) -> None:
    registry.counter("ddengine_http_requests_total", "Ingestion requests, by endpoint and status.")
    registry.counter("ddengine_events_received_total", "Events accepted and queued, by type.")
    registry.counter("ddengine_events_duplicate_total", "Events dropped as duplicates by messageId.")
    registry.counter("ddengine_events_rejected_total", "Requests rejected, by reason.")
    registry.counter("ddengine_deliveries_enqueued_total", "Deliveries (event x subscription) queued.")


async def _read_json(request: Request, limit: int) -> Any:
    declared = request.headers.get("content-length")
    gzipped = request.headers.get("content-encoding", "").lower() == "gzip"
    if declared and declared.isdigit() and int(declared) > limit and not gzipped:
        raise _Reject(400, "too_large", _too_large(int(declared), limit))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _Reject(400, "too_large", _too_large(size, limit, at_least=True))
        chunks.append(chunk)
    data = b"".join(chunks)
    if gzipped:
        try:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            data = inflater.decompress(data, limit + 1)
        except zlib.error:
            raise _Reject(400, "invalid_request", "the body is not valid gzip") from None
        if len(data) > limit:
            raise _Reject(400, "too_large", _too_large(len(data), limit, at_least=True))
    if not data.strip():
        raise _Reject(400, "invalid_json", "the request body is empty; send a JSON object")
    try:
        return json.loads(data)
    except UnicodeDecodeError:
        raise _Reject(400, "invalid_json", "the body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise _Reject(400, "invalid_json", f"invalid JSON at {where}: {exc.msg}") from None


def _too_large(size: int, limit: int, *, at_least: bool = False) -> str:
    what = "batch" if limit == MAX_BATCH_BYTES else "event"
    amount = f"more than {limit}" if at_least else str(size)
    return f"the {what} is {amount} bytes; the limit is {limit // 1024} KB per {what}"


def _authorize(request: Request, body: Any, keys: list[bytes]) -> None:
    given: str | None = None
    header = request.headers.get("authorization", "")
    if header[:6].lower() == "basic ":
        try:
            given = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8").split(":", 1)[0]
        except (binascii.Error, UnicodeDecodeError):
            raise _Reject(401, "unauthorized", "the Authorization header is not valid Basic auth") from None
    if not given and isinstance(body, dict) and isinstance(body.get("writeKey"), str):
        given = body["writeKey"]
    if not given:
        raise _Reject(401, "unauthorized", "missing write key: send it as the Basic-auth user name")
    candidate = given.encode("utf-8")
    if not any(hmac.compare_digest(candidate, key) for key in keys):
        raise _Reject(401, "unauthorized", "unknown write key")


def _events(kind: str, body: Any) -> list[dict[str, Any]]:
    try:
        if kind != "batch":
            event = normalize(body, kind=kind)
            event.pop("writeKey", None)
            check_size(event)
            return [event]
        if not isinstance(body, dict):
            raise InvalidEvent("body", "a batch must be a JSON object with a \"batch\" list")
        batch = body.get("batch")
        if not isinstance(batch, list):
            raise InvalidEvent("batch", "is required and must be a list of events")
        context = body.get("context") if isinstance(body.get("context"), dict) else None
        events = []
        for i, item in enumerate(batch):
            path = f"batch[{i}]"
            event = normalize(item, path=path, batch_context=context)
            check_size(event, path)
            events.append(event)
        return events
    except InvalidEvent as exc:
        code = "too_large" if "limit is 32 KB" in exc.message else "invalid_request"
        raise _Reject(400, code, str(exc)) from None
