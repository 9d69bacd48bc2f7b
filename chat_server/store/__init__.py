"""The store: every SQL statement of Sapa lives in this package."""

from __future__ import annotations

from chat_server.store.database import Database


def open_database(url: str) -> Database:
    """The store for a database URL or SQLite path; `open()` it before use."""
    return Database(url)


__all__ = ["Database", "open_database"]
