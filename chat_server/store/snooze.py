"""Snoozed conversations: the mark, and the rooms whose time has come.

A room is snoozed while `rooms.snoozed_until` is set (a time, or `UNTIL_REPLY`). The timer
finds due rooms with a read, then takes them inside a write transaction (`due`), where the
mark is cleared: a wake-up happens once, on any number of processes.
"""

from __future__ import annotations

from collections.abc import Collection

from chat_server.store.database import Database
from chat_server.store.sql import Tx


def mark(conn: Tx, room_id: str, until: str | None) -> None:
    """Snooze the room until `until` (None: wake it)."""
    conn.execute("UPDATE rooms SET snoozed_until = ? WHERE id = ?", (until, room_id))


async def due_sites(db: Database, now: str) -> list[str]:
    """Sites with a snooze whose time has come (partial index `rooms_snoozed`)."""
    rows = await db.fetch_all(
        "SELECT DISTINCT site_id FROM rooms WHERE snoozed_until IS NOT NULL AND snoozed_until <= ?",
        (now,),
    )
    return [r["site_id"] for r in rows]


def due(conn: Tx, now: str, site_ids: Collection[str], limit: int) -> list[tuple[str, str]]:
    """(site_id, room_id) of rooms of `site_ids` due at `now`, oldest snooze first."""
    if not site_ids:
        return []
    ids = sorted(site_ids)
    marks = ", ".join("?" for _ in ids)
    rows = conn.execute(
        "SELECT site_id, id FROM rooms WHERE snoozed_until IS NOT NULL AND snoozed_until <= ?"
        f" AND site_id IN ({marks}) ORDER BY snoozed_until, id LIMIT ?",
        (now, *ids, limit),
    ).fetchall()
    return [(r["site_id"], r["id"]) for r in rows]
