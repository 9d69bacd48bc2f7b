"""Whether the database answers at all (readiness)."""

from __future__ import annotations

from chat_server.store.database import Database


async def ping(db: Database) -> None:
    """Raise when the database cannot answer a trivial query."""
    await db.fetch_one("SELECT 1")
