"""FAQ entries, phrasings, revisions and suggestion events."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from chat_server.domain.faq_rules import FaqFields
from chat_server.ids import new_id, now_iso
from chat_server.store.database import Database


@dataclass(frozen=True, slots=True)
class Phrasing:
    id: str
    text: str
    source: str
    created_at: str


@dataclass(frozen=True, slots=True)
class FaqEntry:
    id: str
    site_id: str
    question: str
    answer: str
    category: str
    tags: tuple[str, ...]
    lang: str
    status: str
    position: int
    created_at: str
    updated_at: str
    phrasings: tuple[Phrasing, ...] = field(default=())


def _entry(row: sqlite3.Row, phrasings: tuple[Phrasing, ...] = ()) -> FaqEntry:
    return FaqEntry(
        row["id"],
        row["site_id"],
        row["question"],
        row["answer"],
        row["category"],
        tuple(json.loads(row["tags"])),
        row["lang"],
        row["status"],
        row["position"],
        row["created_at"],
        row["updated_at"],
        phrasings,
    )


def _phrasing(row: sqlite3.Row) -> Phrasing:
    return Phrasing(row["id"], row["text"], row["source"], row["created_at"])


# -- writes (writer thread) -------------------------------------------------


def bump_revision(conn: sqlite3.Connection, site_id: str) -> None:
    conn.execute(
        "INSERT INTO faq_revisions (site_id, revision) VALUES (?, 1)"
        " ON CONFLICT (site_id) DO UPDATE SET revision = revision + 1",
        (site_id,),
    )


def insert_entry(conn: sqlite3.Connection, site_id: str, fields: FaqFields) -> str:
    entry_id, now = new_id("faq"), now_iso()
    position = conn.execute(
        "SELECT COALESCE(max(position), 0) + 1 FROM faq_entries WHERE site_id = ?", (site_id,)
    ).fetchone()[0]
    conn.execute(
        "INSERT INTO faq_entries (id, site_id, question, answer, category, tags, lang, status,"
        " position, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            entry_id,
            site_id,
            fields.question,
            fields.answer,
            fields.category or "",
            json.dumps(list(fields.tags or ())),
            fields.lang or "id",
            fields.status or "published",
            position,
            now,
            now,
        ),
    )
    for text in fields.phrasings or ():
        add_phrasing(conn, site_id, entry_id, text, "manual")
    bump_revision(conn, site_id)
    return entry_id


def update_entry(conn: sqlite3.Connection, site_id: str, entry_id: str, fields: FaqFields) -> bool:
    changes: dict[str, Any] = {
        "question": fields.question,
        "answer": fields.answer,
        "category": fields.category,
        "tags": json.dumps(list(fields.tags)) if fields.tags is not None else None,
        "lang": fields.lang,
        "status": fields.status,
    }
    sets = {k: v for k, v in changes.items() if v is not None}
    sets["updated_at"] = now_iso()
    assignments = ", ".join(f"{column} = ?" for column in sets)
    cursor = conn.execute(
        f"UPDATE faq_entries SET {assignments} WHERE id = ? AND site_id = ?",
        (*sets.values(), entry_id, site_id),
    )
    if cursor.rowcount == 0:
        return False
    if fields.phrasings is not None:
        # The manual list is replaced; learnt phrasings are kept until removed one by one.
        conn.execute(
            "DELETE FROM faq_phrasings WHERE faq_id = ? AND source = 'manual'", (entry_id,)
        )
        for text in fields.phrasings:
            add_phrasing(conn, site_id, entry_id, text, "manual")
    bump_revision(conn, site_id)
    return True


def delete_entry(conn: sqlite3.Connection, site_id: str, entry_id: str) -> bool:
    cursor = conn.execute(
        "DELETE FROM faq_entries WHERE id = ? AND site_id = ?", (entry_id, site_id)
    )
    if cursor.rowcount:
        bump_revision(conn, site_id)
    return cursor.rowcount > 0


def reorder(conn: sqlite3.Connection, site_id: str, ids: list[str]) -> int:
    """Put `ids` first, in that order; the others keep their relative order after them."""
    rows = conn.execute(
        "SELECT id FROM faq_entries WHERE site_id = ? ORDER BY position", (site_id,)
    ).fetchall()
    existing = [r["id"] for r in rows]
    known = set(existing)
    unknown = [i for i in ids if i not in known]
    if unknown:
        return -1
    ordered = list(dict.fromkeys(ids)) + [i for i in existing if i not in set(ids)]
    conn.executemany(
        "UPDATE faq_entries SET position = ? WHERE id = ?",
        [(n, entry_id) for n, entry_id in enumerate(ordered, start=1)],
    )
    bump_revision(conn, site_id)
    return len(ordered)


def add_phrasing(
    conn: sqlite3.Connection, site_id: str, entry_id: str, text: str, source: str
) -> bool:
    cursor = conn.execute(
        "INSERT INTO faq_phrasings (id, faq_id, site_id, text, source, created_at)"
        " SELECT ?, id, site_id, ?, ?, ? FROM faq_entries WHERE id = ? AND site_id = ?"
        " ON CONFLICT (faq_id, text) DO NOTHING",
        (new_id("phr"), text, source, now_iso(), entry_id, site_id),
    )
    if cursor.rowcount:
        bump_revision(conn, site_id)
    return cursor.rowcount > 0


def delete_phrasing(
    conn: sqlite3.Connection, site_id: str, entry_id: str, phrasing_id: str
) -> bool:
    cursor = conn.execute(
        "DELETE FROM faq_phrasings WHERE id = ? AND faq_id = ? AND site_id = ?",
        (phrasing_id, entry_id, site_id),
    )
    if cursor.rowcount:
        bump_revision(conn, site_id)
    return cursor.rowcount > 0


def record_event(
    conn: sqlite3.Connection,
    site_id: str,
    faq_id: str,
    kind: str,
    room_id: str | None = None,
    message_id: str | None = None,
) -> int:
    """Answers the event's id."""
    cur = conn.execute(
        "INSERT INTO faq_events (site_id, faq_id, room_id, message_id, kind, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (site_id, faq_id, room_id, message_id, kind, now_iso()),
    )
    return int(cur.lastrowid or 0)


# -- reads --------------------------------------------------------------------


async def revision(db: Database, site_id: str) -> int:
    row = await db.fetch_one("SELECT revision FROM faq_revisions WHERE site_id = ?", (site_id,))
    return int(row["revision"]) if row else 0


async def list_entries(db: Database, site_id: str) -> list[FaqEntry]:
    rows = await db.fetch_all(
        "SELECT * FROM faq_entries WHERE site_id = ? ORDER BY position", (site_id,)
    )
    phrasing_rows = await db.fetch_all(
        "SELECT * FROM faq_phrasings WHERE site_id = ? ORDER BY created_at", (site_id,)
    )
    by_entry: dict[str, list[Phrasing]] = {}
    for row in phrasing_rows:
        by_entry.setdefault(row["faq_id"], []).append(_phrasing(row))
    return [_entry(r, tuple(by_entry.get(r["id"], ()))) for r in rows]


async def get_entry(db: Database, site_id: str, entry_id: str) -> FaqEntry | None:
    row = await db.fetch_one(
        "SELECT * FROM faq_entries WHERE id = ? AND site_id = ?", (entry_id, site_id)
    )
    if row is None:
        return None
    phrasings = await db.fetch_all(
        "SELECT * FROM faq_phrasings WHERE faq_id = ? ORDER BY created_at", (entry_id,)
    )
    return _entry(row, tuple(_phrasing(p) for p in phrasings))
