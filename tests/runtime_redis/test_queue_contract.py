"""The DeliveryQueue contract, run unchanged over every backend (SQLite file and Redis Streams).

Real time is used throughout (short leases and delays), because the Redis backend reads the
Redis server's clock and cannot be given a fake one.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
    run_state_machine_as_test,
)

from engine.runtime.queue import DeliveryQueue, Lease, Submission
from engine.runtime.redis.queue import RedisQueue
from engine.runtime.sqlite_queue import SQLiteQueue
from tests.redis_server import RedisServer

Factory = Callable[..., DeliveryQueue]
_counter = itertools.count()


@pytest.fixture(params=["sqlite", "redis"])
def make_queue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    """A factory of queues of one backend; the queues it makes share one storage, unless
    `fresh=True` asks for a new, empty one."""
    made: list[DeliveryQueue] = []
    if request.param == "sqlite":
        path = [tmp_path / "q.sqlite"]

        def factory(fresh: bool = False, **kw: float) -> DeliveryQueue:
            if fresh:
                path[0] = tmp_path / f"q{next(_counter)}.sqlite"
            q = SQLiteQueue(path[0], **kw)
            made.append(q)
            return q
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        ns = [f"contract{next(_counter)}"]

        def factory(fresh: bool = False, **kw: float) -> DeliveryQueue:
            if fresh:
                ns[0] = f"contract{next(_counter)}"
            q = RedisQueue(server.url, namespace=ns[0], **kw)  # type: ignore[arg-type]
            made.append(q)
            return q
    yield factory
    for q in made:
        q.close()


def _sub(i: int, *subs: str, mid: str | None = "auto") -> Submission:
    return Submission(event={"type": "track", "event": "E", "n": i, "properties": {"ü": [1, 2.5, None]}},
                      subscriptions=subs or ("a",), message_id=f"m{i}" if mid == "auto" else mid)


def _drain(q: DeliveryQueue, lease_seconds: float = 30) -> list[Lease]:
    out: list[Lease] = []
    while batch := q.lease(50, lease_seconds):
        out += batch
    return out


def test_enqueue_then_lease_gives_one_delivery_per_subscription(make_queue: Factory) -> None:
    q = make_queue()
    result = q.enqueue([_sub(1, "a", "b"), _sub(2, "a"), _sub(3, mid=None)])
    assert (result.accepted, result.duplicates, result.deliveries) == (3, 0, 4)
    leases = _drain(q)
    assert sorted((x.event["n"], x.subscription) for x in leases) == [(1, "a"), (1, "b"), (2, "a"), (3, "a")]
    one = next(x for x in leases if x.event["n"] == 1)
    assert one.event == _sub(1).event and one.message_id == "m1" and one.attempts == 0
    assert next(x for x in leases if x.event["n"] == 3).message_id is None
    assert all(x.expires_at > time.time() + 20 for x in leases)
    assert q.lease(10, 30) == []


def test_submission_without_subscriptions_is_accepted_but_queues_nothing(make_queue: Factory) -> None:
    q = make_queue()
    result = q.enqueue([Submission(event={"n": 1}, subscriptions=(), message_id="x")])
    assert (result.accepted, result.deliveries) == (1, 0)
    assert q.lease(10, 30) == []
    assert q.enqueue([Submission(event={"n": 1}, subscriptions=("a",), message_id="x")]).duplicates == 1


def test_duplicate_message_ids_are_dropped_within_the_window(make_queue: Factory) -> None:
    q = make_queue(dedupe_window=0.5)
    first = q.enqueue([_sub(1), _sub(1), _sub(2)])
    assert first.duplicate_flags == (False, True, False)
    assert q.enqueue([_sub(1), _sub(5, mid=None), _sub(5, mid=None)]).duplicate_flags == (True, False, False)
    assert len(_drain(q)) == 4
    time.sleep(0.7)
    assert q.enqueue([_sub(1)]).duplicate_flags == (False,)  # the window has passed


def test_ack_forgets_and_a_foreign_token_cannot_settle(make_queue: Factory) -> None:
    q = make_queue()
    q.enqueue([_sub(1), _sub(2)])
    a, b = _drain(q)
    forged = Lease(**{**a.__dict__, "token": "not-mine"})
    assert not q.ack(forged)
    assert not q.retry(forged, 0, {"e": 1})
    assert not q.dead_letter(forged, {"e": 1})
    assert not q.release(forged)
    assert q.ack(a)
    assert not q.ack(a)  # twice: already gone
    assert q.stats().leased == 1
    assert q.ack(b)
    assert q.stats().pending == 0


def test_an_expired_lease_comes_back_and_the_old_holder_loses_it(make_queue: Factory) -> None:
    q1, q2 = make_queue(), make_queue()
    q1.enqueue([_sub(1)])
    (first,) = q1.lease(10, 0.3)
    assert q2.lease(10, 0.3) == []  # still leased
    time.sleep(0.45)
    (again,) = q2.lease(10, 30)
    assert again.event == first.event and again.token != first.token
    assert not q1.ack(first)  # the dead worker's late outcome is dropped
    assert q2.ack(again)


def test_retry_waits_for_its_delay_and_counts_an_attempt(make_queue: Factory) -> None:
    q = make_queue()
    q.enqueue([_sub(1)])
    (lease,) = q.lease(1, 30)
    assert q.retry(lease, 0.4, {"kind": "retryable", "status": 503})
    assert q.stats().delayed == 1
    assert q.lease(10, 30) == []
    time.sleep(0.5)
    (again,) = q.lease(10, 30)
    assert again.attempts == 1 and again.event == lease.event and again.message_id == "m1"
    assert q.retry(again, 0, {"kind": "retryable"})  # no delay: ready at once
    (third,) = q.lease(10, 30)
    assert third.attempts == 2


def test_release_gives_back_without_counting_an_attempt(make_queue: Factory) -> None:
    q = make_queue()
    q.enqueue([_sub(1)])
    (lease,) = q.lease(1, 30)
    assert q.release(lease)
    (again,) = q.lease(1, 30)
    assert again.attempts == 0


def test_dead_letters_are_listed_shown_replayed_and_purged(make_queue: Factory) -> None:
    q = make_queue()
    q.enqueue([_sub(1, "a", "b"), _sub(2, "a"), _sub(3, "b")])
    for lease in sorted(_drain(q), key=lambda x: (x.event["n"], x.subscription)):
        assert q.dead_letter(lease, {"kind": "permanent", "message": f"bad {lease.event['n']}"})
    assert q.stats().dead == 4 and q.stats().pending == 0
    listed = q.dlq_list()
    assert [(d.event["n"], d.subscription) for d in listed] == [(1, "a"), (1, "b"), (2, "a"), (3, "b")]
    assert listed[0].error == {"kind": "permanent", "message": "bad 1"} and listed[0].attempts == 1
    assert [d.event["n"] for d in q.dlq_list(subscription="b")] == [1, 3]
    assert len(q.dlq_list(limit=2)) == 2
    shown = q.dlq_show(listed[2].id)
    assert shown is not None and shown.to_dict() == listed[2].to_dict()
    assert q.dlq_show("999999") is None
    assert q.dlq_replay([listed[0].id, listed[1].id]) == 2
    assert q.dlq_replay([listed[0].id]) == 0  # already replayed
    replayed = _drain(q)
    assert sorted((x.event["n"], x.subscription, x.attempts) for x in replayed) == [(1, "a", 0), (1, "b", 0)]
    assert q.dlq_purge([listed[2].id]) == 1
    assert [d.event["n"] for d in q.dlq_list()] == [3]
    assert q.dlq_replay([]) == 0 and q.dlq_purge([]) == 0
    assert q.dlq_purge() == 1
    assert q.dlq_list() == [] and q.stats().dead == 0


def test_stats_count_ready_delayed_leased_and_dead(make_queue: Factory) -> None:
    q = make_queue()
    q.enqueue([_sub(i) for i in range(5)])
    a, b, _c = q.lease(3, 30)
    q.retry(a, 60, {})
    q.dead_letter(b, {})
    stats = q.stats()
    assert (stats.ready, stats.delayed, stats.leased, stats.dead) == (2, 1, 1, 1)
    assert stats.pending == 4


class _Conservation(RuleBasedStateMachine):
    """Whatever the order of operations, no delivery is lost or duplicated: each is ready,
    delayed, leased, dead or acked, exactly once."""

    factory: Factory

    def __init__(self) -> None:
        super().__init__()
        self.q = self.factory(fresh=True, dedupe_window=3600)
        self.acked: list[int] = []
        self.enqueued: list[int] = []
        self.n = 0

    leases = Bundle("leases")

    @rule(k=st.integers(1, 3))
    def enqueue(self, k: int) -> None:
        subs = []
        for _ in range(k):
            self.n += 1
            subs.append(Submission(event={"n": self.n, "run": id(self)}, subscriptions=("s",),
                                   message_id=f"{id(self)}-{self.n}"))
        self.q.enqueue(subs + subs[:1])  # the repeated one is a duplicate
        self.enqueued += [s.event["n"] for s in subs]

    @rule(target=leases)
    def lease(self) -> Lease | None:
        got = self.q.lease(1, 600)
        return got[0] if got else None

    @rule(lease=consumes(leases), how=st.sampled_from(["ack", "retry", "dead", "release"]))
    def settle(self, lease: Lease | None, how: str) -> None:
        if lease is None:
            return
        if how == "ack":
            assert self.q.ack(lease)
            self.acked.append(lease.event["n"])
        elif how == "retry":
            assert self.q.retry(lease, 0, {"why": "test"})
        elif how == "dead":
            assert self.q.dead_letter(lease, {"why": "test"})
        else:
            assert self.q.release(lease)

    @rule()
    def replay(self) -> None:
        self.q.dlq_replay()

    @invariant()
    def nothing_lost(self) -> None:
        stats = self.q.stats()
        assert stats.pending + stats.dead + len(self.acked) == len(self.enqueued)
        assert len(set(self.acked)) == len(self.acked)

    def teardown(self) -> None:
        self.q.close()


def test_no_delivery_is_lost_or_duplicated_in_any_order_of_operations(make_queue: Factory) -> None:
    machine = type("Conservation", (_Conservation,), {"factory": staticmethod(make_queue)})
    config = settings(max_examples=12, stateful_step_count=20, deadline=None,
                      suppress_health_check=list(HealthCheck))
    run_state_machine_as_test(machine, settings=config)
