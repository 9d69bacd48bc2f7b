"""The shapes every backend's connection has inside the store: a transaction and its rows.

Store functions are written once against these protocols and run unchanged on SQLite
(`sqlite3.Connection` fits them as it is) and on PostgreSQL (`postgres_db.PgTx`, which
translates the SQL: store/pg_sql.py). There is no `lastrowid`: use `RETURNING`. Nothing outside
`chat_server.store` runs a statement: services receive a `Tx` only to pass it back to store
functions inside one unit of work.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")


class Row(Protocol):
    """A result row, addressed by column name (or position)."""

    def __getitem__(self, key: Any, /) -> Any: ...

    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Tx(Protocol):
    """One open transaction of the store; see `Database.write`."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor: ...


def check_later(conn: Tx, cursor: Cursor, check: Callable[[Any], None]) -> None:
    """Run `check` on the statement's first row before the job reads anything sent after it.

    SQLite runs it now. PostgreSQL's write batches (store/postgres_db.py, pipeline mode)
    run it when the job next waits for an answer, which then answers this statement too:
    a check that may fail the job (an erased customer) rides with the job's next read
    instead of costing a round trip of its own. A failing check fails the job before it
    sees any later result, as if it had run at once.
    """
    later = getattr(conn, "check_later", None)
    if later is None:
        check(cursor.fetchone())
    else:
        later(cursor, check)


# The one statement that does what a deferred statement does for each of `rows`: its SQL
# and parameters (PostgreSQL: arrays, one per column, `unnest`ed).
Multirow = Callable[[list[Sequence[Any]]], tuple[str, Sequence[Any]]]


class Written:
    """What the earlier jobs of a phased group wrote (see `Phased`): the rooms they appended
    to or looked up, and the customers whose room they looked for.

    `batched` (SQLite): the group's lookups of one kind may be asked in one statement (kept
    in `shared`, by the store module's own key), once the first of them is read.
    `defers` (both backends, for groups of more than one): `defer` holds a write whose answer
    nobody reads until `flush`, which runs each SQL text once over all its rows: with
    `executemany` (SQLite), or as the one statement its `Multirow` form makes (`multirow`,
    PostgreSQL: each statement executed costs the server more than the row it writes).
    Otherwise each statement is sent at once, as a plain job would send it."""

    __slots__ = (
        "_deferred",
        "_multirow",
        "batched",
        "customers",
        "defers",
        "multirow",
        "rooms",
        "shared",
    )

    def __init__(
        self, batched: bool = False, *, defers: bool | None = None, multirow: bool = False
    ) -> None:
        self.rooms: set[str] = set()
        self.customers: set[str] = set()
        self.batched = batched
        self.defers = batched if defers is None else defers
        self.multirow = multirow
        self.shared: dict[object, Any] = {}
        self._deferred: dict[str, list[Sequence[Any]]] = {}
        self._multirow: dict[str, Multirow] = {}

    def defer(
        self, conn: Tx, sql: str, params: Sequence[Any], multirow: Multirow | None = None
    ) -> None:
        """Run a write whose answer nobody reads: now, or (`defers`) at `flush`.

        Deferred statements run by SQL text, in the order each text was first deferred, and
        each text's rows in the order given: a group's jobs may defer only statements that
        do not read what another job's deferred statements write. `multirow` makes the one
        statement for many rows."""
        if not self.defers:
            conn.execute(sql, params)
            return
        rows = self._deferred.get(sql)
        if rows is None:
            self._deferred[sql] = [params]
            if multirow is not None:
                self._multirow[sql] = multirow
        else:
            rows.append(params)

    def flush(self, conn: Tx) -> None:
        """Run what `defer` held: one statement run per SQL text. Its error is the group's
        (the batch then runs again, job by job, as after any error of a group)."""
        deferred, self._deferred = self._deferred, {}
        for sql, rows in deferred.items():
            many = self._multirow.get(sql) if self.multirow and len(rows) > 1 else None
            if many is not None:
                conn.execute(*many(rows))
            else:
                conn.executemany(sql, rows)


class Phased(ABC, Generic[T]):
    """A unit of work that a batch may run in phases, without a savepoint of its own.

    Called as a plain job (`db.write(job)`: `job(conn)`) it runs whole, one statement after
    another: that is what a batch does after a phased attempt failed. A write batch
    (store/database.py) first calls `look` on every phased job, then `write` on each in
    turn: it reads its answers, writes, and returns how to build its result once the batch
    is committed. No savepoint, no room selected again. On PostgreSQL the lookups are sent
    without waiting and answered together in one round trip, and the writes go with the
    COMMIT. On SQLite (`Written.batched`) the lookups of one kind are one statement, and
    the writes one `executemany` per statement for the whole group (`Written.flush`).
    `write` returns None when it cannot take the short way (its lookup may be stale because
    an earlier job of the group wrote the same room, or the job has more to do than the
    short way covers): the job then runs whole after the group. Both must have no effect
    but their statements: a failed group runs again, job by job.
    """

    @abstractmethod
    def __call__(self, conn: Tx, /) -> T: ...

    @abstractmethod
    def look(self, conn: Tx, written: Written) -> None: ...

    @abstractmethod
    def write(self, conn: Tx, written: Written) -> Callable[[], T] | None: ...
