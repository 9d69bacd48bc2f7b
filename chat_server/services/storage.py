"""The store as the layers above services see it: one opaque handle, opened and checked here.

web/ and the CLI hold a `Store` and pass it to services; they never run store functions
themselves.
"""

from __future__ import annotations

from chat_server.store import Database, health, open_database

Store = Database


async def open_store(url: str, *, pool: int | None = None) -> Store:
    store = open_database(url, pool=pool)
    await store.open()
    return store


async def ping(store: Store) -> None:
    """Raise when the database cannot answer a trivial query (readiness)."""
    await health.ping(store)
