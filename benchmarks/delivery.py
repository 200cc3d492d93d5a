"""End-to-end delivery throughput: `ddengine serve` (ingestion + workers, SQLite queue) → sandbox.

Three processes share the machine: the sandbox, `ddengine serve`, and this load generator posting
Segment batches. Prints events/s from the first request until the last delivery settled, and API
calls per event for a mixed workload next to the reference's count (dotdigital-api.md section 5).

    python benchmarks/delivery.py [--events 3000] [--batch 100] [--clients 4]
    python benchmarks/delivery.py --queue redis --workers N [--budget REQUESTS_PER_MINUTE]
    python benchmarks/delivery.py --tls

`--tls` serves the sandbox over HTTPS with a certificate from a throwaway test CA (trustme) that
`serve` and the workers trust through ``SSL_CERT_FILE`` (honoured as httpx honours it), so the
figures include TLS the way real Dotdigital traffic does.

With `--queue redis` a private redis-server (appendonly yes, appendfsync always) holds the queue,
`serve` only ingests and N `ddengine worker` processes deliver, sharing one account budget.
`--budget` sets that budget and turns the sandbox's rate limits on at the same figure, so the
run shows whether delivery sits at the budget without 429s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _tls import write_test_ca

from engine.runtime.queue import DeliveryQueue
from engine.runtime.redis.queue import RedisQueue
from engine.runtime.sqlite_queue import SQLiteQueue
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench-key"

# (event name, subscription, reference API calls per event: Segment's implementation)
MIX = [
    ("Add Contact to List", "add", 2),        # GET /v2/data-fields/ (dataFields given) + PATCH
    ("Add Contact to List", "add", 2),
    ("Remove Contact from List", "remove", 2),  # GET contact + DELETE membership
    ("Send Email Campaign", "campaign", 2),     # GET contact + POST send
    ("Send SMS", "sms", 1),
    ("Send Transactional SMS", "tsms", 1),
    ("Send Transactional Email", "temail", 1),
    ("Enrol Contact to Program", "enrol", 2),   # PATCH contact + POST enrolment
]

_SANDBOX = """
import sys, time
from engine.sandbox import Sandbox, server
budget = int(sys.argv[1])
if len(sys.argv) > 2:  # --tls: serve HTTPS with this certificate and key (benchmark-only patch)
    _config, cert, key = server._uvicorn_config, sys.argv[2], sys.argv[3]
    def _tls_config(*args):
        cfg = _config(*args)
        cfg.ssl_certfile, cfg.ssl_keyfile = cert, key
        return cfg
    server._uvicorn_config = _tls_config
    server._url = lambda host, sock: f"https://{host}:{sock.getsockname()[1]}"
limits = {"low": budget, "medium": budget, "high": budget, "enrolments": "off"} if budget else None
sb = Sandbox(seed="demo", rate_limits=limits, request_log_size=1_000_000).start()
print(sb.url, flush=True)
sys.stdin.readline()
log = sb.requests
print(len(log), sum(1 for r in log if r["status"] == 429), flush=True)
"""


def _config(tmp: Path, sandbox_url: str, concurrency: int = 8, redis_url: str | None = None,
            budget: float = 0) -> Path:
    subs = [
        {"name": "add", "action": "addContactToList",
         "mapping": {"listId": 1001, "emailIdentifier": {"@jmespath": "properties.email"},
                     "dataFields": {"FIRSTNAME": {"@jmespath": "properties.first"}}}},
        {"name": "remove", "action": "removeContactFromList",
         "mapping": {"listId": 1001, "emailIdentifier": {"@jmespath": "properties.email"}}},
        {"name": "campaign", "action": "sendEmailCampaign",
         "mapping": {"campaignId": 3002, "email": {"@jmespath": "properties.email"}}},
        {"name": "sms", "action": "sendSms", "mapping": {"message": "bench"}},
        {"name": "tsms", "action": "sendTransactionalSms", "mapping": {"message": "bench"}},
        {"name": "temail", "action": "sendTransactionalEmail",
         "mapping": {"fromAddress": "shop@example.com", "subject": "bench", "htmlContent": "<p>bench</p>",
                     "toAddresses": {"@jmespath": "properties.email"}}},
        {"name": "enrol", "action": "enrolContact",
         "mapping": {"programId": "2001", "emailIdentifier": {"@jmespath": "properties.email"}}},
    ]
    doc = {"destination": "dotdigital",
           "settings": {"region": "r1", "username": "demo@apiconnector.com", "password": "demo-password"},
           "endpoint": sandbox_url, "server": {"write_keys": [KEY]},
           "queue": {"path": "bench.queue.sqlite", "synchronous": "full"},
           "delivery": {"concurrency": concurrency, "batch_size": 200, "lease_seconds": 60},
           "rate_limit": {"requests_per_minute": budget or 10_000_000},
           "subscriptions": subs}
    if redis_url:
        doc["queue"] = {"backend": "redis", "url": redis_url}
    path = tmp / "bench.json"
    path.write_text(json.dumps(doc))
    return path


def _events(n: int, run: str) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        name, _, _ = MIX[i % len(MIX)]
        email = "alice@example.com" if name in ("Remove Contact from List", "Send Email Campaign") \
            else f"b{run}-{i}@example.com"
        out.append({"type": "track", "event": name, "userId": f"u{i}", "messageId": f"{run}-{i}",
                    "properties": {"email": email, "first": f"N{i}",
                                   "phone": f"+44 7800 {100000 + i % 899999}"}})
    return out


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _read_url(proc: subprocess.Popen[str], pattern: str, stream: Any) -> str:
    deadline = time.time() + 60
    while time.time() < deadline:
        line = stream.readline()
        match = re.search(pattern, line)
        if match:
            return match.group(1)
        if proc.poll() is not None:
            break
    raise SystemExit(f"process did not start: {proc.args}")


async def _post_all(url: str, events: list[dict[str, Any]], batch: int, clients: int) -> None:
    chunks = [events[i:i + batch] for i in range(0, len(events), batch)]
    queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
    for chunk in chunks:
        queue.put_nowait(chunk)
    async with httpx.AsyncClient(auth=(KEY, ""), timeout=60) as client:
        async def post() -> None:
            while not queue.empty():
                chunk = queue.get_nowait()
                r = await client.post(f"{url}/v1/batch", json={"batch": chunk})
                r.raise_for_status()
        await asyncio.gather(*(post() for _ in range(clients)))


def _tls_files(tmp: Path, environ: dict[str, str]) -> list[str]:
    """A test CA and a 127.0.0.1 certificate; the CA goes into `environ` as SSL_CERT_FILE."""
    return write_test_ca(tmp, environ)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=3000, help="events to send (default 3000)")
    parser.add_argument("--batch", type=int, default=100, help="events per /v1/batch request")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument("--queue", choices=["sqlite", "redis"], default="sqlite",
                        help="queue backend (redis: a private redis-server; serve only ingests)")
    parser.add_argument("--workers", type=int, default=0,
                        help="0: workers inside `serve` (sqlite only); N: `serve --no-workers` plus N "
                        "`ddengine worker` processes")
    parser.add_argument("--concurrency", type=int, default=8, help="deliveries in flight per worker")
    parser.add_argument("--tls", action="store_true",
                        help="serve the sandbox over HTTPS (test CA trusted via SSL_CERT_FILE)")
    parser.add_argument("--budget", type=float, default=0,
                        help="account budget in requests per minute, also enforced by the sandbox "
                        "(default: unlimited)")
    args = parser.parse_args()
    if args.queue == "redis" and not args.workers:
        args.workers = 1  # with Redis, `serve` never delivers
    environ = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory(prefix="ddengine-bench-") as tmp_name:
        tmp = Path(tmp_name)
        tls_args = _tls_files(tmp, environ) if args.tls else []
        sandbox = subprocess.Popen([sys.executable, "-c", _SANDBOX, str(int(args.budget)), *tls_args],
                                   cwd=ROOT, env=environ, text=True, stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE)
        sandbox_url = _read_url(sandbox, r"(https?://\S+)", sandbox.stdout)
        redis_server = None
        if args.queue == "redis":
            (tmp / "redis").mkdir()
            redis_server = RedisServer(tmp / "redis").start()
        cfg = _config(tmp, sandbox_url, args.concurrency, redis_server.url if redis_server else None,
                      args.budget)
        extra = ["--no-workers"] if args.workers else []
        command = [sys.executable, "-m", "engine", "serve", "--config", str(cfg), "--port", "0",
                   "--log-level", "error", *extra]
        serve = subprocess.Popen(command, cwd=ROOT, env=environ, text=True, stderr=subprocess.PIPE)
        workers = [subprocess.Popen([sys.executable, "-m", "engine", "worker", "--config", str(cfg),
                                     "--log-level", "error"], cwd=ROOT, env=environ)
                   for _ in range(args.workers)]
        queue: DeliveryQueue = RedisQueue(redis_server.url) if redis_server else \
            SQLiteQueue(tmp / "bench.queue.sqlite")
        try:
            url = _read_url(serve, r"serving on (http://\S+)", serve.stderr)
            events = _events(args.events, run=str(int(time.time())))
            procs = {"serve": serve, "sandbox": sandbox,
                     **{f"worker {i + 1}": w for i, w in enumerate(workers)}}
            if redis_server is not None and redis_server.proc is not None:
                procs["redis-server"] = redis_server.proc  # type: ignore[assignment]
            time.sleep(1.0)  # let the workers finish starting up before counting their CPU
            cpu_before = {name: _cpu(p.pid) for name, p in procs.items()}
            start = time.perf_counter()
            asyncio.run(_post_all(url, events, args.batch, args.clients))
            ingested = time.perf_counter() - start
            while queue.stats().pending:
                time.sleep(0.02)
            elapsed = time.perf_counter() - start
            cpu = {name: _cpu(p.pid) - cpu_before[name] for name, p in procs.items()}
            dead = queue.stats().dead
        finally:
            for proc in [serve, *workers]:
                proc.terminate()
                proc.wait(timeout=60)
            queue.close()
            assert sandbox.stdin is not None and sandbox.stdout is not None
            sandbox.stdin.write("\n")
            sandbox.stdin.flush()
            calls, throttled = (int(x) for x in sandbox.stdout.readline().split())
            sandbox.terminate()
            sandbox.wait(timeout=10)
            if redis_server is not None:
                redis_server.stop()
        delivered = len(events) - dead
    reference = sum(MIX[i % len(MIX)][2] for i in range(len(events)))
    durability = "appendfsync always" if args.queue == "redis" else "synchronous=FULL"
    print(f"events: {len(events)} in /v1/batch requests of {args.batch}, {args.clients} clients, "
          f"queue={args.queue} ({durability}), workers: {args.workers or 'inside serve'}, "
          f"sandbox over {'HTTPS' if args.tls else 'plain HTTP'}, "
          f"HTTP client: {os.environ.get('DDENGINE_HTTP_CLIENT') or 'lean'}")
    print(f"ingestion (acknowledged, durably queued): {len(events) / ingested:,.0f} events/s")
    print(f"end to end (serve → sandbox, all settled): {len(events) / elapsed:,.0f} events/s "
          f"({elapsed:.2f} s)")
    print(f"settled {delivered + dead}: delivered {delivered}, dead-lettered {dead}; none left queued")
    print(f"API calls per event: {calls / len(events):.2f} (reference: {reference / len(events):.2f})")
    budget = f"budget {args.budget:,.0f}/min" if args.budget else "no budget"
    print(f"API calls per minute: {calls / elapsed * 60:,.0f} ({budget}); 429 answers: {throttled}")
    for name, seconds in cpu.items():
        per_event = seconds / len(events) * 1000
        if per_event:
            print(f"CPU {name}: {per_event:.2f} ms per event "
                  f"(one full core: {1000 / per_event:,.0f} events/s)")
    return 0 if delivered + dead == len(events) and dead == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
