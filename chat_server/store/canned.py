"""Canned responses of a site: the site's own (owner_key '') and each agent's personal ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chat_server.ids import new_id, now_iso
from chat_server.store.database import Database
from chat_server.store.sql import Row, Tx

SITE_KEY = ""  # owner_key of the site's shared responses


@dataclass(frozen=True, slots=True)
class CannedResponse:
    id: str
    shortcut: str
    body: str
    owner_agent_id: str | None  # None: the site's
    updated_at: str

    @property
    def scope(self) -> str:
        return "site" if self.owner_agent_id is None else "personal"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "shortcut": self.shortcut,
            "body": self.body,
            "scope": self.scope,
            "updated_at": self.updated_at,
        }


def _record(row: Row) -> CannedResponse:
    owner = row["owner_key"] or None
    return CannedResponse(row["id"], row["shortcut"], row["body"], owner, row["updated_at"])


async def visible(db: Database, site_id: str, agent_id: str) -> list[CannedResponse]:
    """The site's responses and this agent's own, by shortcut (personal first on a tie)."""
    rows = await db.fetch_all(
        "SELECT * FROM canned_responses WHERE site_id = ? AND owner_key IN (?, ?)"
        " ORDER BY shortcut, owner_key DESC",
        (site_id, SITE_KEY, agent_id),
    )
    return [_record(r) for r in rows]


async def get(db: Database, site_id: str, canned_id: str) -> CannedResponse | None:
    row = await db.fetch_one(
        "SELECT * FROM canned_responses WHERE id = ? AND site_id = ?", (canned_id, site_id)
    )
    return _record(row) if row else None


def count(conn: Tx, site_id: str, owner_key: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM canned_responses WHERE site_id = ? AND owner_key = ?",
        (site_id, owner_key),
    ).fetchone()
    return int(row[0])


def insert(
    conn: Tx, site_id: str, owner_key: str, shortcut: str, body: str
) -> CannedResponse | None:
    """None when the shortcut is taken in that scope."""
    now = now_iso()
    row = conn.execute(
        "INSERT INTO canned_responses (id, site_id, owner_key, shortcut, body, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (site_id, owner_key, shortcut) DO NOTHING RETURNING *",
        (new_id("cnd"), site_id, owner_key, shortcut, body, now, now),
    ).fetchone()
    return _record(row) if row else None


def update(
    conn: Tx, site_id: str, canned_id: str, shortcut: str, body: str
) -> CannedResponse | None:
    """None when another response of that scope has the shortcut."""
    row = conn.execute(
        "SELECT owner_key FROM canned_responses WHERE id = ? AND site_id = ?", (canned_id, site_id)
    ).fetchone()
    taken = conn.execute(
        "SELECT 1 FROM canned_responses WHERE site_id = ? AND owner_key = ? AND shortcut = ?"
        " AND id != ?",
        (site_id, row["owner_key"], shortcut, canned_id),
    ).fetchone()
    if taken:
        return None
    updated = conn.execute(
        "UPDATE canned_responses SET shortcut = ?, body = ?, updated_at = ?"
        " WHERE id = ? AND site_id = ? RETURNING *",
        (shortcut, body, now_iso(), canned_id, site_id),
    ).fetchone()
    return _record(updated)


def delete(conn: Tx, site_id: str, canned_id: str) -> None:
    conn.execute("DELETE FROM canned_responses WHERE id = ? AND site_id = ?", (canned_id, site_id))
