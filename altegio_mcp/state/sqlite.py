"""The embedded backend: one SQLite file shared by every local process, kept across restarts.

The database is opened lazily on first use, in WAL mode with a busy timeout, and created 0600 in
a 0700 directory (SQLite gives its `-wal` and `-shm` files the database file's mode). Every
read-modify-write runs inside `BEGIN IMMEDIATE`, which takes the write lock before reading, so
`add`, `take` and `acquire` are atomic across processes. An operation first runs on the event
loop with no busy wait (it takes about 0.1 ms); when another process holds the write lock it moves
to a worker thread that waits for it, so the event loop never blocks on a lock. One connection
per store, guarded by a lock. Expired rows are purged now and then.
`path=None` is a private in-memory database (the sandbox demo).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import anyio.to_thread

from altegio_mcp.state import Bucket, StateUnavailable, check_buckets

T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000
PURGE_EVERY = 500

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL, expires REAL);
CREATE TABLE IF NOT EXISTS buckets (key TEXT PRIMARY KEY, tokens REAL NOT NULL, updated REAL NOT NULL,
  full_at REAL NOT NULL);
"""


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code in {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED} or "locked" in str(exc) or "busy" in str(exc)


def _escape_like(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SqliteStore:
    backend = "sqlite"

    def __init__(self, path: Path | None, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._busy_timeout_ms = -1
        self._ops = 0

    # --- connection ---------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self.path is None:
            conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
            os.chmod(self.path, 0o600)
            conn = sqlite3.connect(
                str(self.path),
                timeout=BUSY_TIMEOUT_MS / 1000,
                check_same_thread=False,
                isolation_level=None,
            )
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            try:
                self._set_up(conn)
            except BaseException:
                conn.close()
                raise
            return conn
        conn.executescript(SCHEMA)
        return conn

    @staticmethod
    def _set_up(conn: sqlite3.Connection) -> None:
        """Switch to WAL and create the tables. When several processes open a fresh file at once,
        SQLite can answer "database is locked" here without calling the busy handler (two
        connections that both hold a read lock and want the write lock: one is refused at once to
        avoid a deadlock), so a busy answer is retried until the busy timeout has passed."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        pause = 0.001
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.executescript(SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.05)

    def _attempt(self, work: Callable[[sqlite3.Connection, float], T], busy_timeout_ms: int) -> T:
        """Run `work` on the connection (opened on first use); the caller holds `_lock`."""
        if self._conn is None:
            self._conn = self._connect()
        conn = self._conn
        if busy_timeout_ms != self._busy_timeout_ms:  # a statement saved on most operations
            conn.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
            self._busy_timeout_ms = busy_timeout_ms
        now = self._clock()
        self._ops += 1
        if self._ops % PURGE_EVERY == 0:
            self._purge(conn, now)
        return work(conn, now)

    def _run(self, work: Callable[[sqlite3.Connection, float], T]) -> T:
        """In a worker thread: wait for another process's write lock up to the busy timeout."""
        with self._lock:
            try:
                return self._attempt(work, BUSY_TIMEOUT_MS)
            except (sqlite3.Error, OSError) as exc:
                raise StateUnavailable(
                    f"the state database could not be used ({type(exc).__name__})"
                ) from exc

    async def _call(self, work: Callable[[sqlite3.Connection, float], T]) -> T:
        """Each operation is a few statements (about 0.1 ms), so it first runs right here, on the
        event loop, with no busy wait: a worker-thread hop costs more than that on a loaded
        machine. Only when the database is not open yet, another task holds this store, or another
        process holds the write lock does it go to a worker thread, which may wait."""
        if self._conn is not None and self._lock.acquire(blocking=False):
            try:
                return self._attempt(work, 0)
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise StateUnavailable(
                        f"the state database could not be used ({type(exc).__name__})"
                    ) from exc
            except (sqlite3.Error, OSError) as exc:
                raise StateUnavailable(
                    f"the state database could not be used ({type(exc).__name__})"
                ) from exc
            finally:
                self._lock.release()
        return await anyio.to_thread.run_sync(self._run, work)

    @staticmethod
    def _purge(conn: sqlite3.Connection, now: float) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("DELETE FROM kv WHERE expires IS NOT NULL AND expires <= ?", (now,))
            conn.execute("DELETE FROM buckets WHERE full_at <= ?", (now,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _atomic(conn: sqlite3.Connection, body: Callable[[], T]) -> T:
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = body()
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    # --- the interface ------------------------------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        def work(conn: sqlite3.Connection, now: float) -> bytes | None:
            row = conn.execute(
                "SELECT value FROM kv WHERE key = ? AND (expires IS NULL OR expires > ?)", (key, now)
            ).fetchone()
            return None if row is None else bytes(row[0])

        return await self._call(work)

    async def put(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        def work(conn: sqlite3.Connection, now: float) -> None:
            conn.execute(
                "INSERT OR REPLACE INTO kv (key, value, expires) VALUES (?, ?, ?)",
                (key, value, None if ttl is None else now + ttl),
            )

        await self._call(work)

    async def add(self, key: str, value: bytes, *, ttl: float | None = None) -> bool:
        def work(conn: sqlite3.Connection, now: float) -> bool:
            def body() -> bool:
                conn.execute(
                    "DELETE FROM kv WHERE key = ? AND expires IS NOT NULL AND expires <= ?", (key, now)
                )
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO kv (key, value, expires) VALUES (?, ?, ?)",
                    (key, value, None if ttl is None else now + ttl),
                )
                return cursor.rowcount == 1

            return self._atomic(conn, body)

        return await self._call(work)

    async def take(self, key: str) -> bytes | None:
        def work(conn: sqlite3.Connection, now: float) -> bytes | None:
            def body() -> bytes | None:
                row = conn.execute("SELECT value, expires FROM kv WHERE key = ?", (key,)).fetchone()
                if row is None:
                    return None
                conn.execute("DELETE FROM kv WHERE key = ?", (key,))
                expires = row[1]
                return None if expires is not None and expires <= now else bytes(row[0])

            return self._atomic(conn, body)

        return await self._call(work)

    async def delete(self, key: str) -> None:
        def work(conn: sqlite3.Connection, _now: float) -> None:
            conn.execute("DELETE FROM kv WHERE key = ?", (key,))

        await self._call(work)

    async def scan(self, prefix: str) -> list[tuple[str, bytes]]:
        def work(conn: sqlite3.Connection, now: float) -> list[tuple[str, bytes]]:
            rows = conn.execute(
                "SELECT key, value FROM kv WHERE key LIKE ? ESCAPE '\\' "
                "AND (expires IS NULL OR expires > ?) ORDER BY key",
                (_escape_like(prefix) + "%", now),
            ).fetchall()
            # LIKE is case-insensitive for ASCII: keep exact-prefix matches only.
            return [(str(k), bytes(v)) for k, v in rows if str(k).startswith(prefix)]

        return await self._call(work)

    async def acquire(self, bucket: str, *, rate: float, capacity: float, cost: float = 1.0) -> float:
        return await self.acquire_all([Bucket(bucket, rate, capacity)], cost=cost)

    async def acquire_all(self, buckets: Sequence[Bucket], *, cost: float = 1.0) -> float:
        check_buckets(buckets)

        def work(conn: sqlite3.Connection, now: float) -> float:
            def body() -> float:
                levels: list[float] = []
                for b in buckets:
                    row = conn.execute(
                        "SELECT tokens, updated FROM buckets WHERE key = ?", (b.key,)
                    ).fetchone()
                    tokens, updated = (b.capacity, now) if row is None else (float(row[0]), float(row[1]))
                    levels.append(min(b.capacity, tokens + max(now - updated, 0.0) * b.rate))
                wait = max(
                    (cost - t) / b.rate if t < cost else 0.0 for b, t in zip(buckets, levels, strict=True)
                )
                for b, tokens in zip(buckets, levels, strict=True):
                    left = tokens - cost if wait == 0 else tokens
                    conn.execute(
                        "INSERT OR REPLACE INTO buckets (key, tokens, updated, full_at) VALUES (?, ?, ?, ?)",
                        (b.key, left, now, now + (b.capacity - left) / b.rate),
                    )
                return wait

            return self._atomic(conn, body)

        return await self._call(work)

    async def aclose(self) -> None:
        """Close the file (it reopens on the next call); an in-memory store keeps its data."""
        if self.path is None:
            return

        def close() -> None:
            with self._lock:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None
                    self._busy_timeout_ms = -1

        await anyio.to_thread.run_sync(close)
