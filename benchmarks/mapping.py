"""Throughput of the executor.

1. map + validate + render (no network): a typical six-field action with a cached lookup and a
   write step is mapped from an event, coerced and checked against its schema, its vars and
   assertions evaluated, and every step's request rendered (`Destination.plan`). One core.
2. End to end: `run_action` against a local HTTP server (a tiny Starlette app under uvicorn, in
   its own process so it does not share our GIL), with concurrency 1 (sync API) and 32 (asyncio).

3. With ``--tls`` the same end-to-end figures over HTTPS: the server gets a certificate from a
   throwaway test CA (trustme) that the client trusts through ``SSL_CERT_FILE``.

Run: ``python benchmarks/mapping.py [--seconds 3] [--tls]``. Prints one line per figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _tls import write_test_ca  # noqa: E402

DESTINATION = {
    "name": "Bench",
    "slug": "bench",
    "settings": {
        "type": "object",
        "required": ["user", "password"],
        "properties": {
            "user": {"type": "string"},
            "password": {"type": "string", "writeOnly": True},
            "region": {"enum": ["r1", "r2"]},
        },
    },
    "base_url": {"@template": "https://{{ settings.region }}-api.example.com"},
    "authentication": {
        "scheme": "basic",
        "username": {"@jmespath": "settings.user"},
        "password": {"@jmespath": "settings.password"},
    },
    "error_message": "message",
}

ACTION = {
    "key": "addContact",
    "title": "Add contact to list",
    "default_trigger": 'type = "identify"',
    "fields": {
        "type": "object",
        "required": ["channel", "listId"],
        "properties": {
            "channel": {"enum": ["email", "mobileNumber"], "default": "email"},
            "email": {
                "type": "string",
                "format": "email",
                "default": {"@jmespath": "traits.email || properties.email"},
            },
            "mobile": {"type": "string", "default": {"@jmespath": "traits.phone"}, "x-transform": "phone(@)"},
            "listId": {"type": "number"},
            "firstName": {"type": "string", "default": {"@jmespath": "traits.first_name"}},
            "optIn": {"type": "boolean", "default": {"@jmespath": "traits.opt_in"}},
        },
        "allOf": [{"if": {"properties": {"channel": {"const": "email"}}}, "then": {"required": ["email"]}}],
    },
    "vars": {"identifier": {"@jmespath": "payload.channel == 'email' && payload.email || payload.mobile"}},
    "steps": [
        {
            "name": "contact",
            "cache": {"ttl": 3600},
            "request": {
                "method": "GET",
                "path": [
                    "contacts",
                    "v3",
                    {"@jmespath": "payload.channel"},
                    {"@jmespath": "vars.identifier"},
                ],
            },
            "response": {"errors": {"404": {"kind": "ignore"}}},
        },
        {
            "name": "add",
            "request": {
                "method": "POST",
                "path": ["v2", "address-books", {"@jmespath": "payload.listId"}, "contacts"],
                "json": {
                    "email": {"@jmespath": "payload.email"},
                    "optInType": {"@if": {"when": "payload.optIn", "then": "Double", "else": "Single"}},
                    "dataFields": [{"key": "FIRSTNAME", "value": {"@jmespath": "payload.firstName"}}],
                },
            },
        },
    ],
    "result": {"@jmespath": "steps.add.body"},
}

EVENT = {
    "type": "identify",
    "userId": "u-1",
    "traits": {
        "email": "Ann.Lee+news@example.com",
        "phone": "+44 7700 900123",
        "first_name": "Ann",
        "opt_in": "true",
    },
}
MAPPING = {"listId": "1001"}
SETTINGS = {"user": "bench@example.com", "password": "bench-password", "region": "r1"}


#: The same action with only its write step: one request, no lookup.
ONE_STEP = {**ACTION, "key": "addOne", "steps": ACTION["steps"][1:], "result": None}


def _spec_folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="bench-spec-"))
    (folder / "actions").mkdir()
    (folder / "destination.json").write_text(json.dumps(DESTINATION))
    for action in (ACTION, ONE_STEP):
        (folder / "actions" / f"{action['key']}.json").write_text(json.dumps(action))
    return folder


def bench_mapping(seconds: float, action: str = "addContact", rounds: int = 3) -> float:
    """Best of `rounds` (the machine is shared: the best round is the least disturbed one)."""
    from engine import load_destination

    dest = load_destination(_spec_folder())
    for _ in range(200):  # warm caches (compiled validator, instance, mapping)
        dest.plan(action, EVENT, settings=SETTINGS, mapping=MAPPING)
    best = 0.0
    for _ in range(rounds):
        n, start = 0, time.perf_counter()
        deadline = start + seconds / rounds
        while time.perf_counter() < deadline:
            for _ in range(200):
                dest.plan(action, EVENT, settings=SETTINGS, mapping=MAPPING)
            n += 200
        best = max(best, n / (time.perf_counter() - start))
    return best


# -- the local API for the end-to-end figures ------------------------------------------------------
def serve(port: int, cert: str | None = None, key: str | None = None) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    async def contact(request: Request) -> Response:
        return JSONResponse({"id": 7, "email": request.path_params["ident"]})

    async def add(request: Request) -> Response:
        body = await request.json()
        return JSONResponse({"id": 7, "email": body.get("email"), "status": "Subscribed"}, status_code=201)

    app = Starlette(
        routes=[
            Route("/contacts/v3/{channel}/{ident}", contact),
            Route("/v2/address-books/{book}/contacts", add, methods=["POST"]),
        ]
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                ssl_certfile=cert, ssl_keyfile=key)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tls_files() -> list[str]:
    """A test CA (trusted from now on through SSL_CERT_FILE) and a 127.0.0.1 certificate for it."""
    return write_test_ca(Path(tempfile.mkdtemp(prefix="bench-tls-")), os.environ)


def _start_server(tls: bool = False) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    extra = ["--cert", *_tls_files()] if tls else []
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port), *extra])
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc, url
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("benchmark server did not start")


def _events(i: int) -> dict[str, Any]:
    # A new address every time, so that the cached lookup does not hide the HTTP cost.
    return {**EVENT, "traits": {**EVENT["traits"], "email": f"user{i}@example.com"}}


def bench_sync(url: str, seconds: float) -> float:
    from engine import load_destination

    dest = load_destination(_spec_folder())
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        dest.run_action("addContact", _events(n), settings=SETTINGS, mapping=MAPPING, base_url=url)
        n += 1
    elapsed = time.perf_counter() - start
    dest.close()
    return n / elapsed


def bench_async(url: str, seconds: float, concurrency: int) -> float:
    from engine import load_destination

    dest = load_destination(_spec_folder())
    counter = [0]

    async def worker(deadline: float) -> None:
        while time.perf_counter() < deadline:
            i = counter[0]
            counter[0] += 1
            await dest.arun_action("addContact", _events(i), settings=SETTINGS, mapping=MAPPING, base_url=url)

    async def main() -> float:
        start = time.perf_counter()
        await asyncio.gather(*(worker(start + seconds) for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
        await dest.aclose()
        return counter[0] / elapsed

    return asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each measurement")
    parser.add_argument("--tls", action="store_true", help="end-to-end figures over HTTPS (test CA)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cert", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, *(args.cert or [None, None]))
        return
    for action, label in (("addOne", "1 request"), ("addContact", "cached lookup + write, 2 requests")):
        rate = bench_mapping(args.seconds, action)
        print(f"map+validate+render, no network ({label}): {rate:,.0f} payloads/s ({1e6 / rate:.1f} µs each)")
    proc, url = _start_server(args.tls)
    client = os.environ.get("DDENGINE_HTTP_CLIENT") or "lean"
    over = f"over {'HTTPS' if args.tls else 'HTTP'}, client: {client}"
    try:
        print(
            f"end to end, concurrency 1 (sync):    {bench_sync(url, args.seconds):,.0f} actions/s "
            f"(2 HTTP requests each, {over})"
        )
        print(
            f"end to end, concurrency 32 (asyncio): {bench_async(url, args.seconds, 32):,.0f} actions/s "
            f"(2 HTTP requests each, {over})"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
