"""The default delivery queue: one SQLite file in WAL mode, shared by every local process.

Leasing sets `available_at` to the lease's expiry, so a single index answers "what is ready"
for new items, retries that came due and leases whose worker died alike. Settling a lease
checks its token, so a worker that lost its lease cannot delete an item another worker holds.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from engine.runtime.queue import DeadLetter, EnqueueResult, Lease, QueueStats, Submission

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription TEXT NOT NULL,
    message_id TEXT,
    event TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    enqueued_at REAL NOT NULL,
    available_at REAL NOT NULL,
    lease_token TEXT,
    lease_until REAL,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_available ON deliveries(available_at);
CREATE TABLE IF NOT EXISTS seen (
    message_id TEXT PRIMARY KEY,
    seen_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS seen_at ON seen(seen_at);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription TEXT NOT NULL,
    message_id TEXT,
    event TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    error TEXT NOT NULL,
    failed_at REAL NOT NULL,
    enqueued_at REAL NOT NULL
);
"""

_PRUNE_EVERY = 1000  # enqueued events between sweeps of expired dedupe keys


class SQLiteQueue:
    """`DeliveryQueue` on a SQLite file; safe across threads and processes."""

    def __init__(self, path: str | os.PathLike[str], *, dedupe_window: float = 86400.0,
                 synchronous: str = "FULL", clock: Callable[[], float] = time.time) -> None:
        if synchronous.upper() not in {"FULL", "NORMAL", "EXTRA"}:
            raise ValueError(f"synchronous must be FULL, NORMAL or EXTRA, not {synchronous!r}")
        self.path = Path(path)
        self.dedupe_window = float(dedupe_window)
        self._clock = clock
        self._lock = threading.Lock()
        self._since_prune = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None,
                                   check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous.upper()}")
        self._db.execute("PRAGMA busy_timeout=30000")
        with self._lock:
            self._db.executescript(_SCHEMA)

    # -- writing ---------------------------------------------------------------------------
    def _transaction(self) -> _Tx:
        return _Tx(self._db, self._lock)

    def enqueue(self, submissions: Sequence[Submission]) -> EnqueueResult:
        now = self._clock()
        cutoff = now - self.dedupe_window
        rows: list[tuple[str, str | None, str, float, float]] = []
        flags: list[bool] = []
        with self._transaction() as db:
            for sub in submissions:
                if sub.message_id is not None:
                    cur = db.execute(
                        "INSERT INTO seen(message_id, seen_at) VALUES (?, ?) "
                        "ON CONFLICT(message_id) DO UPDATE SET seen_at = excluded.seen_at "
                        "WHERE seen.seen_at < ?",
                        (sub.message_id, now, cutoff),
                    )
                    if cur.rowcount == 0:
                        flags.append(True)
                        continue
                flags.append(False)
                text = json.dumps(sub.event, separators=(",", ":"), default=str)
                rows.extend((name, sub.message_id, text, now, now) for name in sub.subscriptions)
            if rows:
                db.executemany(
                    "INSERT INTO deliveries(subscription, message_id, event, enqueued_at, available_at) "
                    "VALUES (?, ?, ?, ?, ?)", rows)
            self._since_prune += len(submissions)
            if self._since_prune >= _PRUNE_EVERY:
                self._since_prune = 0
                db.execute("DELETE FROM seen WHERE seen_at < ?", (cutoff,))
        dupes = sum(flags)
        return EnqueueResult(accepted=len(flags) - dupes, duplicates=dupes, deliveries=len(rows),
                             duplicate_flags=tuple(flags))

    def lease(self, n: int, lease_seconds: float) -> list[Lease]:
        if n <= 0:
            return []
        now = self._clock()
        until = now + lease_seconds
        token = os.urandom(8).hex()
        with self._transaction() as db:
            rows = db.execute(
                "UPDATE deliveries SET lease_token = ?, lease_until = ?, available_at = ? "
                "WHERE id IN (SELECT id FROM deliveries WHERE available_at <= ? "
                "ORDER BY available_at, id LIMIT ?) "
                "RETURNING id, subscription, message_id, event, attempts, enqueued_at",
                (token, until, until, now, n),
            ).fetchall()
        leases = [
            Lease(id=str(r[0]), token=token, subscription=r[1], message_id=r[2], event=json.loads(r[3]),
                  attempts=r[4], enqueued_at=r[5], expires_at=until)
            for r in rows
        ]
        leases.sort(key=lambda lease: int(lease.id))
        return leases

    def ack(self, lease: Lease) -> bool:
        with self._transaction() as db:
            cur = db.execute("DELETE FROM deliveries WHERE id = ? AND lease_token = ?",
                             (int(lease.id), lease.token))
        return cur.rowcount == 1

    def ack_many(self, leases: Sequence[Lease]) -> int:
        """Ack several leases in one transaction (fewer fsyncs under load)."""
        with self._transaction() as db:
            cur = db.executemany("DELETE FROM deliveries WHERE id = ? AND lease_token = ?",
                                 [(int(lease.id), lease.token) for lease in leases])
        return cur.rowcount

    def retry(self, lease: Lease, delay: float, error: Mapping[str, Any]) -> bool:
        now = self._clock()
        with self._transaction() as db:
            cur = db.execute(
                "UPDATE deliveries SET attempts = attempts + 1, available_at = ?, lease_token = NULL, "
                "lease_until = NULL, last_error = ? WHERE id = ? AND lease_token = ?",
                (now + max(delay, 0.0), json.dumps(dict(error), default=str), int(lease.id), lease.token),
            )
        return cur.rowcount == 1

    def release(self, lease: Lease) -> bool:
        now = self._clock()
        with self._transaction() as db:
            cur = db.execute(
                "UPDATE deliveries SET available_at = ?, lease_token = NULL, lease_until = NULL "
                "WHERE id = ? AND lease_token = ?", (now, int(lease.id), lease.token))
        return cur.rowcount == 1

    def dead_letter(self, lease: Lease, error: Mapping[str, Any]) -> bool:
        now = self._clock()
        with self._transaction() as db:
            cur = db.execute("DELETE FROM deliveries WHERE id = ? AND lease_token = ? "
                             "RETURNING subscription, message_id, event, attempts, enqueued_at",
                             (int(lease.id), lease.token))
            row = cur.fetchone()
            if row is None:
                return False
            db.execute(
                "INSERT INTO dead_letters(subscription, message_id, event, attempts, error, failed_at, "
                "enqueued_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (row[0], row[1], row[2], row[3] + 1, json.dumps(dict(error), default=str), now, row[4]),
            )
        return True

    # -- dead letters ----------------------------------------------------------------------
    def dlq_list(self, *, limit: int = 100, subscription: str | None = None) -> list[DeadLetter]:
        sql = ("SELECT id, subscription, message_id, event, attempts, error, failed_at, enqueued_at "
               "FROM dead_letters")
        params: list[Any] = []
        if subscription is not None:
            sql += " WHERE subscription = ?"
            params.append(subscription)
        sql += " ORDER BY id LIMIT ?"
        params.append(limit)
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [_dead_letter(r) for r in rows]

    def dlq_show(self, dead_letter_id: str) -> DeadLetter | None:
        try:
            key = int(dead_letter_id)
        except ValueError:
            return None
        with self._lock:
            row = self._db.execute(
                "SELECT id, subscription, message_id, event, attempts, error, failed_at, enqueued_at "
                "FROM dead_letters WHERE id = ?", (key,)).fetchone()
        return _dead_letter(row) if row else None

    def dlq_replay(self, ids: Sequence[str] | None = None) -> int:
        now = self._clock()
        where, params = _id_filter(ids)
        with self._transaction() as db:
            rows = db.execute(f"DELETE FROM dead_letters{where} RETURNING subscription, message_id, event",
                              params).fetchall()
            db.executemany(
                "INSERT INTO deliveries(subscription, message_id, event, enqueued_at, available_at) "
                "VALUES (?, ?, ?, ?, ?)", [(r[0], r[1], r[2], now, now) for r in rows])
        return len(rows)

    def dlq_purge(self, ids: Sequence[str] | None = None) -> int:
        where, params = _id_filter(ids)
        with self._transaction() as db:
            cur = db.execute(f"DELETE FROM dead_letters{where}", params)
        return cur.rowcount

    # -- reading ---------------------------------------------------------------------------
    def stats(self) -> QueueStats:
        now = self._clock()
        with self._lock:
            ready, delayed, leased = self._db.execute(
                "SELECT "
                "COALESCE(SUM(available_at <= ?), 0), "
                "COALESCE(SUM(available_at > ? AND (lease_until IS NULL OR lease_until <= ?)), 0), "
                "COALESCE(SUM(lease_until > ?), 0) FROM deliveries",
                (now, now, now, now)).fetchone()
            dead = self._db.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0]
        return QueueStats(ready=ready, delayed=delayed, leased=leased, dead=dead)

    def next_due(self) -> float | None:
        """Epoch seconds when the next item becomes ready (None when the queue is empty)."""
        with self._lock:
            row = self._db.execute("SELECT MIN(available_at) FROM deliveries").fetchone()
        return row[0] if row else None

    def close(self) -> None:
        with self._lock:
            self._db.close()


class _Tx:
    """`BEGIN IMMEDIATE … COMMIT` under the connection lock (rollback on error)."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self._db = db
        self._lock = lock

    def __enter__(self) -> sqlite3.Connection:
        self._lock.acquire()
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise
        return self._db

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            self._db.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self._lock.release()


def _id_filter(ids: Sequence[str] | None) -> tuple[str, list[int]]:
    if ids is None:
        return "", []
    keys = [int(i) for i in ids]
    if not keys:
        return " WHERE 0", []
    return f" WHERE id IN ({','.join('?' * len(keys))})", keys


def _dead_letter(row: Sequence[Any]) -> DeadLetter:
    return DeadLetter(id=str(row[0]), subscription=row[1], message_id=row[2], event=json.loads(row[3]),
                      attempts=row[4], error=json.loads(row[5]), failed_at=row[6], enqueued_at=row[7])
