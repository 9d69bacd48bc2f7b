"""Public rooms: their settings, hidden messages, mutes, and visitors' display names."""

from __future__ import annotations

from typing import Any

from chat_server.domain.models import Message
from chat_server.domain.public_rooms import RoomChanges
from chat_server.ids import new_id, now_iso
from chat_server.store.database import Database
from chat_server.store.rooms import MESSAGE_SELECT, next_rev, row_to_message
from chat_server.store.sql import Tx

PUBLIC_POSTS = (
    "SELECT count(*) FROM (SELECT 1 FROM messages m JOIN rooms r ON r.id = m.room_id"
    " WHERE m.in_public = 1 AND m.author_id = ? AND m.author_kind = 'customer'"
    " AND r.kind = 'public' LIMIT ?) AS p"
)
# A visitor's latest post in a public room (slow mode).
LAST_POST_AT = (
    "SELECT created_at FROM messages WHERE in_public = 1 AND author_id = ? AND room_id = ?"
    " ORDER BY seq DESC LIMIT 1"
)

# -- writes (writer thread) ------------------------------------------------------


def insert_room(conn: Tx, site_id: str, name: str) -> str:
    """A new public room, placed after the site's others; answers its id."""
    room_id, now = new_id("room"), now_iso()
    position = conn.execute(
        "SELECT COALESCE(max(position), 0) + 1 FROM rooms WHERE site_id = ? AND kind = 'public'",
        (site_id,),
    ).fetchone()[0]
    conn.execute(
        "INSERT INTO rooms (id, site_id, kind, name, status, position, created_at, updated_at)"
        " VALUES (?, ?, 'public', ?, 'open', ?, ?, ?)",
        (room_id, site_id, name, position, now, now),
    )
    return room_id


def update_room(conn: Tx, room_id: str, changes: RoomChanges) -> None:
    sets: dict[str, Any] = {
        "name": changes.name,
        "archived": None if changes.archived is None else int(changes.archived),
        "position": changes.position,
        "slow_mode_seconds": changes.slow_mode_seconds,
        "visitor_images": None if changes.visitor_images is None else int(changes.visitor_images),
    }
    values = {k: v for k, v in sets.items() if v is not None}
    if changes.pin:
        values["pinned_message_id"] = changes.pinned_message_id
    values["updated_at"] = now_iso()
    assignments = ", ".join(f"{column} = ?" for column in values)
    conn.execute(f"UPDATE rooms SET {assignments} WHERE id = ?", (*values.values(), room_id))


def unpin(conn: Tx, room_id: str, message_id: str) -> bool:
    cursor = conn.execute(
        "UPDATE rooms SET pinned_message_id = NULL, updated_at = ?"
        " WHERE id = ? AND pinned_message_id = ?",
        (now_iso(), room_id, message_id),
    )
    return cursor.rowcount > 0


def set_hidden(conn: Tx, message_id: str, hidden: bool, by: str) -> None:
    """Hide or show a message again; it takes the room's next rev, so that a reader who was
    away hears of it at their next `sync {since_rev}`."""
    rev = next_rev(conn, message_id)
    if hidden:
        conn.execute(
            "UPDATE messages SET hidden = 1, hidden_by = ?, hidden_at = ?, rev = ? WHERE id = ?",
            (by, now_iso(), rev, message_id),
        )
    else:
        conn.execute(
            "UPDATE messages SET hidden = 0, hidden_by = NULL, hidden_at = NULL, rev = ?"
            " WHERE id = ?",
            (rev, message_id),
        )


def set_mute(conn: Tx, room_id: str, customer_id: str, until: str | None, by: str) -> None:
    if until is None:
        conn.execute(
            "DELETE FROM room_mutes WHERE room_id = ? AND customer_id = ?", (room_id, customer_id)
        )
        return
    conn.execute(
        "INSERT INTO room_mutes (room_id, customer_id, until, muted_by, created_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (room_id, customer_id)"
        " DO UPDATE SET until = excluded.until, muted_by = excluded.muted_by,"
        " created_at = excluded.created_at",
        (room_id, customer_id, until, by, now_iso()),
    )


def muted_until(conn: Tx, room_id: str, customer_id: str) -> str | None:
    row = conn.execute(
        "SELECT until FROM room_mutes WHERE room_id = ? AND customer_id = ?",
        (room_id, customer_id),
    ).fetchone()
    return str(row["until"]) if row else None


def last_post_at(conn: Tx, room_id: str, author_id: str) -> str | None:
    row = conn.execute(LAST_POST_AT, (author_id, room_id)).fetchone()
    return str(row["created_at"]) if row else None


def customer_name(conn: Tx, site_id: str, customer_id: str) -> str | None:
    row = conn.execute(
        "SELECT display_name FROM customers WHERE id = ? AND site_id = ?", (customer_id, site_id)
    ).fetchone()
    return row["display_name"] if row else None


def set_customer_name(conn: Tx, site_id: str, customer_id: str, name: str) -> None:
    conn.execute(
        # An erased customer's record takes no new name (a frame racing the erase).
        "UPDATE customers SET display_name = ? WHERE id = ? AND site_id = ? AND erased_at IS NULL",
        (name, customer_id, site_id),
    )


def display_name_taken(conn: Tx, site_id: str, name: str, customer_id: str) -> bool:
    """Another customer of the site already goes by this public name."""
    row = conn.execute(
        "SELECT 1 FROM customers WHERE site_id = ? AND display_name = ? AND id != ? LIMIT 1",
        (site_id, name, customer_id),
    ).fetchone()
    return row is not None


def staff_names(conn: Tx, site_id: str) -> list[str]:
    """Names a visitor may not imitate: the site's agents and the shop itself."""
    rows = conn.execute(
        "SELECT name FROM agents WHERE site_id = ? UNION ALL SELECT name FROM sites WHERE id = ?",
        (site_id, site_id),
    ).fetchall()
    return [str(r["name"]) for r in rows]


def public_posts(conn: Tx, customer_id: str, up_to: int) -> int:
    """How many posts the customer made in public rooms, counting no further than `up_to`."""
    row = conn.execute(PUBLIC_POSTS, (customer_id, up_to)).fetchone()
    return int(row[0])


def customer_exists(conn: Tx, site_id: str, customer_id: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM customers WHERE id = ? AND site_id = ?", (customer_id, site_id)
    ).fetchone()
    return row is not None


# -- reads ---------------------------------------------------------------------------


async def is_stored(db: Database, room_id: str, client_msg_id: str) -> bool:
    row = await db.fetch_one(
        "SELECT 1 FROM messages WHERE room_id = ? AND client_msg_id = ?", (room_id, client_msg_id)
    )
    return row is not None


async def count_public_posts(db: Database, customer_id: str, up_to: int) -> int:
    """As `public_posts`, from a reader."""
    row = await db.fetch_one(PUBLIC_POSTS, (customer_id, up_to))
    return int(row[0]) if row else 0


async def get_message(
    db: Database, room_id: str, message_id: str, *, for_visitor: bool = False
) -> Message | None:
    row = await db.fetch_one(
        MESSAGE_SELECT + " WHERE m.id = ? AND m.room_id = ?", (message_id, room_id)
    )
    return row_to_message(row, for_visitor=for_visitor) if row else None


async def staff_answer(db: Database, room_id: str, question_id: str) -> Message | None:
    """The newest visible staff message that answers a question."""
    row = await db.fetch_one(
        # "m.room_id || ''": look the answers up by reply_to_id, not by scanning the room
        # (an expression keeps SQLite off the room's index, on either backend's syntax).
        MESSAGE_SELECT + " WHERE m.reply_to_id = ? AND m.room_id || '' = ?"
        " AND m.author_kind = 'agent'"
        " AND m.kind = 'text' AND m.hidden = 0 ORDER BY m.seq DESC LIMIT 1",
        (question_id, room_id),
    )
    return row_to_message(row) if row else None
