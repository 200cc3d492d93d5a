"""How many requests per second the sandbox serves with 32 concurrent clients.

The sandbox runs as its own process (`python -m engine sandbox`), as in the engine's own
benchmarks, and a deliberately cheap client (raw HTTP/1.1 keep-alive over asyncio, one
connection per client) drives it, so the figure measures the server rather than the client.
`--client httpx` / `httpx-shared` / `all` repeat the run with httpx.AsyncClient for comparison.

    python benchmarks/sandbox.py [--duration 5] [--concurrency 32] [--client raw|httpx|httpx-shared|all]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
USER, PASSWORD = "demo@apiconnector.com", "demo-password"
AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

Request = tuple[str, str, bytes | None]  # method, path, JSON body


def scenarios() -> dict[str, list[Request]]:
    patch = [
        (
            "PATCH",
            f"/contacts/v3/email/bench{i}@example.com?merge-option=overwrite",
            json.dumps(
                {
                    "identifiers": {"email": f"bench{i}@example.com"},
                    "channelProperties": {"email": {"emailType": "html", "optInType": "single"}},
                    "lists": [1001],
                    "dataFields": {"FIRSTNAME": "Bench", "AGE": i % 90},
                }
            ).encode(),
        )
        for i in range(500)
    ]
    get = [("GET", "/contacts/v3/email/alice@example.com", None)]
    mixed = [
        ("GET", "/contacts/v3/email/alice@example.com", None),
        patch[0],
        ("GET", "/v2/data-fields/", None),
        (
            "POST",
            "/v2/email",
            json.dumps({"toAddresses": ["a@example.com"], "subject": "s", "htmlContent": "h"}).encode(),
        ),
        (
            "POST",
            "/cpaas/messages",
            json.dumps({"to": {"phoneNumber": "447700900001"}, "body": "hi", "rules": ["sms"]}).encode(),
        ),
        ("GET", "/v2/address-books?select=200&skip=0", None),
    ]
    return {"GET contact": get, "PATCH contact": patch, "mixed 6 endpoints": mixed}


def _raw(host: str, method: str, path: str, body: bytes | None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Authorization: {AUTH}"]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def _raw_worker(
    host: str, port: int, reqs: list[bytes], offset: int, stop: float, lat: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = offset
    try:
        while True:
            t0 = time.perf_counter()
            if t0 >= stop:
                break
            writer.write(reqs[i % len(reqs)])
            i += 1
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            at = head.lower().find(b"content-length:")
            length = int(head[at + 15 : head.find(b"\r\n", at)]) if at >= 0 else 0
            if length:
                await reader.readexactly(length)
            lat.append(time.perf_counter() - t0)
            if status >= 400:
                errors.append(status)
    finally:
        writer.close()


async def _httpx_worker(
    client: Any, reqs: list[Request], offset: int, stop: float, lat: list[float], errors: list[int]
) -> None:
    i = offset
    while True:
        t0 = time.perf_counter()
        if t0 >= stop:
            break
        method, path, body = reqs[i % len(reqs)]
        i += 1
        headers = {"content-type": "application/json"} if body else None
        r = await client.request(method, path, content=body, headers=headers)
        lat.append(time.perf_counter() - t0)
        if r.status_code >= 400:
            errors.append(r.status_code)


async def run(
    url: str, reqs: list[Request], client: str, concurrency: int, duration: float
) -> dict[str, float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    lat: list[float] = []
    errors: list[int] = []
    if client == "raw":
        raw = [_raw(parts.netloc, m, p, b) for m, p, b in reqs]
        stop = time.perf_counter() + duration
        start = time.perf_counter()
        await asyncio.gather(
            *(_raw_worker(host, port, raw, k, stop, lat, errors) for k in range(concurrency))
        )
        elapsed = time.perf_counter() - start
    else:
        import httpx

        # Clients are built before the clock starts. "httpx" gives every worker its own client
        # (one connection each); "httpx-shared" shares one client whose pool holds `concurrency`
        # connections -- httpcore's pool is much slower under this much concurrency.
        if client == "httpx-shared":
            limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
            one = httpx.AsyncClient(base_url=url, auth=(USER, PASSWORD), limits=limits)
            pool = [one] * concurrency
        else:
            pool = [httpx.AsyncClient(base_url=url, auth=(USER, PASSWORD)) for _ in range(concurrency)]
        stop = time.perf_counter() + duration
        start = time.perf_counter()
        await asyncio.gather(
            *(_httpx_worker(pool[k], reqs, k, stop, lat, errors) for k in range(concurrency))
        )
        elapsed = time.perf_counter() - start
        for c in set(pool):
            await c.aclose()
    lat.sort()
    return {
        "requests": len(lat),
        "rps": len(lat) / elapsed,
        "p50_ms": statistics.median(lat) * 1000 if lat else 0.0,
        "p99_ms": lat[int(len(lat) * 0.99)] * 1000 if lat else 0.0,
        "errors": len(errors),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per scenario (default 5)")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument(
        "--client",
        choices=("raw", "httpx", "httpx-shared", "all"),
        default="raw",
        help="client kind: raw (default), httpx (one client per worker), "
        "httpx-shared (one pooled client), all",
    )
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "engine", "sandbox", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        print(
            f"sandbox {url}, {args.concurrency} concurrent clients, {args.duration:g} s per scenario, "
            f"{os.cpu_count()} CPUs"
        )
        clients = ("raw", "httpx", "httpx-shared") if args.client == "all" else (args.client,)
        for name, reqs in scenarios().items():
            for client in clients:
                res = asyncio.run(run(url, reqs, client, args.concurrency, args.duration))
                print(
                    f"{name:20} {client:12} {res['rps']:8.0f} req/s  p50 {res['p50_ms']:6.1f} ms  "
                    f"p99 {res['p99_ms']:6.1f} ms  errors {res['errors']}  ({res['requests']} requests)"
                )
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
