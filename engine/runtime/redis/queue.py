"""The delivery queue on Redis Streams, for several ingestion servers and workers on many hosts.

Layout (every key under one `{namespace}` hash tag, so each Lua script touches a single slot):

- `…:stream` + consumer group `workers`: ready deliveries. A lease is a stream entry delivered
  to this process's consumer (XREADGROUP); its token lives in the `…:tokens` hash (entry id →
  token) and its expiry in the `…:leases` sorted set (Redis clock). An entry whose holder died
  stays in the group's pending list; once its lease has expired, the next `lease` call of any
  worker takes it over with XCLAIM. (Not XAUTOCLAIM: its idle threshold is the *claimer's*
  choice, while the queue contract lets each lease pick its own `lease_seconds`.)
- `…:delayed` (sorted set of due times, Redis clock) + `…:delayed:data`: retries waiting for
  their backoff; moved back onto the stream by the next `lease` once due.
- `…:dlq` (sorted set of dead-letter ids) + `…:dlq:data`: dead letters, same commands as SQLite.
- `…:seen:<messageId>`: `SET NX EX window`, the deduplication window.

Every state change is one Lua script, so a settle either happens whole or not at all, and
checks the lease token first (a worker whose lease was taken over cannot ack someone else's
delivery). "Acknowledged means durable" needs `appendonly yes` + `appendfsync always` on the
Redis server (see docs/operations.md); `durability_problems()` checks that at start-up.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from engine.errors import ConfigError
from engine.runtime.queue import DeadLetter, EnqueueResult, Lease, QueueStats, Submission
from engine.runtime.redis.connection import _check, connect, redact_url

_GROUP = "workers"  # the consumer group; the Lua scripts spell it out too
_PROMOTE_MAX = 500  # due retries moved onto the stream per lease call

# KEYS: stream. ARGV: window, n, then per submission: flag+messageId ("0" = none), k, k payloads.
_ENQUEUE = """
local window = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local seen_prefix = ARGV[3]
local i = 4
local flags = {}
for s = 1, n do
  local mid = ARGV[i]
  local k = tonumber(ARGV[i + 1])
  i = i + 2
  local fresh = true
  if string.sub(mid, 1, 1) == '1' then
    local key = seen_prefix .. string.sub(mid, 2)
    if window > 0 then
      local px = math.max(1, math.floor(window * 1000))
      fresh = redis.call('SET', key, '1', 'NX', 'PX', px) and true or false
    end
  end
  if fresh then
    for j = 0, k - 1 do
      redis.call('XADD', KEYS[1], '*', 'p', ARGV[i + j])
    end
    flags[s] = 0
  else
    flags[s] = 1
  end
  i = i + k
end
return flags
"""

# KEYS: stream, tokens, delayed, delayed:data, leases. ARGV: consumer, n, lease_ms, token,
# max due to promote. Returns {now_ms, id1, payload1, id2, payload2, ...}.
_LEASE = """
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now_ms, 'LIMIT', 0, tonumber(ARGV[5]))
for _, did in ipairs(due) do
  local p = redis.call('HGET', KEYS[4], did)
  if p then redis.call('XADD', KEYS[1], '*', 'p', p) end
  redis.call('HDEL', KEYS[4], did)
  redis.call('ZREM', KEYS[3], did)
end
local consumer = ARGV[1]
local n = tonumber(ARGV[2])
local expires = now_ms + tonumber(ARGV[3])
local out = {now_ms}
local got = 0
local function take(entries)
  for _, e in ipairs(entries) do
    if e and e[2] then
      local fields = e[2]
      local p = nil
      for f = 1, #fields, 2 do if fields[f] == 'p' then p = fields[f + 1] end end
      if p then
        redis.call('HSET', KEYS[2], e[1], ARGV[4])
        redis.call('ZADD', KEYS[5], expires, e[1])
        out[#out + 1] = e[1]
        out[#out + 1] = p
        got = got + 1
      end
    end
  end
end
-- Leases whose holder did not settle in time (it died or hung): take them over.
local expired = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now_ms, 'LIMIT', 0, n)
if #expired > 0 then
  for _, id in ipairs(expired) do
    redis.call('ZREM', KEYS[5], id)
    redis.call('HDEL', KEYS[2], id)
  end
  take(redis.call('XCLAIM', KEYS[1], 'workers', consumer, 0, unpack(expired)))
end
if got < n then
  local read = redis.call('XREADGROUP', 'GROUP', 'workers', consumer, 'COUNT', n - got,
                          'STREAMS', KEYS[1], '>')
  if read then take(read[1][2]) end
end
return out
"""

# Every settle script starts the same way: the lease must still be ours (its token matches),
# then the entry leaves the stream, the group's pending list and the lease book.
# KEYS[1..3]: stream, tokens, leases. ARGV[1..2]: entry id, token.
_SETTLE_HEAD = """
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('XACK', KEYS[1], 'workers', ARGV[1])
redis.call('XDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
"""

# KEYS: stream, tokens, leases. ARGV: (id, token) pairs.
_ACK = """
local done = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[i + 1] then
    redis.call('XACK', KEYS[1], 'workers', ARGV[i])
    redis.call('XDEL', KEYS[1], ARGV[i])
    redis.call('HDEL', KEYS[2], ARGV[i])
    redis.call('ZREM', KEYS[3], ARGV[i])
    done = done + 1
  end
end
return done
"""

# KEYS: stream, tokens, leases, delayed, delayed:data.
# ARGV: id, token, delayed member (the entry id: unique, and consumed here), delay_ms, payload.
_RETRY = _SETTLE_HEAD + """
local delay = tonumber(ARGV[4])
if delay <= 0 then
  redis.call('XADD', KEYS[1], '*', 'p', ARGV[5])
else
  local t = redis.call('TIME')
  local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('HSET', KEYS[5], ARGV[3], ARGV[5])
  redis.call('ZADD', KEYS[4], now_ms + delay, ARGV[3])
end
return 1
"""

# KEYS: stream, tokens, leases, dlq, dlq:data, dlq:seq. ARGV: id, token, dead-letter JSON.
_DEAD = _SETTLE_HEAD + """
local n = redis.call('INCR', KEYS[6])
redis.call('HSET', KEYS[5], n, ARGV[3])
redis.call('ZADD', KEYS[4], n, n)
return 1
"""

# KEYS: dlq, dlq:data, stream. ARGV: payloads to queue, keyed by dead-letter id: id1, p1, id2, p2...
# The caller built each payload from the dead letter it read; a dead letter replayed or purged
# meanwhile by someone else is skipped (HDEL returns 0), so a replay never queues twice.
_REPLAY = """
local n = 0
for i = 1, #ARGV, 2 do
  if redis.call('HDEL', KEYS[2], ARGV[i]) == 1 then
    redis.call('ZREM', KEYS[1], ARGV[i])
    redis.call('XADD', KEYS[3], '*', 'p', ARGV[i + 1])
    n = n + 1
  end
end
return n
"""


class RedisQueue:
    """`DeliveryQueue` on Redis Streams; safe across threads, processes and hosts.

    `retry_seconds` is how long a call keeps retrying while Redis is unreachable or loading
    (a restart or failover) before the error reaches the caller.
    """

    def __init__(self, url: str | redis.Redis, *, namespace: str = "ddengine",
                 dedupe_window: float = 86400.0, consumer: str | None = None,
                 retry_seconds: float = 30.0, min_replicas: int = 0,
                 replica_timeout: float = 1.0) -> None:
        if isinstance(url, str):
            self._r = connect(url, retry_seconds=retry_seconds)
            self.url = redact_url(url)
        else:
            self._r = url
            self.url = "<client>"
        self.dedupe_window = float(dedupe_window)
        self.min_replicas = min_replicas
        self.replica_timeout = replica_timeout
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}-{os.urandom(3).hex()}"
        base = f"{namespace}:q:{{{namespace}}}"
        self.k_stream = f"{base}:stream"
        self.k_tokens = f"{base}:tokens"
        self.k_leases = f"{base}:leases"
        self.k_delayed = f"{base}:delayed"
        self.k_delayed_data = f"{base}:delayed:data"
        self.k_dlq = f"{base}:dlq"
        self.k_dlq_data = f"{base}:dlq:data"
        self.k_dlq_seq = f"{base}:dlq:seq"
        self.k_seen = f"{base}:seen:"
        self._enqueue = self._r.register_script(_ENQUEUE)
        self._lease = self._r.register_script(_LEASE)
        self._ack = self._r.register_script(_ACK)
        self._retry = self._r.register_script(_RETRY)
        self._dead = self._r.register_script(_DEAD)
        self._replay = self._r.register_script(_REPLAY)
        self._ensure_group()

    # -- set-up ------------------------------------------------------------------------------
    def _ensure_group(self) -> None:
        try:
            self._r.xgroup_create(self.k_stream, _GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def _call(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        """Run a script; recreate the consumer group if Redis lost it (restart without AOF)."""
        try:
            return script(keys=keys, args=args)
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self._ensure_group()
            return script(keys=keys, args=args)

    def durability_problems(self) -> list[str]:
        """What in the server's config breaks "acknowledged means durable" (empty when fine).

        Managed Redis services often disable CONFIG; then nothing can be checked and the
        operator's word is taken (docs/operations.md says what to set).
        """
        try:
            conf = self._r.config_get("append*")
        except redis.ResponseError:
            return []
        problems = []
        if conf.get("appendonly") != "yes":
            problems.append("appendonly is not 'yes': an acknowledged event is lost if Redis restarts")
        if conf.get("appendfsync") != "always":
            problems.append(f"appendfsync is {conf.get('appendfsync')!r}, not 'always': up to a second "
                            "of acknowledged events can be lost if the Redis host crashes")
        return problems

    # -- writing -----------------------------------------------------------------------------
    def enqueue(self, submissions: Sequence[Submission]) -> EnqueueResult:
        now = time.time()
        args: list[Any] = [self.dedupe_window, len(submissions), self.k_seen]
        deliveries = 0
        for sub in submissions:
            args.append("0" if sub.message_id is None else "1" + sub.message_id)
            args.append(len(sub.subscriptions))
            event = dict(sub.event)
            for name in sub.subscriptions:
                args.append(_payload(name, sub.message_id, event, 0, now))
        if not submissions:
            return EnqueueResult()
        raw = self._enqueue(keys=[self.k_stream], args=args)
        flags = tuple(bool(int(f)) for f in raw)
        for sub, dup in zip(submissions, flags, strict=True):
            if not dup:
                deliveries += len(sub.subscriptions)
        self._wait_replicas()
        dupes = sum(flags)
        return EnqueueResult(accepted=len(flags) - dupes, duplicates=dupes, deliveries=deliveries,
                             duplicate_flags=flags)

    def _wait_replicas(self) -> None:
        """With replicas configured, acknowledge only what `min_replicas` replicas also hold."""
        if self.min_replicas <= 0:
            return
        got = int(self._r.execute_command("WAIT", self.min_replicas, int(self.replica_timeout * 1000)))
        if got < self.min_replicas:
            raise redis.ConnectionError(
                f"only {got} of {self.min_replicas} Redis replicas confirmed the write in time")

    def lease(self, n: int, lease_seconds: float) -> list[Lease]:
        if n <= 0:
            return []
        token = os.urandom(8).hex()
        raw = self._call(self._lease,
                         [self.k_stream, self.k_tokens, self.k_delayed, self.k_delayed_data, self.k_leases],
                         [self.consumer, n, max(1, int(lease_seconds * 1000)), token, _PROMOTE_MAX])
        now = int(raw[0]) / 1000.0
        expires = now + lease_seconds
        leases = []
        for entry_id, payload in zip(raw[1::2], raw[2::2], strict=True):
            p = json.loads(payload)
            leases.append(Lease(id=entry_id, token=token, subscription=p["s"], event=p["e"],
                                message_id=p["m"], attempts=int(p["a"]), enqueued_at=float(p["t"]),
                                expires_at=expires))
        return leases

    def ack(self, lease: Lease) -> bool:
        return self.ack_many([lease]) == 1

    def ack_many(self, leases: Sequence[Lease]) -> int:
        """Ack several leases in one round trip."""
        if not leases:
            return 0
        args = [x for lease in leases for x in (lease.id, lease.token)]
        return int(self._call(self._ack, [self.k_stream, self.k_tokens, self.k_leases], args))

    def retry(self, lease: Lease, delay: float, error: Mapping[str, Any]) -> bool:
        payload = _payload(lease.subscription, lease.message_id, lease.event, lease.attempts + 1,
                           lease.enqueued_at, error)
        keys = [self.k_stream, self.k_tokens, self.k_leases, self.k_delayed, self.k_delayed_data]
        delay_ms = max(0, int(delay * 1000))
        return bool(self._call(self._retry, keys, [lease.id, lease.token, lease.id, delay_ms, payload]))

    def release(self, lease: Lease) -> bool:
        payload = _payload(lease.subscription, lease.message_id, lease.event, lease.attempts,
                           lease.enqueued_at)
        keys = [self.k_stream, self.k_tokens, self.k_leases, self.k_delayed, self.k_delayed_data]
        return bool(self._call(self._retry, keys, [lease.id, lease.token, lease.id, 0, payload]))

    def dead_letter(self, lease: Lease, error: Mapping[str, Any]) -> bool:
        record = {"subscription": lease.subscription, "message_id": lease.message_id,
                  "event": lease.event, "attempts": lease.attempts + 1,
                  "error": dict(error), "failed_at": time.time(), "enqueued_at": lease.enqueued_at}
        keys = [self.k_stream, self.k_tokens, self.k_leases, self.k_dlq, self.k_dlq_data, self.k_dlq_seq]
        text = json.dumps(record, separators=(",", ":"), default=str)
        return bool(self._call(self._dead, keys, [lease.id, lease.token, text]))

    # -- dead letters ------------------------------------------------------------------------
    def _dlq_ids(self, subscription: str | None) -> Iterator[tuple[str, dict[str, Any]]]:
        start = 0
        while True:
            ids: list[str] = list(self._r.zrange(self.k_dlq, start, start + 199))  # type: ignore[arg-type]
            if not ids:
                return
            start += len(ids)
            for dlq_id, text in zip(ids, self._r.hmget(self.k_dlq_data, ids), strict=True):
                if text is None:
                    continue
                record = json.loads(text)
                if subscription is None or record["subscription"] == subscription:
                    yield dlq_id, record

    def dlq_list(self, *, limit: int = 100, subscription: str | None = None) -> list[DeadLetter]:
        out: list[DeadLetter] = []
        for dlq_id, record in self._dlq_ids(subscription):
            if len(out) >= limit:
                break
            out.append(_dead_letter(dlq_id, record))
        return out

    def dlq_show(self, dead_letter_id: str) -> DeadLetter | None:
        text = self._r.hget(self.k_dlq_data, dead_letter_id)
        return None if text is None else _dead_letter(dead_letter_id, json.loads(text))

    def dlq_replay(self, ids: Sequence[str] | None = None) -> int:
        now = time.time()
        chosen = self._chosen(ids)
        total = 0
        for start in range(0, len(chosen), 200):
            chunk = chosen[start:start + 200]
            args: list[Any] = []
            for dlq_id, record in chunk:
                args += [dlq_id, _payload(record["subscription"], record["message_id"], record["event"],
                                          0, now)]
            total += int(self._replay(keys=[self.k_dlq, self.k_dlq_data, self.k_stream], args=args))
        return total

    def dlq_purge(self, ids: Sequence[str] | None = None) -> int:
        chosen = [dlq_id for dlq_id, _ in self._chosen(ids)]
        removed = 0
        for start in range(0, len(chosen), 500):
            chunk = chosen[start:start + 500]
            pipe = self._r.pipeline(transaction=True)
            pipe.hdel(self.k_dlq_data, *chunk)
            pipe.zrem(self.k_dlq, *chunk)
            removed += int(pipe.execute()[0])
        return removed

    def _chosen(self, ids: Sequence[str] | None) -> list[tuple[str, dict[str, Any]]]:
        if ids is None:
            return list(self._dlq_ids(None))
        if not ids:
            return []
        texts = self._r.hmget(self.k_dlq_data, list(ids))
        return [(i, json.loads(t)) for i, t in zip(ids, texts, strict=True) if t is not None]

    # -- reading -----------------------------------------------------------------------------
    def stats(self) -> QueueStats:
        now_ms = int(self._now() * 1000)
        pipe = self._r.pipeline(transaction=True)
        pipe.xlen(self.k_stream)
        pipe.zcount(self.k_leases, now_ms + 1, "+inf")
        pipe.zcard(self.k_delayed)
        pipe.zcard(self.k_dlq)
        length, leased, delayed, dead = pipe.execute()
        # An expired lease is ready again (the next `lease` takes it over), as with SQLite.
        return QueueStats(ready=max(0, int(length) - int(leased)), delayed=int(delayed),
                          leased=int(leased), dead=int(dead))

    def _now(self) -> float:
        """Redis's clock, which every lease and retry time is measured on."""
        sec, usec = self._r.time()
        return float(sec) + float(usec) / 1e6

    def next_due(self) -> float | None:
        """Epoch seconds (Redis clock) when the next delayed item is due; None when none is."""
        first = self._r.zrange(self.k_delayed, 0, 0, withscores=True)
        return float(first[0][1]) / 1000.0 if first else None

    def close(self) -> None:
        """Leave the consumer group if nothing is pending for us, and close the connections.

        Best effort and without retries: shutting down must not wait out a Redis outage.
        """
        self._r.set_retry(Retry(NoBackoff(), 0))
        try:
            info = self._r.xpending_range(self.k_stream, _GROUP, min="-", max="+", count=1,
                                          consumername=self.consumer)
            if not info:
                self._r.xgroup_delconsumer(self.k_stream, _GROUP, self.consumer)
        except redis.RedisError:
            pass
        self._r.close()


def _payload(subscription: str, message_id: str | None, event: Mapping[str, Any], attempts: int,
             enqueued_at: float, error: Mapping[str, Any] | None = None) -> str:
    doc: dict[str, Any] = {"s": subscription, "m": message_id, "e": event, "a": attempts, "t": enqueued_at}
    if error is not None:
        doc["x"] = dict(error)
    return json.dumps(doc, separators=(",", ":"), default=str)


def _dead_letter(dlq_id: str, record: Mapping[str, Any]) -> DeadLetter:
    return DeadLetter(id=str(dlq_id), subscription=record["subscription"], message_id=record["message_id"],
                      event=record["event"], attempts=int(record["attempts"]), error=record["error"],
                      failed_at=float(record["failed_at"]), enqueued_at=float(record["enqueued_at"]))


def open_redis_queue(url: str | None, *, dedupe_window: float = 86400.0, namespace: str = "ddengine",
                     min_replicas: int = 0, file: str | None = None) -> RedisQueue:
    """The queue named by an instance config's `"queue": {"backend": "redis", "url": ...}`.

    Two instances sharing one Redis server use different database numbers in their URLs.
    """
    if not url:
        raise ConfigError('queue.url is required when queue.backend is "redis" '
                          '(e.g. "redis://127.0.0.1:6379/0")', file=file, path="$.queue.url")
    try:
        _check(url)
    except ConfigError as exc:
        raise ConfigError(exc.reason, file=file, path="$.queue.url") from None
    return RedisQueue(url, namespace=namespace, dedupe_window=dedupe_window, min_replicas=min_replicas)
