"""The store: every SQL statement of Sapa lives in this package.

`open_database(url)` gives the backend the URL names: PostgreSQL for `postgresql://...`,
otherwise a SQLite file at that path (store/sqlite_db.py, store/postgres_db.py).
"""

from __future__ import annotations

from chat_server.store.database import Database, is_postgres_url


def open_database(url: str, *, readers: int = 4, pool: int | None = None) -> Database:
    """The store for a database URL or SQLite path; `open()` it before use.

    `pool`: PostgreSQL's most connections for reads (SAPA_DB_POOL); SQLite ignores it.
    """
    if is_postgres_url(url):
        from chat_server.store.postgres_db import PostgresDatabase

        return PostgresDatabase(url, readers=readers, pool=pool)
    from chat_server.store.sqlite_db import SqliteDatabase

    return SqliteDatabase(url, readers=readers)


__all__ = ["Database", "is_postgres_url", "open_database"]
