"""The store as the layers above services see it: one opaque handle, opened and checked here.

web/ holds a `Store` and passes it to services; it never runs store functions itself.
"""

from __future__ import annotations

from chat_server.store import Database, open_database

Store = Database


async def open_store(url: str) -> Store:
    store = open_database(url)
    await store.open()
    return store


async def ping(store: Store) -> None:
    """Raise when the database cannot answer a trivial query (readiness)."""
    await store.fetch_one("SELECT 1")
