"""The shapes every backend's connection has inside the store: a transaction and its rows.

Store functions are written once against these protocols and run unchanged on SQLite
(`sqlite3.Connection` fits them as it is) and on PostgreSQL (`postgres_db.PgTx`, which
translates the SQL: store/pg_sql.py). There is no `lastrowid`: use `RETURNING`. Nothing outside
`chat_server.store` runs a statement: services receive a `Tx` only to pass it back to store
functions inside one unit of work.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol


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
