"""The SQLite backend: one file in WAL mode, the shared writer thread, aiosqlite readers.

Reads use aiosqlite connections of their own, so they never wait behind the writer (WAL);
each read (or `read` unit of several) is one hand-off to a reader's thread.
Another process (`sapa import`, a second worker) may hold the file's write lock. The writer
does not let SQLite sleep on it (busy timeout 0 once migrated); it retries the whole batch
itself with short sleeps until a deadline, so a busy file delays a batch but never fails
other people's messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeVar, cast

import aiosqlite

from chat_server.store import search
from chat_server.store.database import Database, WriteFn
from chat_server.store.migrations import migrate
from chat_server.store.sql import Row, Tx

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
WRITER_CACHE_KIB = 32 * 1024  # the writer's page cache (the readers keep SQLite's 2 MB)
# The WAL is folded into the database file by a thread of its own (`_Checkpointer`), never
# inside a COMMIT: a commit that ran the automatic checkpoint (every 1,000 frames) waited
# for it, and every ack of its batch with it (bench/README.md, "Session 13").
# Once a second: a chat's hot pages (each room's index leaves) change many times a second,
# and each checkpoint writes every page changed since the last one into the file and syncs
# it. Every 50 ms kept the disk's queue 5-8 writes deep at 5,000 msgs/s and the commits
# behind it slow; once a second, 1-2 deep (bench/README.md, "Session 14").
CHECKPOINT_INTERVAL_S = 1.0
# The thread's PASSIVE checkpoints never let the log start again while the writer keeps
# committing (it restarts only once everything in it is copied), so the log only grows.
# Past this many frames (~40 MB of 4 KiB pages) the writer's own commit runs SQLite's
# automatic checkpoint, which is short then: the thread has copied nearly everything, and
# the next write starts the log from its beginning.
WAL_LIMIT_FRAMES = 10_000
# New messages reach the search index at most this often, not in every commit: each
# commit that indexes writes a new FTS5 segment and its bookkeeping, ~9 pages whatever the
# batch's size (bench/README.md, "Session 14"). A search first brings the index up to date
# (`searchable`), and a writer with nothing to do indexes what is left, so no message waits
# for the next one to become searchable.
SEARCH_INDEX_INTERVAL_S = 0.25
T = TypeVar("T")


def _configure(conn: sqlite3.Connection) -> None:
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode = WAL")
    # FULL: an acknowledged message survives power loss too; group commit pays for it.
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    # Erased customer data must not linger in free pages of the file.
    conn.execute("PRAGMA secure_delete = ON")


def _catch_up(conn: sqlite3.Connection) -> None:
    """Index messages another connection committed unindexed (a script writing to the file
    directly, a process of an older release): every commit of this store indexes its own."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        search.index_new_messages(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _nothing(conn: Tx) -> None:
    """A write whose commit only feeds the search index (`_before_commit`)."""


def _fetch_all(sql: str, params: tuple[Any, ...], conn: Tx) -> list[Row]:
    return conn.execute(sql, params).fetchall()


def _fetch_one(sql: str, params: tuple[Any, ...], conn: Tx) -> Row | None:
    cursor = conn.execute(sql, params)
    row: Row | None = cursor.fetchone()
    # A statement left open would hold its read snapshot (and the WAL) until collected.
    cast(sqlite3.Cursor, cursor).close()
    return row


def is_busy(exc: BaseException) -> bool:
    """SQLITE_BUSY in any of its extended forms ("database is locked")."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF == sqlite3.SQLITE_BUSY
    return "database is locked" in str(exc)


class _Checkpointer:
    """Copies committed WAL frames into the database file every `interval` seconds
    (`wal_checkpoint(PASSIVE)`: it takes no lock a writer or reader waits for), on a
    connection and thread of its own."""

    def __init__(self, path: str, interval: float) -> None:
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sapa-checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout = 0")
            while not self._stop.wait(self.interval):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error as exc:  # BUSY while another checkpoint runs
                    if not is_busy(exc):
                        log.warning("WAL checkpoint failed: %s", exc)
        finally:
            conn.close()


class SqliteDatabase(Database):
    def __init__(
        self,
        url: str,
        *,
        readers: int = 4,
        pool: int | None = None,
        wal_limit_frames: int = WAL_LIMIT_FRAMES,
        search_interval: float = SEARCH_INDEX_INTERVAL_S,
    ) -> None:
        super().__init__(url, readers=readers)
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all_readers: list[aiosqlite.Connection] = []
        self._inline: sqlite3.Connection | None = None  # `read_now`'s, on the loop's thread
        self._checkpointer: _Checkpointer | None = None
        self.wal_limit_frames = wal_limit_frames
        self.search_interval = search_interval
        self._index_after = 0.0  # monotonic time of the next commit that feeds the index
        self._search_behind = False  # a commit since the last feed may have added messages

    # A batch's phased jobs (`sql.Phased`) take their short way too: no savepoint, the room
    # not selected again. Nothing is pipelined (SQLite answers each statement as it runs);
    # instead the group's lookups are one statement and its appends one executemany per
    # statement: each statement run costs the writer thread a cursor, a cache lookup, its
    # B-tree cursors opened and closed (bench/README.md, "Batch appends").
    phases = True
    batches_statements = True

    @property
    def backend(self) -> str:
        return "sqlite"

    async def _open_readers(self) -> None:
        for _ in range(self._reader_count):
            conn = await aiosqlite.connect(self.path)
            conn.row_factory = sqlite3.Row
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._all_readers.append(conn)
            self._readers.put_nowait(conn)
        inline = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        inline.row_factory = sqlite3.Row
        # What a write needs of a connection (`_configure`; the file is in WAL mode already).
        inline.execute("PRAGMA foreign_keys = ON")
        inline.execute("PRAGMA secure_delete = ON")
        # Never wait on the event loop: a lock held elsewhere sends the read to a reader,
        # the write to the writer.
        inline.execute("PRAGMA busy_timeout = 0")
        # It commits only relaxed writes (`_write_now`), and never checkpoints: the log is
        # `_Checkpointer`'s to fold in.
        inline.execute("PRAGMA synchronous = NORMAL")
        inline.execute("PRAGMA wal_autocheckpoint = 0")
        self._inline = inline
        self._checkpointer = _Checkpointer(self.path, CHECKPOINT_INTERVAL_S)
        self._checkpointer.start()

    async def _close_readers(self) -> None:
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.stop)
            self._checkpointer = None
        for conn in self._all_readers:
            await conn.close()
        self._all_readers.clear()
        if self._inline is not None:
            self._inline.close()
            self._inline = None

    @contextlib.asynccontextmanager
    async def reader(self) -> AsyncIterator[aiosqlite.Connection]:
        conn = await self._readers.get()
        try:
            yield conn
        finally:
            self._readers.put_nowait(conn)

    async def read(self, fn: Callable[[Tx], T]) -> T:
        async with self.reader() as conn:
            # The whole unit in one hand-off to the reader's thread: aiosqlite's own
            # cursor API costs one per call (cursor, execute, fetch, close).
            result: T = await conn._execute(fn, conn._conn)
            return result

    async def read_now(self, fn: Callable[[Tx], T]) -> T:
        # In WAL mode a read takes no lock a writer holds; SQLITE_BUSY only comes while
        # another connection recovers or resets the log, and then the read goes to a reader.
        if self._inline is not None:
            try:
                return fn(self._inline)
            except sqlite3.OperationalError as exc:
                if not is_busy(exc):
                    raise
        return await self.read(fn)

    def _write_now(self, fn: Callable[[Tx], Any]) -> tuple[bool, Any]:
        # Only between the writer's batches (`_batch_lock`), and only when no other process
        # holds the file's write lock (busy_timeout 0: BUSY at once, and the writer takes it).
        conn = self._inline
        if conn is None or self._writer is None or not self._batch_lock.acquire(blocking=False):
            return False, None
        try:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error:
                return False, None  # BUSY, or a state this connection is in: the writer's way
            try:
                value = fn(conn)
                self._before_commit(conn)
                conn.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(Exception):
                    conn.execute("ROLLBACK")
                if is_busy(exc):
                    return False, None  # undone: the writer runs it again
                raise
        finally:
            self._batch_lock.release()
        self._inline_run += 1
        self.inline_writes += 1
        self.relaxed_batches += 1
        self.batches += 1
        self.writes += 1
        return True, value

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return await self.read(functools.partial(_fetch_all, sql, tuple(params)))

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return await self.read(functools.partial(_fetch_one, sql, tuple(params)))

    async def checkpoint(self) -> None:
        """Fold the WAL into the main file and truncate it (after an erase, for instance)."""

        def job(conn: Tx) -> None:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

        await self._submit(job, "raw")

    # -- the writer ------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            _configure(conn)
            migrate(conn)
            _catch_up(conn)
            # From here on a lock held elsewhere is retried by the writer, in short sleeps.
            conn.execute("PRAGMA busy_timeout = 0")
            # Every write walks the messages' B-trees (four indexes and the search index);
            # SQLite's default 2 MB page cache no longer holds their inner pages once the
            # file grows, and each miss is a read of the file (bench/README.md).
            conn.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
            conn.execute(f"PRAGMA wal_autocheckpoint = {self.wal_limit_frames}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _disconnect(self, conn: sqlite3.Connection) -> None:
        conn.close()

    def _tx(self, conn: sqlite3.Connection) -> Tx:
        return conn

    def _begin(self, conn: sqlite3.Connection, relaxed: bool) -> None:
        if relaxed:
            # Bulk work can be redone (an import re-run, scores recomputed), and a relaxed
            # write loses nobody's work, so their commits skip the fsync; the next chat
            # commit (FULL) syncs the log, these pages included. Power loss may undo the
            # last of them, never an acknowledged message.
            conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("BEGIN IMMEDIATE")

    def _end_relaxed(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA synchronous = FULL")

    def _is_retryable(self, exc: BaseException) -> bool:
        return is_busy(exc)

    def _before_commit(self, conn: sqlite3.Connection) -> None:
        # The only COMMIT of the writer's connection (`Database._run_batch`), and of the
        # loop's relaxed writes. Raw jobs run outside a transaction and must not insert
        # messages.
        now = time.monotonic()
        if now < self._index_after:
            self._search_behind = True
            return
        # Set first: a feed that failed (the batch is then run again, or fails) is not
        # tried again before the interval is over, by a retry or by an idle writer.
        self._index_after = now + self.search_interval
        search.index_new_messages(conn)
        self._search_behind = False

    def _idle_in(self) -> float | None:
        if not self._search_behind:
            return None
        return max(0.0, self._index_after - time.monotonic())

    async def searchable(self) -> None:
        if self._search_behind:
            self._index_after = 0.0
            await self.write(_nothing, wait_for_disk=False)

    def _run_raw(self, conn: sqlite3.Connection, fn: WriteFn) -> Any:
        # A checkpoint waits for readers; it may wait the usual busy timeout.
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        try:
            return fn(conn)
        finally:
            conn.execute("PRAGMA busy_timeout = 0")
