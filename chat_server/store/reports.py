"""What the owner's summary report reads: a site's rooms, messages, ratings and FAQ events
created in a time window [start, end)."""

from __future__ import annotations

from dataclasses import dataclass

from chat_server.store.database import Database


@dataclass(frozen=True, slots=True)
class RoomStatus:
    id: str
    status: str


@dataclass(frozen=True, slots=True)
class FirstMessage:
    """The first text an author kind wrote in a room, within the window."""

    room_id: str
    author_kind: str
    at: str


@dataclass(frozen=True, slots=True)
class MessageCounts:
    from_customers: int
    from_agents: int


@dataclass(frozen=True, slots=True)
class FaqEvent:
    kind: str
    message_id: str | None
    room_id: str | None
    created_at: str


async def private_rooms(db: Database, site_id: str, start: str, end: str) -> list[RoomStatus]:
    rows = await db.fetch_all(
        "SELECT id, status FROM rooms WHERE site_id = ? AND kind = 'private'"
        " AND created_at >= ? AND created_at < ?",
        (site_id, start, end),
    )
    return [RoomStatus(r["id"], r["status"]) for r in rows]


async def first_messages(db: Database, site_id: str, start: str, end: str) -> list[FirstMessage]:
    rows = await db.fetch_all(
        "SELECT room_id, author_kind, min(created_at) AS at FROM messages"
        " WHERE site_id = ? AND kind = 'text' AND created_at >= ? AND created_at < ?"
        " GROUP BY room_id, author_kind",
        (site_id, start, end),
    )
    return [FirstMessage(r["room_id"], r["author_kind"], r["at"]) for r in rows]


async def message_counts(db: Database, site_id: str, start: str, end: str) -> MessageCounts:
    row = await db.fetch_one(
        "SELECT coalesce(sum(CASE WHEN author_kind = 'customer' THEN 1 ELSE 0 END), 0)"
        " AS from_customers,"
        " coalesce(sum(CASE WHEN author_kind = 'agent' THEN 1 ELSE 0 END), 0) AS from_agents"
        " FROM messages WHERE site_id = ? AND kind = 'text' AND created_at >= ? AND created_at < ?",
        (site_id, start, end),
    )
    if row is None:
        return MessageCounts(0, 0)
    return MessageCounts(int(row["from_customers"]), int(row["from_agents"]))


async def rating_scores(db: Database, site_id: str, start: str, end: str) -> list[int]:
    rows = await db.fetch_all(
        "SELECT score FROM ratings WHERE site_id = ? AND created_at >= ? AND created_at < ?",
        (site_id, start, end),
    )
    return [int(r["score"]) for r in rows]


async def faq_events(db: Database, site_id: str, start: str, end: str) -> list[FaqEvent]:
    rows = await db.fetch_all(
        "SELECT kind, message_id, room_id, created_at FROM faq_events"
        " WHERE site_id = ? AND created_at >= ? AND created_at < ?",
        (site_id, start, end),
    )
    return [FaqEvent(r["kind"], r["message_id"], r["room_id"], r["created_at"]) for r in rows]


async def followed_up(db: Database, room_id: str | None, after: str, until: str) -> bool:
    """Whether the shopper or an agent wrote text in the room in (after, until]."""
    row = await db.fetch_one(
        "SELECT 1 FROM messages WHERE room_id = ? AND author_kind IN ('customer', 'agent')"
        " AND kind = 'text' AND created_at > ? AND created_at <= ? LIMIT 1",
        (room_id, after, until),
    )
    return row is not None
