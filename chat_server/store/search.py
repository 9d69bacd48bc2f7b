"""Search over a site's conversations and customers, one function on both backends.

SQLite: the FTS5 index `message_search` (external content over `messages`, kept by
triggers), ranked by bm25. PostgreSQL: the GIN expression index `messages_search` over
`to_tsvector('simple', body)`, ranked by ts_rank. Customers are matched by name and email with LIKE.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from chat_server.domain.models import Message, anonymous_marks, anonymous_name
from chat_server.domain.search import SearchQuery
from chat_server.store import like
from chat_server.store.database import Database
from chat_server.store.rooms import MESSAGE_SELECT, row_to_message
from chat_server.store.sql import Tx


@dataclass(frozen=True, slots=True)
class MessageHit:
    message: Message
    room_status: str
    customer_id: str | None
    customer_name: str | None

    def to_json(self) -> dict[str, Any]:
        customer = None
        if self.customer_id:
            name = self.customer_name or anonymous_name(self.customer_id)
            customer = {
                "id": self.customer_id,
                "name": name,
                **anonymous_marks(self.customer_id, self.customer_name),
            }
        return {
            "type": "message",
            "room_id": self.message.room_id,
            "room_status": self.room_status,
            "customer": customer,
            "message": self.message.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class CustomerHit:
    id: str
    name: str | None
    email: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "customer",
            "customer": {
                "id": self.id,
                "name": self.name or anonymous_name(self.id),
                "email": self.email,
                **anonymous_marks(self.id, self.name),
            },
        }


# Relevance is computed for a window of the site's newest matching messages, not for every
# match: two common words match a tenth of a large site's messages, and scoring them all
# took seconds over a million (bench/README.md, "Routing and search").
RANK_WINDOW = 2000

# The window: matching messages of the site that pass the filters, newest first. SQLite walks
# FTS5 in rowid order (the order messages were stored in) and stops at the window's end,
# scoring each with bm25() (lower is better) as it goes. PostgreSQL finds the matches through
# the GIN index and keeps the newest; ts_rank() (higher is better) scores the window only.
_SQLITE_WINDOW = (
    "SELECT m.rowid AS hit, bm25(message_search) AS score FROM message_search"
    " JOIN messages m ON m.rowid = message_search.rowid JOIN rooms r ON r.id = m.room_id"
    " WHERE message_search MATCH ? AND {where} ORDER BY message_search.rowid DESC LIMIT ?"
)
_PG_WINDOW = (
    "SELECT m.id AS hit FROM messages m JOIN rooms r ON r.id = m.room_id"
    " WHERE to_tsvector('simple'::regconfig, m.body) @@ to_tsquery('simple'::regconfig, ?)"
    " AND {where} ORDER BY m.created_at DESC LIMIT ?"
)
_PG_SCORE = "-ts_rank(to_tsvector('simple'::regconfig, m.body), to_tsquery('simple'::regconfig, ?))"


async def messages(db: Database, site_id: str, query: SearchQuery, limit: int) -> list[MessageHit]:
    """Messages and notes (never system lines) that hold every word: among the site's newest
    RANK_WINDOW such messages, the most relevant first (bm25 on SQLite, ts_rank on
    PostgreSQL), newest first among equals."""
    if not query.terms:
        return []
    sqlite = db.backend == "sqlite"
    where = ["m.site_id = ?", "m.kind != 'event'", "r.kind = 'private'"]
    params: list[Any] = [site_id]
    if query.status:
        where.append("r.status = ?")
        params.append(query.status)
    if query.assignee == "none":
        where.append("r.assignee_id IS NULL")
    elif query.assignee:
        where.append("r.assignee_id = ?")
        params.append(query.assignee)
    if query.team == "none":
        where.append("r.team_id IS NULL")
    elif query.team:
        where.append("r.team_id = ?")
        params.append(query.team)
    if query.label:
        where.append(
            "EXISTS (SELECT 1 FROM room_labels x WHERE x.room_id = r.id AND x.label_id = ?)"
        )
        params.append(query.label)
    if query.since:
        where.append("m.created_at >= ?")
        params.append(query.since)
    if query.until:
        where.append("m.created_at < ?")
        params.append(query.until)
    filters = " AND ".join(where)
    if sqlite:
        window = _SQLITE_WINDOW.format(where=filters)
        head: list[Any] = []
        score, key = "w.score", "m.rowid"
        window_params = [query.fts5(), *params, RANK_WINDOW]
    else:
        window = _PG_WINDOW.format(where=filters)
        head = [query.tsquery()]
        score, key = _PG_SCORE, "m.id"
        window_params = [query.tsquery(), *params, RANK_WINDOW]
    sql = MESSAGE_SELECT.replace(
        "SELECT m.*",
        f"SELECT m.*, {score} AS score, r.status AS room_status,"
        " r.customer_id AS room_customer, c.name AS customer_name",
    ).replace("FROM messages m", f"FROM ({window}) w JOIN messages m ON {key} = w.hit") + (
        " JOIN rooms r ON r.id = m.room_id LEFT JOIN customers c ON c.id = r.customer_id"
        " ORDER BY score, m.created_at DESC, m.seq DESC LIMIT ?"
    )
    rows = await db.fetch_all(sql, (*head, *window_params, limit))
    return [
        MessageHit(row_to_message(r), r["room_status"], r["room_customer"], r["customer_name"])
        for r in rows
    ]


async def customers(db: Database, site_id: str, text: str, limit: int) -> list[CustomerHit]:
    """Customers whose name or email holds `text` (not merged away, not erased)."""
    if not text:
        return []
    pattern = like.contains(text)
    rows = await db.fetch_all(
        "SELECT id, name, email FROM customers WHERE site_id = ? AND merged_into IS NULL"
        f" AND erased_at IS NULL AND (name LIKE ? {like.ESCAPE} OR email LIKE ? {like.ESCAPE})"
        " ORDER BY last_seen_at DESC LIMIT ?",
        (site_id, pattern, pattern, limit),
    )
    return [CustomerHit(r["id"], r["name"], r["email"]) for r in rows]


def forget_erased(conn: Tx) -> None:
    """After an erase blanked bodies: rewrite the SQLite index so the words it held for them
    leave the file too (with secure_delete, the freed pages are zeroed). PostgreSQL's index
    entries go with VACUUM, like the rows themselves (docs/operations.md)."""
    if isinstance(conn, sqlite3.Connection):
        conn.execute("INSERT INTO message_search(message_search) VALUES ('optimize')")
