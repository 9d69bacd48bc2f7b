"""The SQLite file: one writer thread with group commit, and a pool of async readers.

Writes are plain functions run on one thread in batches: everything queued while
the previous batch committed goes into the next transaction, each in its own
savepoint so that one failing write does not undo its neighbours. Awaiting a
whole batch instead of each statement is what keeps the store ahead of many
senders (aiosqlite pays a thread hop per awaited call). Reads use aiosqlite
connections of their own, so they never wait behind the writer (WAL).

Bulk work (RFM re-scoring, imports) goes through a second, lower lane: one bulk
chunk at a time, in a transaction of its own, and only when no chat write is
waiting, so a chat write waits at most one short chunk behind bulk work.

Another process (`sapa import`, a second worker) may hold the file's write lock.
The writer does not let SQLite sleep on it (its busy handler backs off to 100 ms
sleeps); it retries the whole batch itself with short sleeps until a deadline,
so a busy file delays a batch but never fails other people's messages.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from typing import Any, Literal, TypeVar

import aiosqlite

from chat_server.store.migrations import migrate
from chat_server.store.sql import Row

log = logging.getLogger(__name__)
T = TypeVar("T")
WriteFn = Callable[[sqlite3.Connection], Any]
# "tx": grouped into the next transaction; "raw": alone, outside any transaction;
# "bulk": alone in its own transaction, only when no "tx" job is waiting.
Lane = Literal["tx", "raw", "bulk"]
Job = tuple[WriteFn, "Future[Any]", Lane]

MAX_BATCH = 256
BUSY_TIMEOUT_MS = 10_000
# How long a batch keeps retrying a file locked by another process before it fails.
BUSY_DEADLINE_S = 30.0
BUSY_SLEEPS_S = (0.0005, 0.001, 0.002)


def _configure(conn: sqlite3.Connection) -> None:
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode = WAL")
    # FULL: an acknowledged message survives power loss too; group commit pays for it.
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    # Erased customer data must not linger in free pages of the file.
    conn.execute("PRAGMA secure_delete = ON")


def is_busy(exc: BaseException) -> bool:
    """SQLITE_BUSY in any of its extended forms ("database is locked")."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF == sqlite3.SQLITE_BUSY
    return "database is locked" in str(exc)


class _Busy(Exception):
    """A job hit a lock held by another process: the whole batch is retried."""


class Database:
    def __init__(self, path: str, *, readers: int = 4) -> None:
        self.path = path
        self._reader_count = readers
        # (function, future, lane) or None to stop.
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all_readers: list[aiosqlite.Connection] = []
        self.batches = 0
        self.writes = 0
        self.busy_retries = 0
        self.bulk_chunks = 0

    async def open(self) -> None:
        ready: Future[None] = Future()
        self._writer = threading.Thread(
            target=self._write_loop, args=(ready,), name="sapa-writer", daemon=True
        )
        self._writer.start()
        await asyncio.wrap_future(ready)
        for _ in range(self._reader_count):
            conn = await aiosqlite.connect(self.path)
            conn.row_factory = sqlite3.Row
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._all_readers.append(conn)
            self._readers.put_nowait(conn)

    async def close(self) -> None:
        if self._writer is not None:
            self._jobs.put(None)
            await asyncio.to_thread(self._writer.join)
            self._writer = None
        for conn in self._all_readers:
            await conn.close()
        self._all_readers.clear()

    def _submit(self, fn: Callable[[sqlite3.Connection], T], lane: Lane) -> Future[T]:
        if self._writer is None:
            raise RuntimeError("database is not open")
        future: Future[T] = Future()
        self._jobs.put((fn, future, lane))
        return future

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` inside the next group-commit transaction; return once it is durable."""
        return await asyncio.wrap_future(self._submit(fn, "tx"))

    async def write_bulk(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run one chunk of bulk work in its own short transaction, behind every chat write.

        `fn` must be bounded (a few hundred rows, a few ms): it holds the write lock while it
        runs. It may be run again from the start if another process held the lock.
        """
        return await asyncio.wrap_future(self._submit(fn, "bulk"))

    async def checkpoint(self) -> None:
        """Fold the WAL into the main file and truncate it (after an erase, for instance)."""

        def job(conn: sqlite3.Connection) -> None:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

        await asyncio.wrap_future(self._submit(job, "raw"))

    @contextlib.asynccontextmanager
    async def reader(self) -> AsyncIterator[aiosqlite.Connection]:
        conn = await self._readers.get()
        try:
            yield conn
        finally:
            self._readers.put_nowait(conn)

    async def fetch_all(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
        async with self.reader() as conn, conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetch_one(self, sql: str, params: tuple[Any, ...] = ()) -> Row | None:
        async with self.reader() as conn, conn.execute(sql, params) as cursor:
            return await cursor.fetchone()

    # -- the writer thread -------------------------------------------------

    def _write_loop(self, ready: Future[None]) -> None:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            _configure(conn)
            migrate(conn)
            # From here on a lock held elsewhere is retried by `_begin`, in short sleeps.
            conn.execute("PRAGMA busy_timeout = 0")
        except BaseException as exc:
            ready.set_exception(exc)
            return
        ready.set_result(None)
        bulk: collections.deque[Job] = collections.deque()
        try:
            while True:
                if bulk:
                    try:
                        first = self._jobs.get_nowait()
                    except queue.Empty:
                        # Nothing from the chat path is waiting: one bulk chunk may run.
                        self._run_bulk(conn, bulk.popleft())
                        continue
                else:
                    first = self._jobs.get()
                if first is None:
                    self._drop(bulk)
                    return
                batch: list[Job] = []
                stop = False
                job: Job | None = first
                while job is not None:
                    if job[2] == "bulk":
                        bulk.append(job)
                    else:
                        batch.append(job)
                    if len(batch) >= MAX_BATCH:
                        break
                    try:
                        job = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if job is None:
                        stop = True
                self._run_jobs(conn, batch)
                if stop:
                    self._drop(bulk)
                    return
        finally:
            conn.close()

    def _run_bulk(self, conn: sqlite3.Connection, job: Job) -> None:
        # Bulk work can be redone (an import re-run, scores recomputed), so its commits skip
        # the fsync; the next chat commit (FULL) syncs the log, these pages included. Power
        # loss may undo the last chunks, never corrupt the file or an acknowledged message.
        self.bulk_chunks += 1
        conn.execute("PRAGMA synchronous = NORMAL")
        try:
            self._run_batch(conn, [job])
        finally:
            conn.execute("PRAGMA synchronous = FULL")

    @staticmethod
    def _drop(bulk: collections.deque[Job]) -> None:
        for _, future, _ in bulk:
            future.set_exception(RuntimeError("database closed"))

    def _run_jobs(self, conn: sqlite3.Connection, jobs: list[Job]) -> None:
        """Transactional jobs are grouped; the rare job that must run outside one runs alone."""
        batch: list[Job] = []
        for job in jobs:
            if job[2] == "tx":
                batch.append(job)
                continue
            if batch:
                self._run_batch(conn, batch)
                batch = []
            fn, future, _ = job
            try:
                # A checkpoint waits for readers; it may wait the usual busy timeout.
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                future.set_result(fn(conn))
            except Exception as exc:
                future.set_exception(exc)
            finally:
                conn.execute("PRAGMA busy_timeout = 0")
        if batch:
            self._run_batch(conn, batch)

    def _begin(self, conn: sqlite3.Connection, deadline: float) -> None:
        attempt = 0
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not is_busy(exc) or time.monotonic() >= deadline:
                    raise
            self.busy_retries += 1
            time.sleep(BUSY_SLEEPS_S[min(attempt, len(BUSY_SLEEPS_S) - 1)])
            attempt += 1

    def _attempt(self, conn: sqlite3.Connection, batch: list[Job]) -> list[tuple[bool, Any]]:
        outcomes: list[tuple[bool, Any]] = []
        for fn, _, _ in batch:
            conn.execute("SAVEPOINT job")
            try:
                outcomes.append((True, fn(conn)))
                conn.execute("RELEASE job")
            except Exception as exc:
                if is_busy(exc):
                    raise _Busy from exc
                conn.execute("ROLLBACK TO job")
                conn.execute("RELEASE job")
                outcomes.append((False, exc))
        conn.execute("COMMIT")
        return outcomes

    def _run_batch(self, conn: sqlite3.Connection, batch: list[Job]) -> None:
        deadline = time.monotonic() + BUSY_DEADLINE_S
        while True:
            try:
                self._begin(conn, deadline)
                outcomes = self._attempt(conn, batch)
                break
            except Exception as exc:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                busy = isinstance(exc, _Busy) or is_busy(exc)
                if busy and time.monotonic() < deadline:
                    # Another process took the lock mid-batch: run every job again.
                    self.busy_retries += 1
                    time.sleep(BUSY_SLEEPS_S[-1])
                    continue
                log.exception("write batch failed")
                for _, future, _ in batch:
                    future.set_exception(exc)
                return
        self.batches += 1
        self.writes += len(batch)
        # Results are released only after COMMIT: an ack never precedes durability.
        for (ok, value), (_, future, _) in zip(outcomes, batch, strict=True):
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
