"""Search over a site's conversations and customers, one function on both backends.

SQLite: the FTS5 index `message_search` (external content over `messages`), ranked by
bm25. New messages reach it in a commit at most every quarter second, in an idle writer's
commit, and before every search (`index_new_messages`, store/sqlite_db.py); edits, erases
and deletions of messages already indexed through triggers (schema/0021). PostgreSQL: the
stored vector `messages.search_vector` (`to_tsvector('simple', body)`,
schema/postgres/0012) with its GIN index `messages_search`, ranked by ts_rank. Customers
are matched by name and email with LIKE.
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
# scoring each with bm25() (lower is better) as it goes.
_SQLITE_WINDOW = (
    "SELECT m.rowid AS hit, bm25(message_search) AS score FROM message_search"
    " JOIN messages m ON m.rowid = message_search.rowid JOIN rooms r ON r.id = m.room_id"
    " WHERE message_search MATCH ? AND {where} ORDER BY message_search.rowid DESC LIMIT ?"
)

# PostgreSQL finds the window in one of two ways, chosen here rather than by its planner
# (whose estimate for a word, a prefix above all, can be off by a factor of a hundred either
# way over a million messages: it walked every message for a rare word and fetched 70,000
# GIN matches for two common ones, 2 s each):
# - a walk: the site's newest messages (messages_site_created) in order, each one's stored
#   vector tested, then its room (one lookup per match, not a join the planner may turn
#   into a hash of every room), stopping at the window's end or after a bounded number of
#   rows (the LIMIT inside keeps the planner on this path): for common words, which fill
#   the window within a few thousand rows;
# - the GIN index (the CTE is planned alone, without the ORDER BY ... LIMIT that could
#   draw the planner into a walk): for rarer words, whose matches are few.
# A first short walk tells how common the words are among the newest messages; a longer
# one follows when that predicts the window fills within WALK_MAX rows, else the index.
_PG_WALK = (
    "SELECT m.id AS hit, -ts_rank(m.search_vector, to_tsquery('simple'::regconfig, ?)) AS score,"
    " m.created_at, m.seq FROM (SELECT id, room_id, created_at, seq, search_vector"
    " FROM messages m WHERE {own} ORDER BY m.created_at DESC LIMIT ?) m"
    " WHERE m.search_vector @@ to_tsquery('simple'::regconfig, ?)"
    " AND (SELECT {rooms} FROM rooms r WHERE r.id = m.room_id)"
    " ORDER BY m.created_at DESC LIMIT ?"
)
_PG_INDEXED = (
    "WITH m AS MATERIALIZED (SELECT id, room_id, created_at, seq, search_vector FROM messages m"
    " WHERE m.search_vector @@ to_tsquery('simple'::regconfig, ?) AND {own})"
    " SELECT m.id AS hit, -ts_rank(m.search_vector, to_tsquery('simple'::regconfig, ?)) AS score,"
    " m.created_at, m.seq FROM m JOIN rooms r ON r.id = m.room_id WHERE {rooms}"
    " ORDER BY m.created_at DESC LIMIT ?"
)
# The best of the window, ranked before anything is joined to them (the window is found
# first, whatever the planner thinks of it: it once sorted every message by rank to join
# them to it); the window's size comes with them (counted before the LIMIT).
_PG_BEST = (
    "(SELECT w.hit, w.score, count(*) OVER () AS window_size FROM w"
    " ORDER BY w.score, w.created_at DESC, w.seq DESC LIMIT ?) w"
)
WALK_FIRST = 2_500
WALK_MAX = 250_000


def _filters(site_id: str, query: SearchQuery) -> tuple[list[str], list[Any], list[str], list[Any]]:
    """Conditions on the message itself, and on its room, with their parameters."""
    own = ["m.site_id = ?", "m.kind != 'event'"]
    own_params: list[Any] = [site_id]
    if query.since:
        own.append("m.created_at >= ?")
        own_params.append(query.since)
    if query.until:
        own.append("m.created_at < ?")
        own_params.append(query.until)
    rooms = ["r.kind = 'private'"]
    room_params: list[Any] = []
    if query.status:
        rooms.append("r.status = ?")
        room_params.append(query.status)
    if query.assignee == "none":
        rooms.append("r.assignee_id IS NULL")
    elif query.assignee:
        rooms.append("r.assignee_id = ?")
        room_params.append(query.assignee)
    if query.team == "none":
        rooms.append("r.team_id IS NULL")
    elif query.team:
        rooms.append("r.team_id = ?")
        room_params.append(query.team)
    if query.label:
        rooms.append(
            "EXISTS (SELECT 1 FROM room_labels x WHERE x.room_id = r.id AND x.label_id = ?)"
        )
        room_params.append(query.label)
    return own, own_params, rooms, room_params


async def messages(db: Database, site_id: str, query: SearchQuery, limit: int) -> list[MessageHit]:
    """Messages and notes (never system lines) that hold every word: among the site's newest
    RANK_WINDOW such messages, the most relevant first (bm25 on SQLite, ts_rank on
    PostgreSQL), newest first among equals."""
    if not query.terms:
        return []
    own, own_params, rooms, room_params = _filters(site_id, query)
    where_own, where_rooms = " AND ".join(own), " AND ".join(rooms)

    def ranked_sql(source: str, columns: str) -> str:
        return MESSAGE_SELECT.replace(
            "SELECT m.*",
            f"SELECT m.*, w.score AS score, r.status AS room_status,"
            f" r.customer_id AS room_customer, c.name AS customer_name{columns}",
        ).replace("FROM messages m", f"FROM {source} JOIN messages m ON {key} = w.hit") + (
            " JOIN rooms r ON r.id = m.room_id LEFT JOIN customers c ON c.id = r.customer_id"
            " ORDER BY score, m.created_at DESC, m.seq DESC LIMIT ?"
        )

    await db.searchable()
    if db.backend == "sqlite":
        key = "m.rowid"
        window = _SQLITE_WINDOW.format(where=f"{where_own} AND {where_rooms}")
        params = [query.fts5(), *own_params, *room_params, RANK_WINDOW, limit]
        rows = await db.fetch_all(ranked_sql(f"({window}) w", ""), params)
    else:
        key = "m.id"
        words = query.tsquery()
        best = ranked_sql(_PG_BEST, ", w.window_size")
        walk = f"WITH w AS MATERIALIZED ({_PG_WALK.format(own=where_own, rooms=where_rooms)}) "
        rows = []
        for cap in (WALK_FIRST, WALK_MAX):
            params = [words, *own_params, cap, words, *room_params, RANK_WINDOW, limit, limit]
            rows = await db.fetch_all(walk + best, params)
            found = rows[0]["window_size"] if rows else 0
            # At the rate the words turned up, would the window fill within WALK_MAX rows?
            if found >= RANK_WINDOW or found * WALK_MAX < RANK_WINDOW * cap * 13 // 10:
                break
        if not rows or rows[0]["window_size"] < RANK_WINDOW:
            indexed = _PG_INDEXED.format(own=where_own, rooms=where_rooms)
            params = [words, *own_params, words, *room_params, RANK_WINDOW, limit, limit]
            rows = await db.fetch_all(f"WITH w AS MATERIALIZED ({indexed}) " + best, params)
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


# The highest rowid indexed, and the highest stored: one row by its key and one seek to the
# end of `messages`, all a commit without new messages pays.
_WATERMARK = (
    "SELECT indexed_rowid, (SELECT max(rowid) FROM messages) FROM search_watermark WHERE id = 1"
)


def index_new_messages(conn: sqlite3.Connection) -> int:
    """Index every message above the watermark and move it up; how many were indexed.

    Run just before a COMMIT (store/sqlite_db.py): at most every quarter second, when the
    writer is idle, and before a search. One INSERT ... SELECT for many batches costs the
    writer far less than a trigger per row or a segment per commit.
    Rows above the watermark have no index entries yet, so an edit of one needs nothing
    here beyond its current body (the update trigger skips it).
    """
    cursor = conn.execute(_WATERMARK)
    indexed, top = cursor.fetchone()
    cursor.close()
    if top is None or top <= indexed:
        return 0
    conn.execute(
        "INSERT INTO message_search(rowid, body)"
        " SELECT rowid, body FROM messages WHERE rowid > ? AND rowid <= ?",
        (indexed, top),
    )
    conn.execute("UPDATE search_watermark SET indexed_rowid = ? WHERE id = 1", (top,))
    return int(top - indexed)
