"""The store handle: one writer thread with group commit, and async reads, on either backend.

`chat_server.store.open_database(url)` opens SQLite for a path and PostgreSQL for a `postgresql://` URL; both
subclasses (store/sqlite_db.py, store/postgres_db.py) share everything here and differ only
in how they connect, begin, retry and read.

Writes are plain functions run on one thread in batches: everything queued while the
previous batch committed goes into the next transaction, each in its own savepoint so that
one failing write does not undo its neighbours. Awaiting a whole batch instead of each
statement is what keeps the store ahead of many senders. Results are released only after
COMMIT: an acknowledgement never precedes durability. A batch's results go back to the event
loop in one thread-safe call that settles every job's future there: one wake-up of the loop
per batch, not one per job.

Bulk work (RFM re-scoring, imports) goes through a second, lower lane: one bulk chunk at a
time, in a transaction of its own, and only when no chat write is waiting, so a chat write
waits at most one short chunk behind bulk work.

Another writer (another process on SQLite, another host on PostgreSQL) may conflict with a
batch: the backend says which errors mean "run the whole batch again" (a locked file, a
serialization failure) and the writer retries with short sleeps until a deadline.
"""

from __future__ import annotations

import abc
import asyncio
import collections
import contextlib
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, Literal, TypeVar

from chat_server.errors import Unavailable
from chat_server.histogram import Histogram
from chat_server.store.sql import Phased, Row, Tx, Written

log = logging.getLogger(__name__)
T = TypeVar("T")
WriteFn = Callable[[Any], Any]
# "tx": grouped into the next transaction; "raw": alone, outside any transaction;
# "bulk": alone in its own transaction, only when no "tx" job is waiting.
Lane = Literal["tx", "soon", "raw", "bulk"]
Job = tuple[WriteFn, "asyncio.Future[Any]", Lane]
# (future, succeeded, result or exception), settled on the future's own loop.
Outcome = tuple["asyncio.Future[Any]", bool, Any]

MAX_BATCH = 256
# How long a batch keeps retrying conflicts with other writers before it fails.
BUSY_DEADLINE_S = 30.0
BUSY_SLEEPS_S = (0.0005, 0.001, 0.002)
# Relaxed writes in a row a backend may commit on the event loop's own connection
# (`_write_now`) before the next goes to the writer, whose commits fold the log back into
# the file (SQLite's checkpoint: file I/O the loop never does).
INLINE_RUN = 64


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


class Retry(Exception):
    """A job hit a conflict with another writer: the whole batch is run again."""


class Database(abc.ABC):
    """The store of one process; `chat_server.store.open_database(url)` picks the backend."""

    path: str
    # Whether phased jobs (`sql.Phased`) run as groups; otherwise they run whole.
    phases = False
    # Whether a group's statements are batched (SQLite, `sql.Written.batched`): one lookup
    # statement for the group, one executemany per write statement. Otherwise (PostgreSQL)
    # each is sent on its own, pipelined.
    batches_statements = False
    # Whether a group's deferred writes run as one multi-row statement each where the store
    # gives one (PostgreSQL, `sql.Written.multirow`) rather than one execution per row.
    multirow_writes = False

    def __init__(self, url: str, *, readers: int = 4) -> None:
        self.path = url
        self._reader_count = readers
        # (function, future, lane) or None to stop.
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self.batches = 0
        self.writes = 0
        self.busy_retries = 0
        self.bulk_chunks = 0
        self.relaxed_batches = 0  # batches of writes only that need not wait for the disk
        self.inline_writes = 0  # of those, written on the event loop's thread (`_write_now`)
        # Held by the writer thread around each batch: a relaxed write runs on the loop's
        # thread only while the writer is between batches, so the two never collide.
        self._batch_lock = threading.Lock()
        self._inline_run = 0  # inline writes since the writer's last batch
        # Jobs that took the pipelined way (`sql.Phased`), and groups that failed and ran
        # again job by job.
        self.grouped_jobs = 0
        self.ungrouped = 0
        self._grouped = False
        # Each batch's end, from the search index's feed through COMMIT (the fsync on
        # SQLite, the round trip on PostgreSQL): every ack of the batch waits for it.
        self.commit_seconds = Histogram()

    @property
    @abc.abstractmethod
    def backend(self) -> str: ...

    # -- the public API ------------------------------------------------------

    async def open(self) -> None:
        ready: Future[None] = Future()
        self._writer = threading.Thread(
            target=self._write_loop, args=(ready,), name="sapa-writer", daemon=True
        )
        self._writer.start()
        await asyncio.wrap_future(ready)
        await self._open_readers()

    async def close(self) -> None:
        if self._writer is not None:
            self._jobs.put(None)
            await asyncio.to_thread(self._writer.join)
            self._writer = None
        await self._close_readers()

    async def write(self, fn: Callable[[Tx], T], *, wait_for_disk: bool = True) -> T:
        """Run `fn` inside the next group-commit transaction; return once it is durable.

        `wait_for_disk=False` returns once it is committed, without waiting for the disk,
        for what a power cut may lose at no cost to anyone (a visit's time; a widget token's
        row, written just before the durable write of the action that needs it). A batch holding only such writes commits without an fsync; any durable
        write syncs the log later, theirs included, in commit order. A message, or anything
        a person did, never takes this way.
        """
        if not wait_for_disk and not isinstance(fn, Phased) and self._inline_run < INLINE_RUN:
            done, value = self._write_now(fn)
            if done:
                return value  # type: ignore[no-any-return]
        return await self._submit(fn, "tx" if wait_for_disk else "soon")

    def _write_now(self, fn: Callable[[Tx], Any]) -> tuple[bool, Any]:
        """Commit a relaxed write on the calling (event loop's) thread if that costs no wait:
        (True, its result), or (False, None) and it goes to the writer thread.

        A one-row write that need not wait for the disk costs the writer thread's hand-off
        (its wake-up, the interpreter lock passed back and forth, the loop woken with the
        result) two to three times the write itself (bench/README.md, "Relaxed writes on the
        loop"). Backends without a connection of the loop's own never take this way.
        """
        return False, None

    async def write_bulk(self, fn: Callable[[Tx], T]) -> T:
        """Run one chunk of bulk work in its own short transaction, behind every chat write.

        `fn` must be bounded (a few hundred rows, a few ms): it holds locks while it runs.
        It may be run again from the start after a conflict with another writer.
        """
        return await self._submit(fn, "bulk")

    def _idle_in(self) -> float | None:
        """Seconds the writer may wait for a job before it runs an empty batch for the
        backend's upkeep (`_before_commit`); None: it has none."""
        return None

    async def searchable(self) -> None:
        """Every message committed before this call is found by search once it returns."""
        return None  # a backend that indexes in every commit is always up to date

    async def checkpoint(self) -> None:
        """Make deleted data leave the write-ahead log (after an erase, for instance)."""
        return None  # a backend without a log of its own to fold has nothing to do

    @abc.abstractmethod
    async def read(self, fn: Callable[[Tx], T]) -> T:
        """Run `fn`, a few reads on one reader connection, in one hop off the event loop.

        A request that needs several reads (a widget's hello) waits for one hand-off to a
        reader thread instead of one per statement. `fn` must only read (it may be run
        again after a lost connection), through store functions taking `conn: Tx`.
        """

    async def read_now(self, fn: Callable[[Tx], T]) -> T:
        """`read` for a few indexed lookups that the event loop may answer itself.

        Where a hand-off to a reader costs more than such a read (SQLite: two to three times
        an indexed lookup, in CPU), the backend runs `fn` on the calling thread when it can
        do so without waiting; otherwise, and on any other backend, this is `read`. For the
        connect path's lookups (a site by key, a widget's hello), never for scans.
        """
        return await self.read(fn)

    @abc.abstractmethod
    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    @abc.abstractmethod
    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    # -- what a backend provides -----------------------------------------------

    @abc.abstractmethod
    async def _open_readers(self) -> None: ...

    @abc.abstractmethod
    async def _close_readers(self) -> None: ...

    @abc.abstractmethod
    def _connect(self) -> Any:
        """The writer's connection, schema migrated; called again after a lost connection."""

    @abc.abstractmethod
    def _disconnect(self, conn: Any) -> None: ...

    @abc.abstractmethod
    def _tx(self, conn: Any) -> Tx:
        """What jobs receive: the connection itself, or an adapter speaking `?` SQL."""

    @abc.abstractmethod
    def _begin(self, conn: Any, relaxed: bool) -> None:
        """Open a write transaction; `relaxed`: its COMMIT need not wait for the disk."""

    def _end_relaxed(self, conn: Any) -> None:
        """Undo what `_begin(relaxed=True)` changed on the connection, after the transaction."""
        return None

    @abc.abstractmethod
    def _is_retryable(self, exc: BaseException) -> bool:
        """A conflict with another writer: the batch may run again from the start."""

    def _is_lost(self, exc: BaseException) -> bool:
        """The connection to the database is gone (server down, restarted, unreachable)."""
        return False

    def _is_closed(self, conn: Any) -> bool:
        return False

    def _run_raw(self, conn: Any, fn: WriteFn) -> Any:
        return fn(conn)

    def _before_commit(self, conn: Any) -> None:
        """Last work inside every write transaction, just before its COMMIT (SQLite: the
        batch's new messages into the search index)."""
        return None

    def _batch_scope(self, conn: Any) -> contextlib.AbstractContextManager[Any]:
        """Around one attempt at a batch, COMMIT included (PostgreSQL: pipeline mode)."""
        return contextlib.nullcontext()

    def _settle(self, tx: Tx) -> None:
        """Raise now any error of the job's statements still in flight (PostgreSQL's
        pipeline), so that it is that job's failure and not a later one's."""
        return None

    def _recover(self, conn: Any) -> None:
        """After a job failed: make the connection take statements again (ROLLBACK TO)."""
        return None

    # -- the writer thread ---------------------------------------------------

    def _submit(self, fn: Callable[[Tx], T], lane: Lane) -> asyncio.Future[T]:
        if self._writer is None:
            raise RuntimeError("database is not open")
        # Settled by the writer through the loop (`_hand_back`); a caller cancelled before its
        # job started is skipped (`_started`), as a cancelled concurrent future would be.
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._jobs.put((fn, future, lane))
        return future

    @staticmethod
    def _started(job: Job) -> bool:
        # Read from the writer thread: a future cancelled just after this check still has
        # its job run; its result is then dropped by `_settle_all`.
        return not job[1].done()

    @staticmethod
    def _hand_back(outcomes: list[Outcome]) -> None:
        """Settle the futures on their loops: one `call_soon_threadsafe` per loop."""
        if not outcomes:
            return
        loop = outcomes[0][0].get_loop()
        if all(o[0].get_loop() is loop for o in outcomes):
            by_loop = {loop: outcomes}
        else:
            by_loop = {}
            for outcome in outcomes:
                by_loop.setdefault(outcome[0].get_loop(), []).append(outcome)
        for target, settled in by_loop.items():
            if target.is_closed():
                continue  # nobody is waiting any more
            with contextlib.suppress(RuntimeError):  # closed meanwhile
                target.call_soon_threadsafe(_settle_all, settled)

    def _write_loop(self, ready: Future[None]) -> None:
        try:
            conn: Any = self._connect()
        except BaseException as exc:
            ready.set_exception(exc)
            return
        ready.set_result(None)
        self._conn: Any = conn
        bulk: collections.deque[Job] = collections.deque()
        try:
            while True:
                if bulk:
                    try:
                        first = self._jobs.get_nowait()
                    except queue.Empty:
                        # Nothing from the chat path is waiting: one bulk chunk may run.
                        chunk = bulk.popleft()
                        if self._started(chunk):
                            with self._batch_lock:
                                done = self._run_batch([chunk], bulk=True)
                            self._hand_back(done)
                        continue
                else:
                    idle = self._idle_in()
                    try:
                        first = self._jobs.get() if idle is None else self._jobs.get(timeout=idle)
                    except queue.Empty:
                        # Nothing came: an empty batch, whose commit does the backend's own
                        # upkeep (SQLite: the search index catches up).
                        with self._batch_lock:
                            self._run_batch([])
                        continue
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
                # Released before the callers hear back: one who writes again at once finds
                # the writer between batches.
                with self._batch_lock:
                    outcomes = self._run_jobs(batch)
                    self._inline_run = 0
                self._hand_back(outcomes)
                if stop:
                    self._drop(bulk)
                    return
        finally:
            if self._conn is not None:
                self._disconnect(self._conn)

    def _drop(self, bulk: collections.deque[Job]) -> None:
        closed = RuntimeError("database closed")
        self._hand_back([(future, False, closed) for _, future, _ in bulk])

    def _run_jobs(self, jobs: list[Job]) -> list[Outcome]:
        """Transactional jobs are grouped; the rare job that must run outside one runs alone."""
        batch: list[Job] = []
        outcomes: list[Outcome] = []
        # A job whose caller was cancelled before it started is dropped.
        for job in [j for j in jobs if self._started(j)]:
            if job[2] in ("tx", "soon"):
                batch.append(job)
                continue
            if batch:
                outcomes += self._run_batch(batch)
                batch = []
            fn, future, _ = job
            try:
                outcomes.append((future, True, self._run_raw(self._live(), fn)))
            except Exception as exc:
                outcomes.append((future, False, self._public(exc)))
        if batch:
            outcomes += self._run_batch(batch)
        return outcomes

    def _live(self) -> Any:
        """The writer's connection, reconnecting after it was lost (raises Unavailable)."""
        if self._conn is not None and self._is_closed(self._conn):
            self._lose()
        if self._conn is None:
            try:
                self._conn = self._connect()
            except Exception as exc:
                raise Unavailable() from exc
        return self._conn

    def _lose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                self._disconnect(conn)

    def _public(self, exc: Exception) -> Exception:
        if self._is_lost(exc):
            self._lose()
            return Unavailable()
        return exc

    def _attempt(
        self, conn: Any, batch: list[Job], relaxed: bool, phased: bool = False
    ) -> list[tuple[bool, Any]]:
        tx = self._tx(conn)
        self._begin(conn, relaxed)
        if phased and any(isinstance(job[0], Phased) for job in batch):
            return self._attempt_phased(conn, tx, batch)
        return self._run_each(conn, tx, batch, relaxed)

    def _attempt_phased(self, conn: Any, tx: Tx, batch: list[Job]) -> list[tuple[bool, Any]]:
        """The phased jobs as one group (`sql.Phased`): every lookup, then every write; the
        other jobs after them. PostgreSQL: the lookups in one round trip, the writes'
        answers with the COMMIT's. SQLite: a lookup statement and an executemany per write
        statement for the whole group.

        A batch's jobs were all in flight at once, so any order of them is one their callers
        could have seen. A result is a `_Later` (built once the batch is committed). An
        error of the group raises `_Ungroup`: the batch runs again, job by job.
        """
        phased = {i: job[0] for i, job in enumerate(batch) if isinstance(job[0], Phased)}
        rest = [i for i in range(len(batch)) if i not in phased]
        results: dict[int, tuple[bool, Any]] = {}
        self._grouped = True
        try:
            # A group of one gains nothing from batching and would pay its fixed costs.
            group = len(phased) > 1
            written = Written(
                batched=self.batches_statements and group,
                defers=(self.batches_statements or self.multirow_writes) and group,
                multirow=self.multirow_writes,
            )
            for job in phased.values():
                job.look(tx, written)
            self._settle(tx)  # PostgreSQL: one round trip answers every lookup (and BEGIN)
            for i, job in phased.items():
                later = job.write(tx, written)
                if later is None:
                    rest.append(i)  # runs whole, after the group
                else:
                    results[i] = (True, _Later(later))
            written.flush(tx)  # the group's appends: one statement run per SQL text
            if rest:
                # The group's writes must be in before a job with effects outside the
                # transaction runs: a failure after it would run it again.
                self._settle(tx)
        except Exception as exc:
            if self._is_retryable(exc) or self._is_lost(exc):
                raise Retry from exc
            raise _Ungroup from exc
        self.grouped_jobs += len(results)
        rest.sort()
        others = self._run_each(conn, tx, [batch[i] for i in rest], False, alone=False)
        results.update(zip(rest, others, strict=True))
        return [results[i] for i in range(len(batch))]

    def _run_each(
        self, conn: Any, tx: Tx, batch: list[Job], relaxed: bool, alone: bool = True
    ) -> list[tuple[bool, Any]]:
        """The jobs one after another, each in its own savepoint (not one alone)."""
        outcomes: list[tuple[bool, Any]] = []
        if alone and len(batch) == 1:
            # Alone in its transaction, a job needs no savepoint: two statements fewer.
            try:
                value = batch[0][0](tx)
                self._settle(tx)
                return [(True, value)]
            except Exception as exc:
                if self._is_retryable(exc) or self._is_lost(exc):
                    raise Retry from exc
                self._recover(conn)
                conn.execute("ROLLBACK")
                self._begin(conn, relaxed)
                return [(False, exc)]
        for fn, _, _ in batch:
            tx.execute("SAVEPOINT job")
            try:
                value = fn(tx)
                self._settle(tx)
                outcomes.append((True, value))
                tx.execute("RELEASE job")
            except Exception as exc:
                if self._is_retryable(exc) or self._is_lost(exc):
                    raise Retry from exc
                self._recover(conn)
                tx.execute("ROLLBACK TO job")
                tx.execute("RELEASE job")
                outcomes.append((False, exc))
        return outcomes

    def _run_batch(self, batch: list[Job], bulk: bool = False) -> list[Outcome]:
        deadline = time.monotonic() + BUSY_DEADLINE_S
        attempt = 0
        if bulk:
            self.bulk_chunks += 1
        # Bulk chunks can be redone, and a batch of writes that need not wait for the disk
        # (`write(wait_for_disk=False)`) loses nobody's work: neither waits for an fsync.
        relaxed = bulk or all(job[2] == "soon" for job in batch)
        if relaxed and not bulk and batch:  # (an empty batch is the backend's upkeep)
            self.relaxed_batches += 1
        # Phased jobs go in one pipelined group (PostgreSQL); after a failed group the batch
        # runs again job by job, so that each failure is its own job's.
        phased = self.phases and not bulk
        while True:
            self._grouped = False
            try:
                conn = self._live()
                try:
                    with self._batch_scope(conn):
                        outcomes = self._attempt(conn, batch, relaxed, phased)
                        began = time.perf_counter()
                        self._before_commit(conn)
                        conn.execute("COMMIT")
                        self.commit_seconds.observe(time.perf_counter() - began)
                finally:
                    if relaxed and self._conn is not None:
                        with contextlib.suppress(Exception):
                            self._end_relaxed(conn)
                break
            except Exception as exc:
                cause = exc.__cause__ if isinstance(exc, Retry | _Ungroup) else exc
                assert cause is None or isinstance(cause, Exception)
                lost = isinstance(exc, Unavailable) or (cause is not None and self._is_lost(cause))
                if lost:
                    self._lose()
                else:
                    with contextlib.suppress(Exception):
                        conn.execute("ROLLBACK")
                if (
                    self._grouped
                    and not lost
                    and not isinstance(exc, Retry)
                    and not (cause is not None and self._is_retryable(cause))
                ):
                    # A group's statement failed (its error may have come with the COMMIT):
                    # nothing of the batch was committed; again, each job on its own.
                    self.ungrouped += 1
                    phased = False
                    continue
                retry = not lost and (
                    isinstance(exc, Retry) or (cause is not None and self._is_retryable(cause))
                )
                # A lost connection fails the batch at once: the clients are told
                # "unavailable" and resend (idempotently). After a lost COMMIT nobody knows
                # whether it landed, so it is never run again here.
                if retry and time.monotonic() < deadline:
                    self.busy_retries += 1
                    sleep = BUSY_SLEEPS_S[min(attempt, len(BUSY_SLEEPS_S) - 1)]
                    # Jitter: two hosts that collided must not collide again in lockstep.
                    time.sleep(sleep * (1 + random.random()))
                    attempt += 1
                    continue
                if lost:
                    log.warning("write batch failed: database unavailable (%s)", cause)
                    error: Exception = Unavailable()
                else:
                    log.exception("write batch failed")
                    error = cause if cause is not None else exc
                return [(future, False, error) for _, future, _ in batch]
        if batch:  # (an empty batch is the backend's upkeep)
            self.batches += 1
        self.writes += len(batch)
        # Results are released only after COMMIT: an ack never precedes durability.
        return [
            (future, *_built(ok, value))
            for (ok, value), (_, future, _) in zip(outcomes, batch, strict=True)
        ]


class _Ungroup(Exception):
    """A phased group failed: the batch runs again without groups."""


class _Later:
    """A phased job's result, built from its answers once the batch is committed."""

    __slots__ = ("build",)

    def __init__(self, build: Callable[[], Any]) -> None:
        self.build = build


def _built(ok: bool, value: Any) -> tuple[bool, Any]:
    if not isinstance(value, _Later):
        return ok, value
    try:
        return True, value.build()
    except Exception as exc:  # its answers are in: only a bug of the job itself
        log.exception("a phased job's result could not be built")
        return False, exc


def _settle_all(outcomes: list[Outcome]) -> None:
    """On the loop: give each job's caller its own result or its own exception."""
    for future, ok, value in outcomes:
        if future.done():
            continue  # the caller was cancelled while the job ran
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
