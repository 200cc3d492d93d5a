"""Redis killed -9 and restarted mid-run, with the persistence docs/operations.md asks for:
nothing that was acknowledged is lost (queued, delayed, leased or dead-lettered)."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from engine.runtime.queue import Submission
from engine.runtime.redis.queue import RedisQueue
from tests.redis_server import RedisServer


def _subs(start: int, n: int) -> list[Submission]:
    return [Submission(event={"type": "track", "event": "E", "i": i}, subscriptions=("s",),
                       message_id=f"m{i}") for i in range(start, start + n)]


def test_nothing_acknowledged_is_lost_when_redis_is_killed_and_restarted(fresh_redis: RedisServer) -> None:
    setup = RedisQueue(fresh_redis.url, namespace="dur")
    # State of every kind before the crash: a delayed retry, a dead letter, a live lease.
    setup.enqueue(_subs(0, 3))
    a, b = setup.lease(2, 60)
    (c,) = setup.lease(1, 1.0)  # its holder "dies" with Redis; the lease must come back
    assert setup.retry(a, 1.0, {"why": "retry"})
    assert setup.dead_letter(b, {"why": "dead"})
    acknowledged: list[str] = ["m0", "m2"]
    failures: list[BaseException] = []
    stop = threading.Event()

    def produce() -> None:
        q = RedisQueue(fresh_redis.url, namespace="dur", retry_seconds=20)
        i = 1000
        while not stop.is_set():
            batch = _subs(i, 5)
            try:
                q.enqueue(batch)
            except Exception as exc:  # not acknowledged: the sender would retry
                failures.append(exc)
            else:
                acknowledged.extend(s.message_id for s in batch if s.message_id)
            i += 5
        q.close()

    producers = [threading.Thread(target=produce) for _ in range(2)]
    for t in producers:
        t.start()
    time.sleep(0.4)
    before = len(acknowledged)
    fresh_redis.restart(hard=True, down_for=0.3)  # SIGKILL: no chance to flush anything
    time.sleep(0.4)
    stop.set()
    for t in producers:
        t.join(timeout=30)
    assert before > 10 and len(acknowledged) > before + 10, "producers must run on both sides of the crash"

    q = RedisQueue(fresh_redis.url, namespace="dur")
    time.sleep(1.0)  # the retry comes due
    seen: dict[str, int] = {}
    while leases := q.lease(200, 30):
        for lease in leases:
            seen[lease.message_id or ""] = seen.get(lease.message_id or "", 0) + 1
            q.ack(lease)
    missing = set(acknowledged) - set(seen)
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:5]}"
    assert [d.message_id for d in q.dlq_list()] == ["m1"]
    assert c.message_id == "m2"


def test_weak_persistence_is_reported(tmp_path: object) -> None:
    with RedisServer(extra_args=("--appendonly", "no")) as server:
        problems = RedisQueue(server.url).durability_problems()
    assert any("appendonly" in p for p in problems)
    with RedisServer(extra_args=("--appendfsync", "everysec")) as server:
        problems = RedisQueue(server.url).durability_problems()
    assert problems == [problems[0]] and "appendfsync" in problems[0]


def _wait_replica_up(replica: RedisServer, timeout: float = 10) -> None:
    client = replica.client()
    deadline = time.monotonic() + timeout
    while client.info("replication").get("master_link_status") != "up":
        assert time.monotonic() < deadline, "the replica did not sync"
        time.sleep(0.05)
    client.close()


@pytest.mark.parametrize("min_replicas", [0, 1])
def test_min_replicas_makes_a_failover_lose_nothing_acknowledged(
    fresh_redis: RedisServer, min_replicas: int
) -> None:
    """A failover during a partition: the replica is promoted while the old primary still takes
    writes, then the old primary dies. With `min_replicas=1` the writes the new primary never saw
    were refused (not acknowledged); without it they were acknowledged and are lost."""
    primary = fresh_redis
    primary.client().config_set("repl-diskless-sync-delay", 0)  # sync at once (default waits 5 s)
    with RedisServer(extra_args=("--replicaof", "127.0.0.1", str(primary.port))) as replica:
        _wait_replica_up(replica)
        q = RedisQueue(primary.url, namespace="fo", min_replicas=min_replicas, replica_timeout=0.2)
        acknowledged: list[str | None] = []

        def send(start: int) -> None:
            batch = _subs(start, 20)
            try:
                q.enqueue(batch)
            except redis.ConnectionError:
                return  # not acknowledged: the sender retries later
            acknowledged.extend(s.message_id for s in batch)

        for start in range(0, 100, 20):
            send(start)
        promoted = replica.client()
        promoted.execute_command("REPLICAOF", "NO", "ONE")  # failover; the old primary is cut off
        promoted.close()
        for start in range(100, 200, 20):
            send(start)
        primary.stop(hard=True)
        survivor = RedisQueue(replica.url, namespace="fo")
        seen = {lease.message_id for lease in survivor.lease(500, 30)}
        lost = set(acknowledged) - seen
        if min_replicas:
            assert not lost and len(acknowledged) == 100
        else:
            assert len(lost) == 100  # acknowledged while the replica lagged: gone with the primary
        survivor.close()
        q.close()


def test_min_replicas_refuses_to_acknowledge_without_a_replica(fresh_redis: RedisServer) -> None:
    q = RedisQueue(fresh_redis.url, namespace="norep", min_replicas=1, replica_timeout=0.2)
    t0 = time.monotonic()
    with pytest.raises(redis.ConnectionError, match="replicas confirmed"):
        q.enqueue(_subs(0, 1))
    assert time.monotonic() - t0 < 5
    q.close()
