"""The SQLite delivery queue: durability, leases, settling, dedupe, dead letters."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.runtime.queue import DeliveryQueue, Submission
from engine.runtime.sqlite_queue import SQLiteQueue


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _sub(mid: str | None, *subs: str) -> Submission:
    event = {"type": "track", "event": "E", "messageId": mid}
    return Submission(event=event, subscriptions=subs, message_id=mid)


def test_implements_protocol(tmp_path: Path) -> None:
    q = SQLiteQueue(tmp_path / "q.sqlite")
    assert isinstance(q, DeliveryQueue)
    q.close()


def test_enqueue_fans_out_per_subscription_and_survives_reopen(tmp_path: Path) -> None:
    q = SQLiteQueue(tmp_path / "q.sqlite")
    r = q.enqueue([_sub("m1", "a", "b"), _sub("m2"), _sub("m3", "a")])
    assert (r.accepted, r.duplicates, r.deliveries) == (3, 0, 3)
    q.close()
    q2 = SQLiteQueue(tmp_path / "q.sqlite")
    leases = q2.lease(10, 30)
    assert sorted((lease.subscription, lease.message_id) for lease in leases) == [
        ("a", "m1"), ("a", "m3"), ("b", "m1")]
    assert q2.stats().leased == 3


def test_dedupe_within_window_only(tmp_path: Path) -> None:
    clock = Clock()
    q = SQLiteQueue(tmp_path / "q.sqlite", dedupe_window=100, clock=clock)
    assert q.enqueue([_sub("m1", "a")]).accepted == 1
    r = q.enqueue([_sub("m1", "a"), _sub("m2", "a"), _sub("m2", "a")])
    assert (r.accepted, r.duplicates, r.duplicate_flags) == (1, 2, (True, False, True))
    clock.now += 101
    assert q.enqueue([_sub("m1", "a")]).accepted == 1
    assert q.enqueue([_sub(None, "a"), _sub(None, "a")]).accepted == 2


def test_lease_excludes_until_expiry_then_returns(tmp_path: Path) -> None:
    clock = Clock()
    q = SQLiteQueue(tmp_path / "q.sqlite", clock=clock)
    q.enqueue([_sub("m1", "a")])
    first = q.lease(5, 10)
    assert len(first) == 1 and q.lease(5, 10) == []
    clock.now += 11
    second = q.lease(5, 10)
    assert [lease.id for lease in second] == [first[0].id]
    assert not q.ack(first[0])  # the old holder lost it
    assert q.ack(second[0])
    assert q.stats().pending == 0


def test_retry_delays_and_counts_attempts(tmp_path: Path) -> None:
    clock = Clock()
    q = SQLiteQueue(tmp_path / "q.sqlite", clock=clock)
    q.enqueue([_sub("m1", "a")])
    (lease,) = q.lease(1, 10)
    assert q.retry(lease, 5, {"type": "RetryableError"})
    assert q.lease(1, 10) == [] and q.stats().delayed == 1
    clock.now += 5
    (again,) = q.lease(1, 10)
    assert again.attempts == 1


def test_release_makes_ready_without_attempt(tmp_path: Path) -> None:
    q = SQLiteQueue(tmp_path / "q.sqlite")
    q.enqueue([_sub("m1", "a")])
    (lease,) = q.lease(1, 60)
    assert q.release(lease)
    (again,) = q.lease(1, 60)
    assert again.attempts == 0


def test_dead_letters_list_show_replay_purge(tmp_path: Path) -> None:
    q = SQLiteQueue(tmp_path / "q.sqlite")
    q.enqueue([_sub("m1", "a"), _sub("m2", "b")])
    for lease in q.lease(10, 60):
        assert q.dead_letter(lease, {"type": "DestinationError", "message": "nope"})
    dead = q.dlq_list()
    assert [d.subscription for d in dead] == ["a", "b"] and dead[0].attempts == 1
    assert q.dlq_list(subscription="b")[0].event["messageId"] == "m2"
    shown = q.dlq_show(dead[0].id)
    assert shown is not None and shown.error["message"] == "nope"
    assert q.dlq_show("999") is None and q.dlq_show("x") is None
    assert q.dlq_replay([dead[0].id]) == 1
    (lease,) = q.lease(10, 60)
    assert lease.message_id == "m1" and lease.attempts == 0
    assert q.dlq_purge() == 1 and q.stats().dead == 0


def test_settling_with_a_lost_lease_is_refused(tmp_path: Path) -> None:
    clock = Clock()
    q = SQLiteQueue(tmp_path / "q.sqlite", clock=clock)
    q.enqueue([_sub("m1", "a")])
    (old,) = q.lease(1, 1)
    clock.now += 2
    (new,) = q.lease(1, 60)
    assert not q.retry(old, 0, {}) and not q.dead_letter(old, {}) and not q.release(old)
    assert q.stats().leased == 1 and q.stats().dead == 0
    assert q.ack_many([old, new]) == 1


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["m1", "m2", "m3", "m4", None]),
                          st.lists(st.sampled_from(["a", "b", "c"]), unique=True, max_size=3)), max_size=12))
def test_every_new_delivery_is_leased_exactly_once(tmp_path_factory: object, batch: list) -> None:
    """Law: deliveries enqueued == deliveries leasable; duplicates add none."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        q = SQLiteQueue(Path(d) / "q.sqlite")
        result = q.enqueue([_sub(mid, *subs) for mid, subs in batch])
        seen: set[str | None] = set()
        expected = 0
        for mid, subs in batch:
            if mid is not None and mid in seen:
                continue
            seen.add(mid)
            expected += len(subs)
        assert result.deliveries == expected
        leased = q.lease(1000, 60)
        assert len(leased) == expected and len({lease.id for lease in leased}) == expected
        q.close()


def _lease_all(path: str, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    q = SQLiteQueue(path)
    ids = []
    while True:
        got = q.lease(7, 60)
        if not got:
            break
        ids.extend(lease.id for lease in got)
    out.put(ids)


def test_two_processes_never_lease_the_same_item(tmp_path: Path) -> None:
    path = str(tmp_path / "q.sqlite")
    q = SQLiteQueue(path)
    q.enqueue([_sub(f"m{i}", "a") for i in range(400)])
    out: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    procs = [multiprocessing.Process(target=_lease_all, args=(path, out)) for _ in range(2)]
    for p in procs:
        p.start()
    got = [out.get(timeout=30) for _ in procs]
    for p in procs:
        p.join()
    every = got[0] + got[1]
    assert len(every) == 400 and len(set(every)) == 400


def test_file_is_wal(tmp_path: Path) -> None:
    SQLiteQueue(tmp_path / "q.sqlite").close()
    mode = sqlite3.connect(tmp_path / "q.sqlite").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
