"""FAQ entries, phrasings, revisions and suggestion events."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

from chat_server.domain.faq_learning import LearningCounts
from chat_server.domain.faq_rules import FaqFields
from chat_server.ids import new_id, now_iso
from chat_server.store.database import Database
from chat_server.store.sql import Row, Tx


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


@dataclass(frozen=True, slots=True)
class FaqEvent:
    """An FAQ card shown to a shopper, or what they did with it, as the transcript shows it."""

    id: int
    kind: str  # shown, used, helpful, not_helpful
    faq_id: str
    question: str | None  # None once the entry is deleted
    message_id: str | None  # the shopper's message it answered
    at: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": f"faq{self.id}",
            "kind": "faq",
            "at": self.at,
            "faq": {
                "id": self.faq_id,
                "question": self.question,
                "event": self.kind,
                "for_message_id": self.message_id,
            },
        }


def _entry(row: Row, phrasings: tuple[Phrasing, ...] = ()) -> FaqEntry:
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


def _phrasing(row: Row) -> Phrasing:
    return Phrasing(row["id"], row["text"], row["source"], row["created_at"])


# -- writes (writer thread) -------------------------------------------------


def bump_revision(conn: Tx, site_id: str) -> None:
    conn.execute(
        "INSERT INTO faq_revisions (site_id, revision) VALUES (?, 1)"
        " ON CONFLICT (site_id) DO UPDATE SET revision = faq_revisions.revision + 1",
        (site_id,),
    )


def insert_entry(
    conn: Tx, site_id: str, fields: FaqFields, source_message_id: str | None = None
) -> str:
    """`source_message_id`: the visitor question a draft was made from (erase scrubs it)."""
    entry_id, now = new_id("faq"), now_iso()
    position = conn.execute(
        "SELECT COALESCE(max(position), 0) + 1 FROM faq_entries WHERE site_id = ?", (site_id,)
    ).fetchone()[0]
    conn.execute(
        "INSERT INTO faq_entries (id, site_id, question, answer, category, tags, lang, status,"
        " position, created_at, updated_at, source_message_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            source_message_id,
        ),
    )
    for text in fields.phrasings or ():
        add_phrasing(conn, site_id, entry_id, text, "manual")
    bump_revision(conn, site_id)
    return entry_id


def update_entry(conn: Tx, site_id: str, entry_id: str, fields: FaqFields) -> bool:
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


def delete_entry(conn: Tx, site_id: str, entry_id: str) -> bool:
    cursor = conn.execute(
        "DELETE FROM faq_entries WHERE id = ? AND site_id = ?", (entry_id, site_id)
    )
    if cursor.rowcount:
        bump_revision(conn, site_id)
    return cursor.rowcount > 0


def reorder(conn: Tx, site_id: str, ids: list[str]) -> int:
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


def note_learnt(conn: Tx, site_id: str) -> None:
    """A learnt phrasing was stored: engines pick it up with the next batch (not at once)."""
    conn.execute(
        "INSERT INTO faq_revisions (site_id, revision, learnt) VALUES (?, 0, 1)"
        " ON CONFLICT (site_id) DO UPDATE SET learnt = faq_revisions.learnt + 1",
        (site_id,),
    )


def add_phrasing(
    conn: Tx,
    site_id: str,
    entry_id: str,
    text: str,
    kind: str,
    *,
    source: tuple[str, str] | None = None,
) -> bool:
    """`source` (message id, customer id): whose words a learnt phrasing copies (the customer
    also in `customer_id`, which the per-shopper learning limits count)."""
    message_id, customer_id = source or (None, None)
    where = (entry_id, site_id)
    cursor = conn.execute(
        "INSERT INTO faq_phrasings (id, faq_id, site_id, text, source, created_at,"
        " source_message_id, source_customer_id, customer_id)"
        " SELECT ?, id, site_id, ?, ?, ?, ?, ?, ? FROM faq_entries WHERE id = ? AND site_id = ?"
        " ON CONFLICT (faq_id, text) DO NOTHING",
        (new_id("phr"), text, kind, now_iso(), message_id, customer_id, customer_id, *where),
    )
    if cursor.rowcount:
        if kind == "learnt":
            note_learnt(conn, site_id)
        else:
            bump_revision(conn, site_id)
    return cursor.rowcount > 0


def learning_counts(
    conn: Tx, site_id: str, entry_id: str, customer_id: str, since: str
) -> LearningCounts:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM faq_phrasings WHERE customer_id = ? AND site_id = ?"
        "         AND source = 'learnt' AND created_at >= ?) AS from_shopper,"
        " (SELECT count(*) FROM faq_phrasings WHERE faq_id = ? AND source = 'learnt'"
        "         AND created_at >= ?) AS recently,"
        " (SELECT count(*) FROM faq_phrasings WHERE faq_id = ? AND source = 'learnt') AS total",
        (customer_id, site_id, since, entry_id, since, entry_id),
    ).fetchone()
    return LearningCounts(row["from_shopper"], row["recently"], row["total"])


def customer_words(conn: Tx, site_id: str, message_id: str) -> tuple[str, str] | None:
    """(body, author id) of a shopper's message, to learn from."""
    row = conn.execute(
        "SELECT body, author_id FROM messages WHERE id = ? AND site_id = ?"
        " AND author_kind = 'customer'",
        (message_id, site_id),
    ).fetchone()
    return (str(row["body"]), str(row["author_id"])) if row else None


def record_vote(
    conn: Tx,
    site_id: str,
    faq_id: str,
    kind: str,
    customer_id: str,
    room_id: str | None = None,
    message_id: str | None = None,
) -> tuple[int, str | None]:
    """A shopper's helpful/not helpful on a suggestion: one vote each, the latest one counts.

    Answers the vote's event id and the vote it replaced (None for a first vote).
    """
    row = conn.execute(
        "SELECT id, kind FROM faq_events WHERE faq_id = ? AND customer_id = ?"
        " AND message_id IS NOT DISTINCT FROM ? AND kind IN ('helpful', 'not_helpful')",
        (faq_id, customer_id, message_id),
    ).fetchone()
    if row is None:
        return record_event(conn, site_id, faq_id, kind, room_id, message_id, customer_id), None
    conn.execute(
        "UPDATE faq_events SET kind = ?, created_at = ? WHERE id = ?", (kind, now_iso(), row["id"])
    )
    return int(row["id"]), str(row["kind"])


def delete_phrasing(conn: Tx, site_id: str, entry_id: str, phrasing_id: str) -> bool:
    cursor = conn.execute(
        "DELETE FROM faq_phrasings WHERE id = ? AND faq_id = ? AND site_id = ?",
        (phrasing_id, entry_id, site_id),
    )
    if cursor.rowcount:
        bump_revision(conn, site_id)
    return cursor.rowcount > 0


def record_event(
    conn: Tx,
    site_id: str,
    faq_id: str,
    kind: str,
    room_id: str | None = None,
    message_id: str | None = None,
    customer_id: str | None = None,
) -> int:
    """Answers the event's id."""
    row = conn.execute(
        "INSERT INTO faq_events (site_id, faq_id, room_id, message_id, kind, created_at,"
        " customer_id) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (site_id, faq_id, room_id, message_id, kind, now_iso(), customer_id),
    ).fetchone()
    return int(row[0])


# -- reads --------------------------------------------------------------------


async def room_events(db: Database, room_id: str, limit: int) -> list[FaqEvent]:
    """What the room's shopper was shown of the FAQ and did with it, newest first."""
    rows = await db.fetch_all(
        "SELECT e.id, e.kind, e.faq_id, e.message_id, e.created_at, f.question FROM faq_events e"
        " LEFT JOIN faq_entries f ON f.id = e.faq_id WHERE e.room_id = ?"
        " ORDER BY e.created_at DESC LIMIT ?",
        (room_id, limit),
    )
    return [
        FaqEvent(r["id"], r["kind"], r["faq_id"], r["question"], r["message_id"], r["created_at"])
        for r in rows
    ]


async def revision(db: Database, site_id: str) -> tuple[int, int]:
    """(revision, learnt): owners' changes and learnt phrasings, counted apart."""
    # Asked once a second per site while shoppers write (services/faq.py): on the loop.
    return await db.read_now(functools.partial(_revision, site_id))


def _revision(site_id: str, conn: Tx) -> tuple[int, int]:
    rows = conn.execute(
        "SELECT revision, learnt FROM faq_revisions WHERE site_id = ?", (site_id,)
    ).fetchall()
    return (int(rows[0]["revision"]), int(rows[0]["learnt"])) if rows else (0, 0)


async def was_shown(db: Database, faq_id: str, message_id: str) -> bool:
    row = await db.fetch_one(
        "SELECT 1 FROM faq_events WHERE faq_id = ? AND message_id = ? AND kind = 'shown' LIMIT 1",
        (faq_id, message_id),
    )
    return row is not None


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
