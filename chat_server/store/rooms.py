"""Rooms, their messages, read marks and ratings."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chat_server.domain.attachments import Attachment
from chat_server.domain.models import (
    Author,
    Message,
    Quote,
    Room,
    RoomKind,
    anonymous_marks,
    anonymous_name,
)
from chat_server.domain.public_rooms import UNANSWERED_WINDOW, quote
from chat_server.domain.routing import waiting
from chat_server.ids import new_id, new_ordered_id, now_iso
from chat_server.store import routing as routing_store
from chat_server.store.attachments import from_column, message_column
from chat_server.store.database import Database
from chat_server.store.sql import Cursor, Row, Tx, Written

ROOM_SELECT = """
SELECT r.*, a.name AS assignee_name, c.name AS customer_name, c.email AS customer_email,
       m.body AS lm_body, m.kind AS lm_kind, m.author_kind AS lm_author_kind,
       m.created_at AS lm_created_at, m.event AS lm_event, m.deleted_at AS lm_deleted_at,
       p.seq AS pin_seq, p.kind AS pin_kind, p.body AS pin_body, p.author_kind AS pin_author_kind,
       p.author_id AS pin_author_id, p.author_name AS pin_author_name,
       p.client_msg_id AS pin_client_msg_id, p.created_at AS pin_created_at,
       t.name AS team_name{extra}
FROM rooms r
LEFT JOIN agents a ON a.id = r.assignee_id
LEFT JOIN teams t ON t.id = r.team_id
LEFT JOIN customers c ON c.id = r.customer_id
LEFT JOIN messages m ON m.room_id = r.id AND m.seq = r.last_seq
LEFT JOIN messages p ON p.id = r.pinned_message_id
"""

# Public rooms, for staff: visible top-level visitor posts among the latest ones that no
# visible staff message answers (reply_to) yet.
UNANSWERED = f""",
       CASE WHEN r.kind = 'public' THEN (SELECT count(*) FROM messages q
          WHERE q.room_id = r.id AND q.seq > r.last_seq - {UNANSWERED_WINDOW}
            AND q.author_kind = 'customer' AND q.kind = 'text' AND q.hidden = 0
            AND q.reply_to_id IS NULL
            AND NOT EXISTS (SELECT 1 FROM messages s WHERE s.reply_to_id = q.id
                            AND s.author_kind = 'agent' AND s.hidden = 0)) END AS unanswered"""

# Messages with the question each one answers (reply_to), in one query.
MESSAGE_SELECT = """
SELECT m.*, q.body AS rt_body, q.author_kind AS rt_author_kind, q.author_id AS rt_author_id,
       q.author_name AS rt_author_name, q.hidden AS rt_hidden
FROM messages m LEFT JOIN messages q ON q.id = m.reply_to_id
"""

# The viewing agent's read mark in the room (0: never read).
_AGENT_MARK = """COALESCE((SELECT seq FROM read_marks k WHERE k.room_id = r.id
                            AND k.reader_kind = 'agent' AND k.reader_id = ?), 0)"""
_WINDOW_START = f"r.last_seq - {UNANSWERED_WINDOW}"
# In a public room only the latest messages count (a busy room never costs a long scan):
# the greater of the two floors, as one range on the room's seq index.
AGENT_UNREAD = f""",
       (SELECT count(*) FROM messages u WHERE u.room_id = r.id AND u.author_kind = 'customer'
          AND u.seq > CASE WHEN r.kind = 'public' AND {_WINDOW_START} > {_AGENT_MARK}
                           THEN {_WINDOW_START} ELSE {_AGENT_MARK} END) AS unread"""


def row_to_room(row: Row) -> Room:
    keys = row.keys()
    extra: dict[str, Any] = {}
    if row["customer_id"]:
        extra["customer"] = _customer(
            row["customer_id"], row["customer_name"], row["customer_email"]
        )
    if row["lm_kind"] is not None:
        extra["last_message"] = _preview(
            row["lm_body"], row["lm_kind"], row["lm_author_kind"], row["lm_created_at"]
        )
        if row["lm_event"]:
            extra["last_message"]["event"] = json.loads(row["lm_event"])
        if row["lm_deleted_at"]:
            # Unsent: lists say so instead of showing an empty preview.
            extra["last_message"]["deleted"] = True
    if row["team_id"]:
        # Staff only (extra): the team the conversation waits for or belongs to.
        extra["team"] = {"id": row["team_id"], "name": row["team_name"]}
    if "unread" in keys:
        extra["unread"] = row["unread"]
    if "unanswered" in keys and row["unanswered"] is not None:
        extra["unanswered"] = row["unanswered"]
    pinned = None
    if row["pin_seq"] is not None:
        pinned = Message(
            row["pinned_message_id"],
            row["site_id"],
            row["id"],
            row["pin_seq"],
            row["pin_kind"],
            row["pin_body"],
            Author(row["pin_author_kind"], row["pin_author_id"], row["pin_author_name"]),
            row["pin_client_msg_id"],
            row["pin_created_at"],
        )
    return Room(
        id=row["id"],
        site_id=row["site_id"],
        kind=row["kind"],
        status=row["status"],
        last_seq=row["last_seq"],
        last_rev=row["last_rev"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        name=row["name"],
        customer_id=row["customer_id"],
        assignee_id=row["assignee_id"],
        assignee_name=row["assignee_name"],
        extra=extra,
        position=row["position"],
        archived=bool(row["archived"]),
        slow_mode_seconds=row["slow_mode_seconds"],
        pinned=pinned,
        visitor_images=bool(row["visitor_images"]),
        snoozed_until=row["snoozed_until"],
        superseded_at=row["superseded_at"],
    )


def _customer(customer_id: str, name: str | None, email: str | None) -> dict[str, Any]:
    """A conversation's shopper as staff see it (`extra["customer"]`)."""
    return {
        "id": customer_id,
        "name": name or anonymous_name(customer_id),
        "email": email,
        **anonymous_marks(customer_id, name),
    }


def _preview(body: str, kind: str, author_kind: str, created_at: str) -> dict[str, Any]:
    """A room's latest message as lists show it (`extra["last_message"]`)."""
    return {"body": body[:200], "kind": kind, "author_kind": author_kind, "created_at": created_at}


def quote_of(message: Message) -> Quote:
    """How a reply shows the message it answers."""
    return Quote(message.id, quote(message.body), message.author)


def _reply_to(row: Row, for_visitor: bool) -> Quote | None:
    parent_id = row["reply_to_id"]
    if parent_id is None:
        return None
    if "rt_author_kind" not in row.keys() or row["rt_author_kind"] is None:
        return Quote(parent_id)
    hidden = bool(row["rt_hidden"])
    if hidden and for_visitor:
        # A withdrawn question is not quoted to visitors, not even inside its answer.
        return Quote(parent_id, hidden=True)
    author = Author(row["rt_author_kind"], row["rt_author_id"], row["rt_author_name"])
    return Quote(parent_id, quote(row["rt_body"]), author, hidden)


def row_to_message(row: Row, *, for_visitor: bool = False) -> Message:
    return Message(
        id=row["id"],
        site_id=row["site_id"],
        room_id=row["room_id"],
        seq=row["seq"],
        kind=row["kind"],
        body=row["body"],
        author=Author(row["author_kind"], row["author_id"], row["author_name"]),
        client_msg_id=row["client_msg_id"],
        created_at=row["created_at"],
        reply_to=_reply_to(row, for_visitor),
        hidden=bool(row["hidden"]),
        event=json.loads(row["event"]) if row["event"] else None,
        attachments=from_column(row["attachments"]),
        edited_at=row["edited_at"],
        deleted=row["deleted_at"] is not None,
    )


# -- writes (run on the writer thread) -------------------------------------


_ROOM_BY_ID = ROOM_SELECT.format(extra="") + " WHERE r.id = ? AND r.site_id = ?"


def load_room(conn: Tx, site_id: str, room_id: str) -> Room | None:
    row = conn.execute(_ROOM_BY_ID, (room_id, site_id)).fetchone()
    return row_to_room(row) if row else None


def assigned_open_rooms(conn: Tx, site_id: str, agent_id: str) -> list[str]:
    """Ids of the conversations assigned to an agent that are not resolved."""
    rows = conn.execute(
        "SELECT id FROM rooms WHERE site_id = ? AND assignee_id = ? AND kind = 'private'"
        " AND status = 'assigned'",
        (site_id, agent_id),
    ).fetchall()
    return [r["id"] for r in rows]


def site_locale(conn: Tx, site_id: str) -> str:
    row = conn.execute("SELECT locale FROM sites WHERE id = ?", (site_id,)).fetchone()
    return str(row["locale"]) if row else "en"


# The message a client_msg_id already stored in the room (a resend), looked up with the room.
_SENT = """,
       (SELECT d.id FROM messages d WHERE d.room_id = r.id AND d.client_msg_id = ?) AS sent_id"""
# The customer's CURRENT conversation (the one `send` without a room_id goes to).
_PRIVATE = " WHERE r.customer_id = ? AND r.kind = 'private' AND r.superseded_at IS NULL"


@dataclass(frozen=True, slots=True)
class SendTarget:
    """The room a message goes to, and the message its client_msg_id stored there already."""

    room: Room
    sent: Message | None


def _send_target(conn: Tx, row: Row) -> SendTarget:
    room = row_to_room(row)
    sent = load_message(conn, room.id, row["sent_id"]) if row["sent_id"] else None
    return SendTarget(room, sent)


def ensure_private_room(conn: Tx, site_id: str, customer_id: str) -> Room:
    return private_room_for_send(conn, site_id, customer_id, None).room


def private_room_for_send(
    conn: Tx, site_id: str, customer_id: str, client_msg_id: str | None
) -> SendTarget:
    """The customer's current conversation (made, and queued, on their first message)."""
    select = ROOM_SELECT.format(extra=_SENT) + _PRIVATE
    # Nearly always it exists: one statement. Writes are serial (one writer; PostgreSQL:
    # batches take turns on a lock), and ON CONFLICT keeps one current room per customer
    # anyway (the target repeats the partial index's predicate, as both backends need).
    row = conn.execute(select, (client_msg_id, customer_id)).fetchone()
    if row is None:
        now = now_iso()
        made = conn.execute(
            "INSERT INTO rooms (id, site_id, kind, status, customer_id, created_at, updated_at)"
            " VALUES (?, ?, 'private', 'queued', ?, ?, ?)"
            " ON CONFLICT (customer_id) WHERE kind = 'private' AND superseded_at IS NULL"
            " DO NOTHING RETURNING id",
            (new_id("room"), site_id, customer_id, now, now),
        ).fetchone()
        if made is not None:
            routing_store.enqueue(conn, site_id, made[0], now)
        row = conn.execute(select, (client_msg_id, customer_id)).fetchone()
    return _send_target(conn, row)


# A shopper's send's lookup (`look_for_send`): the room as `row_to_room` builds it, but for
# its latest message and pin, with the message the client_msg_id stored there already and
# the sender's own record (what `customers.activate` checks). Columns by position: the
# writer decodes one such row per message (`_looked_room`); a name costs a scan of them.
_LOOK_COLUMNS = """
SELECT r.id, r.site_id, r.kind, r.status, r.last_seq, r.last_rev, r.created_at, r.updated_at,
       r.name, r.customer_id, r.assignee_id, a.name, r.position, r.archived,
       r.slow_mode_seconds, r.visitor_images, r.snoozed_until, r.superseded_at,
       c.name, c.email, r.team_id, t.name,
       (SELECT d.id FROM messages d WHERE d.room_id = r.id AND d.client_msg_id = {sent}),
       c.site_id, c.erased_at"""
_LOOK_JOINS = """
LEFT JOIN agents a ON a.id = r.assignee_id
LEFT JOIN teams t ON t.id = r.team_id
LEFT JOIN customers c ON c.id = r.customer_id
"""
_LOOK = _LOOK_COLUMNS.format(sent="?") + "\nFROM rooms r" + _LOOK_JOINS
_LOOK_PRIVATE = _LOOK + _PRIVATE
_LOOK_BY_ID = _LOOK + " WHERE r.id = ? AND r.site_id = ?"
# `_LOOK_PRIVATE` for a whole group (SQLite, `Written.batched`), in one statement: the
# parameter is a JSON array of [customer_id, client_msg_id]; each row ends with its index.
_LOOK_PRIVATE_MANY = (
    _LOOK_COLUMNS.format(sent="json_extract(j.value, '$[1]')")
    + ", j.key\nFROM json_each(?) j JOIN rooms r ON r.customer_id = json_extract(j.value, '$[0]')"
    + " AND r.kind = 'private' AND r.superseded_at IS NULL"
    + _LOOK_JOINS
)


@dataclass(frozen=True, slots=True)
class SendLookup:
    """What `look_for_send` found: the room, the id of the message the client_msg_id stored
    there already, and whether the room's customer is the sender's live record of the site
    (their row exists and is not erased).

    `room` is what a private conversation's short way needs, no more: it has no `pinned`
    message (only public rooms pin) and no `extra["last_message"]`, which the append that
    follows sets (`append_later`). Everything else is as `load_room` gives it."""

    room: Room
    sent_id: str | None
    sender_ok: bool


def _looked_room(row: Row) -> Room:
    """`row_to_room` for a `_LOOK` row: its columns by position."""
    extra: dict[str, Any] = {}
    customer_id = row[9]
    if customer_id:
        extra["customer"] = _customer(customer_id, row[18], row[19])
    if row[20]:
        extra["team"] = {"id": row[20], "name": row[21]}
    return Room(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[6],
        row[7],
        row[8],
        customer_id,
        row[10],
        row[11],
        extra,
        row[12],
        bool(row[13]),
        row[14],
        None,
        bool(row[15]),
        row[16],
        row[17],
        row[5],
    )


def look_for_send(
    conn: Tx,
    site_id: str,
    customer_id: str,
    room_id: str | None,
    client_msg_id: str,
    written: Written | None = None,
) -> Callable[[], SendLookup | None]:
    """Send a shopper's send's lookup (`private_room_for_send`, or `room_for_send` with a
    `room_id`) without waiting; the answer is read later (a phased group, `sql.Phased`).
    In a batched group (`Written.batched`) the group's lookups of conversations are asked in
    one statement, when the first answer is read."""
    if written is not None and written.batched:
        if room_id is None:
            group = written.shared.get(_Lookups)
            if group is None:
                group = written.shared[_Lookups] = _Lookups()
            return group.add(conn, site_id, customer_id, client_msg_id)
        # Read now: an unread statement would be prepared again by the next one like it.
        row = conn.execute(_LOOK_BY_ID, (client_msg_id, room_id, site_id)).fetchone()
        return lambda: _send_lookup(row, site_id, customer_id)
    if room_id is None:
        cursor = conn.execute(_LOOK_PRIVATE, (client_msg_id, customer_id))
    else:
        cursor = conn.execute(_LOOK_BY_ID, (client_msg_id, room_id, site_id))
    return lambda: _send_lookup(cursor.fetchone(), site_id, customer_id)


def _send_lookup(row: Row | None, site_id: str, customer_id: str) -> SendLookup | None:
    if row is None:
        return None
    own = row[9] == customer_id and row[23] == site_id and row[24] is None
    return SendLookup(_looked_room(row), row[22], own)


class _Lookups:
    """A batched group's lookups of shoppers' conversations (`_LOOK_PRIVATE_MANY`): asked
    together when the first answer is read, which is after every job's lookup (`Phased`).
    One statement instead of one per job: the writer pays for one cursor, one statement
    cache lookup and one set of B-tree cursors opened, not for each message's."""

    __slots__ = ("asked", "keys", "rows")

    def __init__(self) -> None:
        self.keys: list[tuple[str, str]] = []
        self.rows: dict[int, Row] = {}
        self.asked = 0  # keys[:asked] have been asked

    def add(
        self, conn: Tx, site_id: str, customer_id: str, client_msg_id: str
    ) -> Callable[[], SendLookup | None]:
        index = len(self.keys)
        self.keys.append((customer_id, client_msg_id))

        def answer() -> SendLookup | None:
            if index >= self.asked:
                self._ask(conn)
            return _send_lookup(self.rows.get(index), site_id, customer_id)

        return answer

    def _ask(self, conn: Tx) -> None:
        # A key looked up after the first answer was read (no job does that) is asked then.
        start, self.asked = self.asked, len(self.keys)
        if self.asked - start == 1:  # one alone: the plain lookup costs less than the JSON
            customer_id, client_msg_id = self.keys[start]
            row = conn.execute(_LOOK_PRIVATE, (client_msg_id, customer_id)).fetchone()
            if row is not None:
                self.rows[start] = row
            return
        keys = json.dumps(self.keys[start:])
        for row in conn.execute(_LOOK_PRIVATE_MANY, (keys,)):
            self.rows[start + row[25]] = row


def append_later(
    conn: Tx,
    room: Room,
    kind: str,
    body: str,
    author: Author,
    client_msg_id: str | None,
    written: Written | None = None,
) -> Callable[[], tuple[Message, Room]]:
    """`append_and_load` without waiting for anything: the answer, read once the statements
    are answered, gives the message and the room as it left it. `room` must be as this
    transaction last wrote it (`look_for_send`'s, or `load_room`'s): the room is built from
    it (only its seq, `updated_at` and latest message change), not read again. With a
    phased group's `written`, its statements may wait for the group's (`Written.defer`)."""
    stored = _append(conn, room, kind, body, author, client_msg_id, None, None, (), True, written)

    def answer() -> tuple[Message, Room]:
        message = stored()
        preview = _preview(body, kind, author.kind, message.created_at)
        return message, _appended(room, message.seq, message.created_at, preview)

    return answer


def _appended(room: Room, seq: int, at: str, preview: dict[str, Any]) -> Room:
    """`room` after an append (`dataclasses.replace` of three fields, without its cost per
    message), its `extra` in `row_to_room`'s order: the customer, the latest message, the rest."""
    extra: dict[str, Any] = {}
    if "customer" in room.extra:
        extra["customer"] = room.extra["customer"]
    extra["last_message"] = preview
    for key, value in room.extra.items():
        if key != "last_message":
            extra[key] = value
    return Room(
        room.id,
        room.site_id,
        room.kind,
        room.status,
        seq,
        room.created_at,
        at,
        room.name,
        room.customer_id,
        room.assignee_id,
        room.assignee_name,
        extra,
        room.position,
        room.archived,
        room.slow_mode_seconds,
        room.pinned,
        room.visitor_images,
        room.snoozed_until,
        room.superseded_at,
        room.last_rev,
    )


def current_room(conn: Tx, customer_id: str) -> Room | None:
    """The customer's current conversation, inside a write."""
    row = conn.execute(ROOM_SELECT.format(extra="") + _PRIVATE, (customer_id,)).fetchone()
    return row_to_room(row) if row else None


def supersede(conn: Tx, room: Room) -> Room:
    """The conversation stops being its customer's current one (their next message starts
    another); it keeps everything else."""
    conn.execute(
        "UPDATE rooms SET superseded_at = ? WHERE id = ? AND superseded_at IS NULL",
        (now_iso(), room.id),
    )
    reloaded = load_room(conn, room.site_id, room.id)
    assert reloaded is not None
    return reloaded


def room_for_send(conn: Tx, site_id: str, room_id: str, client_msg_id: str) -> SendTarget | None:
    """`load_room`, and the message the client_msg_id stored there already, in one statement."""
    row = conn.execute(
        ROOM_SELECT.format(extra=_SENT) + " WHERE r.id = ? AND r.site_id = ?",
        (client_msg_id, room_id, site_id),
    ).fetchone()
    return _send_target(conn, row) if row else None


def find_by_client_msg_id(conn: Tx, room_id: str, client_msg_id: str) -> Message | None:
    row = conn.execute(
        MESSAGE_SELECT + " WHERE m.room_id = ? AND m.client_msg_id = ?", (room_id, client_msg_id)
    ).fetchone()
    return row_to_message(row) if row else None


def load_message(conn: Tx, room_id: str, message_id: str) -> Message | None:
    row = conn.execute(
        MESSAGE_SELECT + " WHERE m.id = ? AND m.room_id = ?", (message_id, room_id)
    ).fetchone()
    return row_to_message(row) if row else None


def message_of_site(conn: Tx, site_id: str, message_id: str) -> Message | None:
    """A message of the site by its id alone (another site's id: None)."""
    row = conn.execute(
        MESSAGE_SELECT + " WHERE m.id = ? AND m.site_id = ?", (message_id, site_id)
    ).fetchone()
    return row_to_message(row) if row else None


def next_rev(conn: Tx, message_id: str) -> int:
    """The message's room takes its next rev: `sync {since_rev}` finds the change by it.
    Every change to a stored message takes one (edit, unsend, hide, unhide)."""
    row = conn.execute(
        "UPDATE rooms SET last_rev = last_rev + 1"
        " WHERE id = (SELECT room_id FROM messages WHERE id = ?) RETURNING last_rev",
        (message_id,),
    ).fetchone()
    return int(row[0])


def edit_message(conn: Tx, message_id: str, body: str, at: str) -> None:
    """The new text replaces the old one (the search index follows `body`)."""
    conn.execute(
        "UPDATE messages SET body = ?, edited_at = ?, rev = ? WHERE id = ?",
        (body, at, next_rev(conn, message_id), message_id),
    )


def unsend_message(conn: Tx, message_id: str, at: str) -> None:
    """A tombstone: no text, no files (the search index forgets its words)."""
    conn.execute(
        "UPDATE messages SET body = '', attachments = NULL, deleted_at = ?, rev = ? WHERE id = ?",
        (at, next_rev(conn, message_id), message_id),
    )


# The insert reads the seq the bump just took (same transaction): it need not wait for the
# bump's answer, so on PostgreSQL both go in one round trip (store/postgres_db.py, pipeline).
# SQLite reads the bump's row at once (`_answered_now`).
_BUMP_SEQ = (
    "UPDATE rooms SET last_seq = last_seq + 1, updated_at = ? WHERE id = ? RETURNING last_seq"
)
_NEXT_SEQ = "(SELECT last_seq FROM rooms WHERE id = ?)"
_INSERT_MESSAGE = (
    "INSERT INTO messages (id, site_id, room_id, seq, kind, body, author_kind, author_id,"
    " author_name, client_msg_id, created_at, reply_to_id, event, attachments, in_public)"
    f" VALUES (?, ?, ?, {_NEXT_SEQ}, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# When the job knows the room's seq as this transaction left it (`append_later`), the same
# rows are written with the next seq given, and nothing is left to answer (on SQLite,
# RETURNING alone doubles the bump's cost). Were the room stale, its next seq would be a
# stored message's and the insert would fail (unique room_id, seq): the group then runs
# again, job by job.
_BUMP_KNOWN_SEQ = "UPDATE rooms SET last_seq = last_seq + 1, updated_at = ? WHERE id = ?"
_INSERT_AT_SEQ = _INSERT_MESSAGE.replace(_NEXT_SEQ, "?")
# The same for a whole group in one statement each (PostgreSQL, `Written.multirow`): every
# row a statement executes alone costs PostgreSQL more than the row it writes
# (bench/README.md, "PostgreSQL: a group's appends in one statement each"). A group appends
# to a room at most once (`Phased.write`), so each room is bumped once.
_BUMP_ROOMS = (
    "UPDATE rooms SET last_seq = last_seq + 1, updated_at = v.at"
    " FROM unnest(?::text[], ?::text[]) AS v(at, id) WHERE rooms.id = v.id"
)
_MESSAGE_TYPES = ("text", "text", "text", "bigint", *("text",) * 10, "bigint")
_INSERT_ROWS = (
    _INSERT_MESSAGE.split(" VALUES ")[0]
    + " SELECT * FROM unnest("
    + ", ".join(f"?::{kind}[]" for kind in _MESSAGE_TYPES)
    + ")"
)


def _columns(rows: list[Sequence[Any]]) -> list[list[Any]]:
    return [list(column) for column in zip(*rows, strict=True)]


def _bump_rows(rows: list[Sequence[Any]]) -> tuple[str, Sequence[Any]]:
    return _BUMP_ROOMS, _columns(rows)


def _insert_rows(rows: list[Sequence[Any]]) -> tuple[str, Sequence[Any]]:
    return _INSERT_ROWS, _columns(rows)


def _answered_now(conn: Tx, cursor: Cursor) -> Row | None:
    """The statement's first row where reading it now costs no wait, else None (read later).

    SQLite answered the statement as it ran: reading its row now finishes it, so no write
    statement stays open while the job's next one runs (an INSERT then keeps a statement
    journal) or after the job failed (SQLite then refuses the next job's SAVEPOINT: "SQL
    statements in progress", and the whole batch fails). PostgreSQL's write batches would
    wait a round trip for it (`sql.check_later` tells the two apart the same way).
    """
    if getattr(conn, "check_later", None) is None:
        row: Row | None = cursor.fetchone()
        return row
    return None


def _append(
    conn: Tx,
    room: Room,
    kind: str,
    body: str,
    author: Author,
    client_msg_id: str | None,
    reply_to: Message | None,
    event: dict[str, Any] | None,
    attachments: tuple[Attachment, ...],
    known_seq: bool = False,
    written: Written | None = None,
) -> Callable[[], Message]:
    """Send the statements that append a message; the answer gives the stored message.
    `known_seq`: `room.last_seq` is the room's as this transaction last wrote it; then a
    phased group's `written` may hold both statements for its `flush`."""
    now = now_iso()
    message_id = new_ordered_id("msg")
    params = (
        message_id,
        room.site_id,
        room.id,
        room.last_seq + 1 if known_seq else room.id,
        kind,
        body,
        author.kind,
        author.id,
        author.name,
        client_msg_id,
        now,
        reply_to.id if reply_to else None,
        json.dumps(event) if event is not None else None,
        message_column(attachments),
        # Only a public room's posts go in the author index (schema 0022).
        1 if room.kind == "public" else None,
    )
    bump = bumped = None
    if not known_seq:
        bump = conn.execute(_BUMP_SEQ, (now, room.id))
        bumped = _answered_now(conn, bump)
        conn.execute(_INSERT_MESSAGE, params)
    elif written is not None:
        # Each is the same statement as every other job's of the group: at the group's
        # end, one executemany each. The insert does not read the bump's row.
        written.defer(conn, _BUMP_KNOWN_SEQ, (now, room.id), _bump_rows)
        written.defer(conn, _INSERT_AT_SEQ, params, _insert_rows)
    else:
        conn.execute(_BUMP_KNOWN_SEQ, (now, room.id))
        conn.execute(_INSERT_AT_SEQ, params)

    def stored() -> Message:
        return Message(
            message_id,
            room.site_id,
            room.id,
            room.last_seq + 1 if bump is None else (bumped or bump.fetchone())[0],
            kind,  # type: ignore[arg-type]
            body,
            author,
            client_msg_id,
            now,
            quote_of(reply_to) if reply_to else None,
            event=event,
            attachments=attachments,
        )

    return stored


def append_message(
    conn: Tx,
    room: Room,
    kind: str,
    body: str,
    author: Author,
    client_msg_id: str | None = None,
    reply_to: Message | None = None,
    event: dict[str, Any] | None = None,
    attachments: tuple[Attachment, ...] = (),
) -> Message:
    return _append(conn, room, kind, body, author, client_msg_id, reply_to, event, attachments)()


def append_and_load(
    conn: Tx,
    room: Room,
    kind: str,
    body: str,
    author: Author,
    client_msg_id: str | None = None,
    reply_to: Message | None = None,
    attachments: tuple[Attachment, ...] = (),
) -> tuple[Message, Room]:
    """`append_message`, then `load_room`: on PostgreSQL, all in one round trip."""
    stored = _append(conn, room, kind, body, author, client_msg_id, reply_to, None, attachments)
    after = conn.execute(_ROOM_BY_ID, (room.id, room.site_id))
    message = stored()
    return message, row_to_room(after.fetchone())


def update_room(conn: Tx, room: Room, status: str, assignee_id: str | None) -> None:
    # Each resolve starts a new resolution: the one a shopper's rating belongs to. A resolve
    # also ends a snooze: there is nothing left to come back to.
    now = now_iso()
    conn.execute(
        "UPDATE rooms SET status = ?, assignee_id = ?, updated_at = ?, resolution_id = CASE"
        " WHEN ? = 'resolved' AND status != 'resolved' THEN ? ELSE resolution_id END,"
        " snoozed_until = CASE WHEN ? = 'resolved' THEN NULL ELSE snoozed_until END WHERE id = ?",
        (status, assignee_id, now, status, new_id("res"), status, room.id),
    )
    snoozed = room.snoozed and status != "resolved"
    was_waiting = waiting(room.kind, room.status, room.assignee_id, room.snoozed)
    if waiting(room.kind, status, assignee_id, snoozed) and not was_waiting:
        routing_store.enqueue(conn, room.site_id, room.id, now)
    if assignee_id is not None and assignee_id != room.assignee_id:
        routing_store.mark_assigned(conn, room.id, assignee_id, now, from_queue=was_waiting)


def set_read_mark(conn: Tx, room_id: str, reader_kind: str, reader_id: str, seq: int) -> int:
    """Read marks only move forward; answers the mark as stored."""
    conn.execute(
        "INSERT INTO read_marks (room_id, reader_kind, reader_id, seq) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (room_id, reader_kind, reader_id) DO UPDATE SET seq = CASE"
        " WHEN excluded.seq > read_marks.seq THEN excluded.seq ELSE read_marks.seq END",
        (room_id, reader_kind, reader_id, seq),
    )
    return conn.execute(
        "SELECT seq FROM read_marks WHERE room_id = ? AND reader_kind = ? AND reader_id = ?",
        (room_id, reader_kind, reader_id),
    ).fetchone()[0]


@dataclass(frozen=True, slots=True)
class Rating:
    """A shopper's rating of a resolved conversation, as its transcript shows it."""

    id: str
    score: int
    comment: str | None
    at: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": "rating",
            "at": self.at,
            "rating": {"score": self.score, "comment": self.comment},
        }


def insert_rating(
    conn: Tx, room: Room, customer_id: str, score: int, comment: str | None
) -> Rating | None:
    """One rating per resolution: a later one replaces it. None when the room is not resolved."""
    row = conn.execute(
        "SELECT resolution_id FROM rooms WHERE id = ? AND status = 'resolved'", (room.id,)
    ).fetchone()
    if row is None:
        return None
    now = now_iso()
    rating_id = conn.execute(
        "INSERT INTO ratings (id, site_id, room_id, customer_id, score, comment, created_at,"
        " resolution_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (resolution_id) WHERE resolution_id IS NOT NULL DO UPDATE SET"
        " customer_id = excluded.customer_id, score = excluded.score,"
        " comment = excluded.comment, created_at = excluded.created_at RETURNING id",
        (
            new_id("rat"),
            room.site_id,
            room.id,
            customer_id,
            score,
            comment,
            now,
            row["resolution_id"] or f"res_legacy_{room.id}",
        ),
    ).fetchone()[0]
    return Rating(rating_id, score, comment, now)


async def ratings(db: Database, room_id: str, limit: int) -> list[Rating]:
    """The room's latest ratings, newest first."""
    rows = await db.fetch_all(
        "SELECT id, score, comment, created_at FROM ratings WHERE room_id = ?"
        " ORDER BY created_at DESC LIMIT ?",
        (room_id, limit),
    )
    return [Rating(r["id"], r["score"], r["comment"], r["created_at"]) for r in rows]


@dataclass(frozen=True, slots=True)
class MessagePlace:
    """The room a message was posted in."""

    room_id: str
    room_kind: RoomKind


async def authored_message_place(
    db: Database, site_id: str, message_id: str, author_id: str
) -> MessagePlace | None:
    """Where `author_id` posted `message_id` (None: not theirs, or not of this site)."""
    row = await db.fetch_one(
        "SELECT m.room_id, r.kind FROM messages m JOIN rooms r ON r.id = m.room_id"
        " WHERE m.id = ? AND m.site_id = ? AND m.author_id = ?",
        (message_id, site_id, author_id),
    )
    return MessagePlace(row["room_id"], row["kind"]) if row else None


async def latest_customer_message(db: Database, room_id: str) -> Message | None:
    """The newest visible text a customer wrote in the room (what suggestions answer)."""
    row = await db.fetch_one(
        MESSAGE_SELECT + " WHERE m.room_id = ? AND m.author_kind = 'customer' AND m.kind = 'text'"
        " AND m.hidden = 0 ORDER BY m.seq DESC LIMIT 1",
        (room_id,),
    )
    return row_to_message(row) if row else None


# -- reads -------------------------------------------------------------------


async def get_room(db: Database, site_id: str, room_id: str) -> Room | None:
    row = await db.fetch_one(
        ROOM_SELECT.format(extra="") + " WHERE r.id = ? AND r.site_id = ?", (room_id, site_id)
    )
    return row_to_room(row) if row else None


async def get_private_room(db: Database, customer_id: str) -> Room | None:
    """The customer's current conversation (None: none yet, or they left the last one)."""
    row = await db.fetch_one(ROOM_SELECT.format(extra="") + _PRIVATE, (customer_id,))
    return row_to_room(row) if row else None


@dataclass(frozen=True, slots=True)
class PastConversation:
    """One of a shopper's earlier conversations, as their widget lists it (no notes, no
    staff names beyond what the shopper saw)."""

    id: str
    status: str
    created_at: str
    updated_at: str
    superseded_at: str
    last_message: dict[str, Any] | None  # {"body", "author_kind", "created_at"}
    rated: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "superseded_at": self.superseded_at,
            "last_message": self.last_message,
            "rated": self.rated,
        }


# The latest message a shopper may see (no note, nothing hidden or system) and whether the
# conversation's last resolution was rated.
_PAST = """
SELECT r.id, r.status, r.created_at, r.updated_at, r.superseded_at,
       m.body AS lm_body, m.author_kind AS lm_author_kind, m.created_at AS lm_created_at,
       m.deleted_at AS lm_deleted_at,
       EXISTS (SELECT 1 FROM ratings g WHERE g.room_id = r.id AND g.resolution_id =
               COALESCE(r.resolution_id, 'res_legacy_' || r.id)) AS rated
FROM rooms r
LEFT JOIN messages m ON m.id = (SELECT v.id FROM messages v WHERE v.room_id = r.id
    AND v.kind = 'text' AND v.hidden = 0 ORDER BY v.seq DESC LIMIT 1)
WHERE r.customer_id = ? AND r.kind = 'private' AND r.superseded_at IS NOT NULL
ORDER BY r.created_at DESC LIMIT ?
"""


async def past_conversations(
    db: Database, customer_id: str, limit: int = 50
) -> list[PastConversation]:
    """The customer's earlier conversations, newest first."""
    return _past_from_rows(await db.fetch_all(_PAST, (customer_id, limit)))


def load_past_conversations(conn: Tx, customer_id: str, limit: int = 50) -> list[PastConversation]:
    """`past_conversations` on a connection already held (one reader hop: `Database.read`)."""
    return _past_from_rows(conn.execute(_PAST, (customer_id, limit)).fetchall())


def _past_from_rows(rows: list[Row]) -> list[PastConversation]:
    out = []
    for r in rows:
        last = None
        if r["lm_author_kind"] is not None:
            body = "" if r["lm_deleted_at"] else r["lm_body"][:200]
            last = {
                "body": body,
                "author_kind": r["lm_author_kind"],
                "created_at": r["lm_created_at"],
            }
        out.append(
            PastConversation(
                r["id"],
                r["status"],
                r["created_at"],
                r["updated_at"],
                r["superseded_at"],
                last,
                bool(r["rated"]),
            )
        )
    return out


async def list_rooms(
    db: Database,
    site_id: str,
    viewer_agent_id: str | None,
    *,
    kind: str | None = None,
    status: str | None = None,
    assignee: str | None = None,
    archived: bool | None = None,
    team: str | None = None,
    label: str | None = None,
    snoozed: bool | None = None,
    limit: int = 500,
) -> list[Room]:
    sql, params = _rooms_query(
        site_id,
        viewer_agent_id,
        kind=kind,
        status=status,
        assignee=assignee,
        archived=archived,
        team=team,
        label=label,
        snoozed=snoozed,
        limit=limit,
    )
    return [row_to_room(r) for r in await db.fetch_all(sql, params)]


def public_rooms(conn: Tx, site_id: str) -> list[Room]:
    """The site's unarchived public rooms in their owners' order (on a connection already
    held: `Database.read`)."""
    sql, params = _rooms_query(site_id, None, kind="public", archived=False, limit=500)
    return [row_to_room(r) for r in conn.execute(sql, params).fetchall()]


def _rooms_query(
    site_id: str,
    viewer_agent_id: str | None,
    *,
    kind: str | None = None,
    status: str | None = None,
    assignee: str | None = None,
    archived: bool | None = None,
    team: str | None = None,
    label: str | None = None,
    snoozed: bool | None = None,
    limit: int,
) -> tuple[str, tuple[Any, ...]]:
    where, params = ["r.site_id = ?"], [site_id]
    if team == "none":
        where.append("r.kind = 'private' AND r.team_id IS NULL")
    elif team:
        where.append("r.team_id = ?")
        params.append(team)
    if label:
        where.append(
            "EXISTS (SELECT 1 FROM room_labels x WHERE x.room_id = r.id AND x.label_id = ?)"
        )
        params.append(label)
    if snoozed is not None:
        where.append("r.snoozed_until IS " + ("NOT NULL" if snoozed else "NULL"))
    if kind:
        where.append("r.kind = ?")
        params.append(kind)
    if status:
        where.append("r.status = ?")
        params.append(status)
    if assignee:
        # Only conversations are assigned: public rooms never show up in assignee filters.
        where.append("r.kind = 'private'")
    if assignee == "none":
        where.append("r.assignee_id IS NULL")
    elif assignee:
        where.append("r.assignee_id = ?")
        params.append(assignee)
    if archived is not None:
        where.append("r.archived = " + ("1" if archived else "0"))
    extra = AGENT_UNREAD + UNANSWERED if viewer_agent_id else ""
    # Public rooms keep the order their owners gave them; conversations, newest activity first.
    # Resolved ones are read in that order from their index, by the column that is
    # `updated_at` for them alone (schema 0024: a message changes no indexed value).
    if kind == "public":
        order = "r.position, r.created_at"
    elif status == "resolved":
        order = "r.resolved_updated_at DESC"
    else:
        order = "r.updated_at DESC"
    sql = (
        ROOM_SELECT.format(extra=extra)
        + " WHERE "
        + " AND ".join(where)
        + f" ORDER BY {order} LIMIT ?"
    )
    head = [viewer_agent_id] * AGENT_UNREAD.count("?") if viewer_agent_id else []
    return sql, (*head, *params, limit)


def _visibility(include_notes: bool, include_hidden: bool) -> str:
    return ("" if include_notes else " AND m.kind != 'note'") + (
        "" if include_hidden else " AND m.hidden = 0"
    )


async def messages_after(
    db: Database,
    room_id: str,
    after_seq: int,
    limit: int,
    *,
    include_notes: bool,
    include_hidden: bool | None = None,
) -> tuple[list[Message], bool]:
    """Oldest first. Hidden messages follow notes unless told: staff see both, visitors neither."""
    hidden = include_notes if include_hidden is None else include_hidden
    rows = await db.fetch_all(
        MESSAGE_SELECT
        + " WHERE m.room_id = ? AND m.seq > ?"
        + _visibility(include_notes, hidden)
        + " ORDER BY m.seq LIMIT ?",
        (room_id, after_seq, limit + 1),
    )
    return [row_to_message(r, for_visitor=not hidden) for r in rows[:limit]], len(rows) > limit


@dataclass(frozen=True, slots=True)
class Changes:
    """Messages changed since a client's rev, and the rev it holds once it applied them
    (short of the room's when more changed than one page). For a visitor, `withdrawn`
    holds the ids of those hidden now: they may not read them, but must drop them."""

    messages: list[Message]
    rev: int
    more: bool
    withdrawn: list[str]


async def messages_changed(
    db: Database, room_id: str, upto_seq: int, revs: tuple[int, int], limit: int, *, staff: bool
) -> Changes:
    """Messages up to `upto_seq` changed (edited, unsent, hidden, unhidden) within the revs
    (after, up to], in rev order; a visitor's hidden ones count against `limit` as ids.
    `rev > 0` lets both backends use the partial index of changed messages."""
    rows = await db.fetch_all(
        MESSAGE_SELECT
        + " WHERE m.room_id = ? AND m.rev > 0 AND m.rev > ? AND m.rev <= ? AND m.seq <= ?"
        + _visibility(staff, True)
        + " ORDER BY m.rev LIMIT ?",
        (room_id, revs[0], revs[1], upto_seq, limit + 1),
    )
    page: list[Message] = []
    withdrawn: list[str] = []
    for row in rows[:limit]:
        if row["hidden"] and not staff:
            withdrawn.append(row["id"])
        else:
            page.append(row_to_message(row, for_visitor=not staff))
    more = len(rows) > limit
    return Changes(page, int(rows[limit - 1]["rev"]) if more else revs[1], more, withdrawn)


async def messages_before(
    db: Database, room_id: str, before_seq: int | None, limit: int, *, staff: bool
) -> tuple[list[Message], bool]:
    """The `limit` messages before `before_seq` (None: the newest), oldest first."""
    before = 2**62 + 1 if before_seq is None else before_seq
    rows = await db.fetch_all(
        MESSAGE_SELECT
        + " WHERE m.room_id = ? AND m.seq < ?"
        + _visibility(staff, staff)
        + " ORDER BY m.seq DESC LIMIT ?",
        (room_id, before, limit + 1),
    )
    page = [row_to_message(r, for_visitor=not staff) for r in rows[:limit]]
    page.reverse()
    return page, len(rows) > limit


# Agent messages after the customer's read mark.
_CUSTOMER_UNREAD = (
    "SELECT count(*) AS n FROM messages WHERE room_id = ? AND author_kind = 'agent'"
    " AND kind = 'text' AND seq > COALESCE((SELECT seq FROM read_marks WHERE room_id = ?"
    " AND reader_kind = 'customer' AND reader_id = ?), 0)"
)


async def customer_unread(db: Database, room_id: str, customer_id: str) -> int:
    row = await db.fetch_one(_CUSTOMER_UNREAD, (room_id, room_id, customer_id))
    return int(row["n"]) if row else 0


def load_customer_unread(conn: Tx, room_id: str, customer_id: str) -> int:
    """`customer_unread` on a connection already held (`Database.read`)."""
    row = conn.execute(_CUSTOMER_UNREAD, (room_id, room_id, customer_id)).fetchone()
    return int(row["n"]) if row else 0
