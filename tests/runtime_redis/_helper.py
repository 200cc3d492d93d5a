"""Child-process side of the cross-process tests: `python _helper.py KIND URL NS ...`.

Prints one JSON document on stdout. Lives in a file (not `-c`) so that tracebacks are readable.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from engine.runtime.redis import RedisCache, RedisLimiter


def _limit(url: str, ns: str, per_minute: float, seconds: float, mode: str) -> list[float]:
    limiter = RedisLimiter(url, "acct", per_minute=per_minute, namespace=ns)
    stamps: list[float] = []
    end = time.time() + seconds
    if mode == "async":

        async def run() -> None:
            while time.time() < end:
                await limiter.aacquire()
                stamps.append(time.time())
            await limiter.aclose()

        asyncio.run(run())
    else:
        while time.time() < end:
            limiter.acquire()
            stamps.append(time.time())
    return stamps


def main(argv: list[str]) -> None:
    kind, url, ns = argv[:3]
    if kind == "limit":
        print(json.dumps(_limit(url, ns, float(argv[3]), float(argv[4]), argv[5])))
    elif kind == "cache-set":
        RedisCache(url, namespace=ns).set(argv[3], json.loads(argv[4]), float(argv[5]))
        print("null")
    elif kind == "cache-get":
        print(json.dumps(RedisCache(url, namespace=ns).get(argv[3])))
    else:
        raise SystemExit(f"unknown kind {kind}")


if __name__ == "__main__":
    main(sys.argv[1:])
