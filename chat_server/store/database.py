"""The SQLite file: one writer thread with group commit, and a pool of async readers.

Writes are plain functions run on one thread in batches: everything queued while
the previous batch committed goes into the next transaction, each in its own
savepoint so that one failing write does not undo its neighbours. Awaiting a
whole batch instead of each statement is what keeps the store ahead of many
senders (aiosqlite pays a thread hop per awaited call). Reads use aiosqlite
connections of their own, so they never wait behind the writer (WAL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from typing import Any, TypeVar

import aiosqlite

from chat_server.store.migrations import migrate

log = logging.getLogger(__name__)
T = TypeVar("T")
WriteFn = Callable[[sqlite3.Connection], Any]
Job = tuple[WriteFn, "Future[Any]", bool]

MAX_BATCH = 256
BUSY_TIMEOUT_MS = 10_000


def _configure(conn: sqlite3.Connection) -> None:
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode = WAL")
    # FULL: an acknowledged message survives power loss too; group commit pays for it.
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    # Erased customer data must not linger in free pages of the file.
    conn.execute("PRAGMA secure_delete = ON")


class Database:
    def __init__(self, path: str, *, readers: int = 4) -> None:
        self.path = path
        self._reader_count = readers
        # (function, future, in a transaction?) or None to stop.
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all_readers: list[aiosqlite.Connection] = []
        self.batches = 0
        self.writes = 0

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

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` inside the next group-commit transaction; return once it is durable."""
        if self._writer is None:
            raise RuntimeError("database is not open")
        future: Future[T] = Future()
        self._jobs.put((fn, future, True))
        return await asyncio.wrap_future(future)

    async def checkpoint(self) -> None:
        """Fold the WAL into the main file and truncate it (after an erase, for instance)."""

        def job(conn: sqlite3.Connection) -> None:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

        if self._writer is None:
            raise RuntimeError("database is not open")
        future: Future[None] = Future()
        self._jobs.put((job, future, False))
        await asyncio.wrap_future(future)

    @contextlib.asynccontextmanager
    async def reader(self) -> AsyncIterator[aiosqlite.Connection]:
        conn = await self._readers.get()
        try:
            yield conn
        finally:
            self._readers.put_nowait(conn)

    async def fetch_all(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        async with self.reader() as conn, conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetch_one(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        async with self.reader() as conn, conn.execute(sql, params) as cursor:
            return await cursor.fetchone()

    # -- the writer thread -------------------------------------------------

    def _write_loop(self, ready: Future[None]) -> None:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            _configure(conn)
            migrate(conn)
        except BaseException as exc:
            ready.set_exception(exc)
            return
        ready.set_result(None)
        try:
            while True:
                first = self._jobs.get()
                if first is None:
                    return
                batch = [first]
                stop = False
                while len(batch) < MAX_BATCH:
                    try:
                        job = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if job is None:
                        stop = True
                        break
                    batch.append(job)
                self._run_jobs(conn, batch)
                if stop:
                    return
        finally:
            conn.close()

    def _run_jobs(self, conn: sqlite3.Connection, jobs: list[Job]) -> None:
        """Transactional jobs are grouped; the rare job that must run outside one runs alone."""
        batch: list[Job] = []
        for job in jobs:
            if job[2]:
                batch.append(job)
                continue
            if batch:
                self._run_batch(conn, batch)
                batch = []
            fn, future, _ = job
            try:
                future.set_result(fn(conn))
            except Exception as exc:
                future.set_exception(exc)
        if batch:
            self._run_batch(conn, batch)

    def _run_batch(self, conn: sqlite3.Connection, batch: list[Job]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for fn, _, _ in batch:
                conn.execute("SAVEPOINT job")
                try:
                    outcomes.append((True, fn(conn)))
                    conn.execute("RELEASE job")
                except Exception as exc:
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    outcomes.append((False, exc))
            conn.execute("COMMIT")
        except Exception as exc:
            log.exception("write batch failed")
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
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
