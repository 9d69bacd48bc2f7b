"""The PostgreSQL backend: the shared group-commit writer on one connection, pooled reads.

Driver: psycopg 3, one library with a synchronous API (the writer thread runs the very
store functions SQLite runs, unchanged, through `PgTx`) and an asynchronous one (reads, with
psycopg_pool's bounded pool), binary wheels, pipelining and COPY.

Writes: every batch is one transaction that first takes a transaction-scoped advisory lock
shared by every process and host, so batches run one at a time, as SQLite's single writer
does, and a read-check-write unit of work (identify/merge, one private room per customer,
per-room seq, rate limits) sees every batch committed before it. A serialization failure
or deadlock (none is expected under the lock) runs the whole batch again, with jitter,
until a deadline.

Faults: connections have a connect timeout, TCP keepalives and a statement deadline, so a
database that is down or unreachable fails a write or read with `Unavailable` within seconds,
never a hang. A write whose connection was lost is never acknowledged (even after a lost
COMMIT, which may have landed: clients resend with the same client_msg_id, which is
idempotent). The writer reconnects at its next batch, the pool by itself.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolTimeout

from chat_server.errors import Unavailable
from chat_server.store.database import Database
from chat_server.store.migrations import migrate_postgres
from chat_server.store.pg_sql import PgRow, adapters, row_factory, translate
from chat_server.store.sql import Cursor, Row, Tx

T = TypeVar("T")
DEFAULT_POOL = 10
# Seconds: how long a caller may wait for the database before it is told "unavailable".
CONNECT_TIMEOUT_S = 3
POOL_WAIT_S = 5.0
# psycopg_pool doubles its wait between reconnect attempts for as long as an attempt lasts
# (1, 2, 4 ... s): after a long outage, reads would come back minutes after the database.
# An attempt given up after this long is started afresh (by a pool short of its minimum), so
# reads return within a few seconds of the database, however long it was down. (The pool
# of units has no minimum: the next unit asking for a connection starts the attempt.)
RECONNECT_TIMEOUT_S = 5.0
STATEMENT_TIMEOUT_MS = 15_000
CONNECT_OPTIONS: dict[str, Any] = {
    "connect_timeout": CONNECT_TIMEOUT_S,
    "application_name": "sapa",
    # A peer that vanished (host down, cable cut) is noticed in seconds, not hours.
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
    # No JIT: it compiled a search whose cost the planner overrated for 40 ms, ten times
    # the query's own run; the store's statements are short.
    "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"
    " -c idle_in_transaction_session_timeout=60000 -c jit=off",
}
# Connection lost or server going away: 08xxx, admin/crash shutdown, cannot connect now.
_LOST_STATES = {"57P01", "57P02", "57P03", "57014"}
_RETRY_STATES = {"40001", "40P01"}
# pg_advisory_xact_lock key that serialises write batches across processes and hosts.
WRITE_LOCK_KEY = 0x5A9A_0012

_ADAPTERS = adapters()


def _connect_kwargs() -> dict[str, Any]:
    return {**CONNECT_OPTIONS, "autocommit": True, "row_factory": row_factory}


def is_lost(exc: BaseException) -> bool:
    if not isinstance(exc, psycopg.Error):
        return False
    state = exc.sqlstate
    if state is None:
        return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
    return state.startswith("08") or state in _LOST_STATES


class PgTx:
    """A writer connection as store functions see it (`Tx`): `?` SQL, rows by name.

    Write batches run in pipeline mode: a statement is sent at once but its result is
    waited for only when it is read (a fetch, its rowcount), and then every statement
    sent so far is answered in the same round trip. A statement whose result nobody
    reads (SAVEPOINT, RELEASE, an INSERT) costs no wait of its own.
    """

    __slots__ = ("_checks", "_conn", "_pipeline", "pending")

    def __init__(self, conn: psycopg.Connection[PgRow], pipeline: psycopg.Pipeline) -> None:
        self._conn = conn
        self._pipeline = pipeline
        # Statements sent whose outcome has not come back yet.
        self.pending = False
        # (statement, check of its first row) waiting for the statement's answer.
        self._checks: collections.deque[tuple[psycopg.Cursor[PgRow], Callable[[Any], None]]]
        self._checks = collections.deque()

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor:
        # Always with a parameter sequence, so that `%%` is read as `%` even without any.
        cursor = self._conn.execute(translate(sql), tuple(parameters))  # type: ignore[arg-type]
        self.pending = True
        return _Pending(self, cursor)

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor:
        cursor = self._conn.cursor()
        cursor.executemany(translate(sql), [tuple(p) for p in parameters])  # type: ignore[arg-type]
        self.pending = True
        self.sync()  # its rowcount is the sum over every statement: all must be back
        return cursor  # type: ignore[return-value]

    def check_later(self, cursor: Cursor, check: Callable[[Any], None]) -> None:
        """See `sql.check_later`: `check` runs once the statement is answered, before the
        job is given any result that came after it."""
        assert isinstance(cursor, _Pending)
        self._checks.append((cursor.cursor, check))

    def sync(self) -> None:
        """Wait for every statement sent; raises the first failure among them."""
        if self.pending:
            self.pending = False
            try:
                self._pipeline.sync()
            except BaseException:
                self._checks.clear()  # the job failed anyway
                raise
        self.run_checks()

    def forget_checks(self) -> None:
        self._checks.clear()

    def run_checks(self) -> None:
        # Answers come in order: every check of a statement sent before an answered one
        # can run. One that raises fails the job (the rest are moot: cleared).
        checks = self._checks
        while checks and checks[0][0].pgresult is not None:
            cursor, check = checks.popleft()
            try:
                check(cursor.fetchone())
            except BaseException:
                checks.clear()
                raise


class PgReadTx:
    """A reader connection as a unit of reads sees it (`Database.read`): `?` SQL."""

    __slots__ = ("_conn",)

    def __init__(self, conn: psycopg.Connection[PgRow]) -> None:
        self._conn = conn

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor:
        cursor = self._conn.execute(translate(sql), tuple(parameters))  # type: ignore[arg-type]
        return cursor  # type: ignore[return-value]

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor:
        raise TypeError("a unit of reads does not write")


class _Pending:
    """A statement's cursor in the pipeline: reading any of its results waits for them."""

    __slots__ = ("_cursor", "_tx")

    def __init__(self, tx: PgTx, cursor: psycopg.Cursor[PgRow]) -> None:
        self._tx = tx
        self._cursor = cursor

    @property
    def cursor(self) -> psycopg.Cursor[PgRow]:
        return self._cursor

    def _answered(self) -> psycopg.Cursor[PgRow]:
        cursor = self._cursor
        if cursor.pgresult is None:
            # One round trip answers this statement and every one sent before or after it.
            self._tx.pending = True
            self._tx.sync()
        else:
            self._tx.run_checks()
        return cursor

    @property
    def rowcount(self) -> int:
        return self._answered().rowcount

    def fetchone(self) -> Any:
        return self._answered().fetchone()

    def fetchall(self) -> list[Any]:
        return self._answered().fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


_STOP = object()
# Units a lane takes at one wake-up: enough for a connect burst, few enough that the first
# unit's caller never waits long for the last one's.
LANE_BATCH = 16


class _Lane:
    """One thread that runs units of reads in turn (each as `read` would, on a connection
    of the unit pool) and answers every unit of a wake-up with one call to the event loop.

    Through `asyncio.to_thread` each unit costs a thread hand-off and a wake-up of the
    loop of its own; a burst of connecting widgets shares them here (bench/README.md,
    "Session 11").
    """

    def __init__(self, run: Callable[[Callable[[Tx], Any]], Any], loop: asyncio.AbstractEventLoop):
        self._run = run
        self._loop = loop
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="sapa-read-lane", daemon=True)
        self._thread.start()

    async def run(self, fn: Callable[[Tx], T]) -> T:
        future: asyncio.Future[T] = self._loop.create_future()
        self._queue.put((fn, future))
        return await future

    def close(self) -> None:
        self._queue.put(_STOP)
        self._thread.join()

    def _work(self) -> None:
        get, get_nowait = self._queue.get, self._queue.get_nowait
        while True:
            item = get()
            if item is _STOP:
                return
            units = [item]
            while len(units) < LANE_BATCH:
                try:
                    more = get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    self._queue.put(_STOP)  # after this wake-up's units are answered
                    break
                units.append(more)
            answers: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
            for index, (fn, future) in enumerate(units):
                try:
                    answers.append((future, self._run(fn), None))
                except Unavailable as exc:
                    # The database is down, which took up to POOL_WAIT_S to learn: every
                    # unit waiting now is told at once, rather than each waiting in turn.
                    answers.append((future, None, exc))
                    rest = [f for _, f in units[index + 1 :]] + self._drain()
                    answers.extend((f, None, Unavailable()) for f in rest)
                    break
                except Exception as exc:  # the caller's to raise, as from `read`
                    answers.append((future, None, exc))
            try:
                self._loop.call_soon_threadsafe(_answer, answers)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                return

    def _drain(self) -> list[asyncio.Future[Any]]:
        """The futures of every unit queued now (a stop stays queued)."""
        futures: list[asyncio.Future[Any]] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return futures
            if item is _STOP:
                self._queue.put(_STOP)
                return futures
            futures.append(item[1])


def _answer(answers: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, value, error in answers:
        if future.cancelled():
            continue  # its caller went away (a widget that disconnected mid-hello)
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)


class PostgresDatabase(Database):
    phases = True  # a batch's phased jobs share their round trips (`sql.Phased`)
    multirow_writes = True  # and their appends are one statement each (`sql.Written`)

    def __init__(self, url: str, *, readers: int = 4, pool: int | None = None) -> None:
        super().__init__(url, readers=readers)
        self.pool_size = max(1, pool or DEFAULT_POOL)
        # The read budget is shared: a fifth (at least one) for units of reads (`read`, a
        # widget's hello), the rest (at least one) for single reads.
        self._unit_size = max(1, self.pool_size // 5)
        self._single_size = max(1, self.pool_size - self._unit_size)
        self._pool: AsyncConnectionPool[psycopg.AsyncConnection[PgRow]] | None = None
        self._unit_pool: ConnectionPool[psycopg.Connection[PgRow]] | None = None
        self._lane: _Lane | None = None
        self._pipeline: psycopg.Pipeline | None = None  # the writer's, during a batch
        self._batch_tx: PgTx | None = None

    @property
    def backend(self) -> str:
        return "postgresql"

    # -- reads -----------------------------------------------------------------

    async def _open_readers(self) -> None:
        # What both read pools share: connection settings, waits, and reconnect attempts.
        common: dict[str, Any] = {
            "kwargs": {**_connect_kwargs(), "context": _ADAPTERS},
            "timeout": POOL_WAIT_S,
            "reconnect_timeout": RECONNECT_TIMEOUT_S,
            "open": False,
        }
        self._pool = AsyncConnectionPool(
            self.path, min_size=1, max_size=self._single_size, name="sapa-read", **common
        )
        await self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_S * 2)
        # Connections made on demand, by the first units of reads (`read`).
        self._unit_pool = ConnectionPool(
            self.path,
            min_size=0,
            max_size=self._unit_size,
            name="sapa-read-unit",
            num_workers=1,
            **common,
        )
        self._unit_pool.open()
        self._lane = _Lane(self._read_unit, asyncio.get_running_loop())

    async def _close_readers(self) -> None:
        if self._lane is not None:
            await asyncio.to_thread(self._lane.close)
            self._lane = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        if self._unit_pool is not None:
            await asyncio.to_thread(self._unit_pool.close)
            self._unit_pool = None

    async def _read(self, sql: str, params: Sequence[Any], one: bool) -> Any:
        if self._pool is None:
            raise RuntimeError("database is not open")
        query = translate(sql)
        args = tuple(params)
        # A pooled connection may have died with a restarted server; the pool drops it when
        # it comes back broken, so one more try gets a fresh one.
        for attempt in range(2):
            try:
                async with self._pool.connection() as conn:
                    cursor = await conn.execute(query, args)  # type: ignore[arg-type]
                    return await (cursor.fetchone() if one else cursor.fetchall())
            except PoolTimeout as exc:
                raise Unavailable() from exc
            except psycopg.Error as exc:
                if not is_lost(exc):
                    raise
                if attempt == 1:
                    raise Unavailable() from exc
        raise AssertionError("unreachable")

    async def read(self, fn: Callable[[Tx], T]) -> T:
        # Store functions are synchronous (the writer's, unchanged): a unit of reads runs
        # on a worker thread with a connection of the synchronous pool.
        return await asyncio.to_thread(self._read_unit, fn)

    async def read_now(self, fn: Callable[[Tx], T]) -> T:
        # The connect path's lookups come in bursts: one thread takes every one waiting at
        # each wake-up and hands all their answers back in one call (`_Lane`).
        if self._lane is None:
            raise RuntimeError("database is not open")
        return await self._lane.run(fn)

    def _read_unit(self, fn: Callable[[Tx], T]) -> T:
        pool = self._unit_pool
        if pool is None:
            raise RuntimeError("database is not open")
        for attempt in range(2):
            try:
                with pool.connection() as conn:
                    return fn(PgReadTx(conn))
            except PoolTimeout as exc:
                raise Unavailable() from exc
            except psycopg.Error as exc:
                if not is_lost(exc):
                    raise
                if attempt == 1:
                    raise Unavailable() from exc
        raise AssertionError("unreachable")

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        rows: list[Row] = await self._read(sql, params, one=False)
        return rows

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = await self._read(sql, params, one=True)
        return row

    # -- the writer --------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[PgRow]:
        conn = psycopg.connect(self.path, context=_ADAPTERS, **_connect_kwargs())
        try:
            migrate_postgres(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _disconnect(self, conn: psycopg.Connection[PgRow]) -> None:
        conn.close()

    def _is_closed(self, conn: psycopg.Connection[PgRow]) -> bool:
        return conn.closed

    @contextlib.contextmanager
    def _batch_scope(self, conn: psycopg.Connection[PgRow]) -> Iterator[None]:
        # Leaving the pipeline waits for everything still in flight, COMMIT included: the
        # batch's results are released only after that (Database._run_batch).
        with conn.pipeline() as pipeline:
            self._pipeline = pipeline
            try:
                yield
            finally:
                self._pipeline = None
                self._batch_tx = None

    def _tx(self, conn: psycopg.Connection[PgRow]) -> Tx:
        assert self._pipeline is not None
        self._batch_tx = PgTx(conn, self._pipeline)
        return self._batch_tx

    def _settle(self, tx: Tx) -> None:
        assert isinstance(tx, PgTx)
        tx.sync()

    def _recover(self, conn: psycopg.Connection[PgRow]) -> None:
        # After an error the server skips everything up to the next sync point: pass it,
        # so that ROLLBACK TO runs. What comes back meanwhile is the same failure.
        if self._pipeline is not None:
            with contextlib.suppress(psycopg.Error):
                self._pipeline.sync()
        if self._batch_tx is not None:
            self._batch_tx.forget_checks()  # the failed job's: not the next one's

    def _begin(self, conn: psycopg.Connection[PgRow], relaxed: bool) -> None:
        # Batches of every host take turns on one lock, held until COMMIT: writes are
        # serial, as on SQLite, and each statement sees every earlier batch (READ
        # COMMITTED, whose snapshots are taken after the lock is granted). Overlapping
        # SERIALIZABLE batches of two hosts writing the same rooms failed each other over
        # and over (most batches retried, acks taking seconds). Pipelined with the first
        # job's statements: no round trip of its own.
        conn.execute("BEGIN")
        conn.execute(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")
        if relaxed:
            # Bulk work can be redone (imports, re-scoring), and a relaxed write loses
            # nobody's work: their commits need not wait for the disk; the next chat
            # commit flushes the log past them anyway.
            conn.execute("SET LOCAL synchronous_commit = off")

    def _is_retryable(self, exc: BaseException) -> bool:
        return isinstance(exc, pg_errors.SerializationFailure | pg_errors.DeadlockDetected) or (
            isinstance(exc, psycopg.Error) and exc.sqlstate in _RETRY_STATES
        )

    def _is_lost(self, exc: BaseException) -> bool:
        return is_lost(exc)
