"""Email's tables: the outbox, inbound mail, and conversations with replies to email."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chat_server.domain.mail import REPLY_DELAY_S
from chat_server.domain.models import Message, Room
from chat_server.ids import format_time, new_id, now_iso
from chat_server.store.database import Database
from chat_server.store.rooms import MESSAGE_SELECT, get_room, row_to_message
from chat_server.store.sql import Row, Tx

OUTBOX_COLUMNS = (
    "id, site_id, idem_key, customer_id, room_id, kind, to_addr, to_name, subject, text_body,"
    " html_body, reply_to, unsubscribe_url, status, attempts, last_error, created_at, sent_at"
)


@dataclass(frozen=True, slots=True)
class NewMail:
    site_id: str
    idem_key: str  # one email per key, ever: a retried enqueue stores nothing new
    kind: str  # reply, transcript, notify, test
    to_addr: str
    subject: str
    text_body: str
    html_body: str
    to_name: str = ""
    customer_id: str | None = None
    room_id: str | None = None
    reply_to: str | None = None
    unsubscribe_url: str | None = None


@dataclass(frozen=True, slots=True)
class OutboxMail:
    id: str
    site_id: str
    idem_key: str
    customer_id: str | None
    room_id: str | None
    kind: str
    to_addr: str
    to_name: str
    subject: str
    text_body: str
    html_body: str
    reply_to: str | None
    unsubscribe_url: str | None
    status: str  # queued, sent, failed
    attempts: int
    last_error: str | None
    created_at: str
    sent_at: str | None

    @property
    def at(self) -> str:
        return self.sent_at or self.created_at

    def to_json(self) -> dict[str, Any]:
        """As the customer's timeline and the outbox list show it (no bodies)."""
        return {
            "id": self.id,
            "kind": "email",
            "at": self.at,
            "email": {
                "direction": "out",
                "type": self.kind,
                "to": self.to_addr,
                "subject": self.subject,
                "status": self.status,
                "attempts": self.attempts,
                "error": self.last_error,
                "room_id": self.room_id,
            },
        }


def _outbox(row: Row) -> OutboxMail:
    return OutboxMail(*(row[i] for i in range(18)))


def enqueue(conn: Tx, mail: NewMail, at: str | None = None) -> bool:
    """Queue a mail; False when its idempotency key is already queued or sent."""
    now = at or now_iso()
    inserted = conn.execute(
        "INSERT INTO mail_outbox (id, site_id, idem_key, customer_id, room_id, kind, to_addr,"
        " to_name, subject, text_body, html_body, reply_to, unsubscribe_url, next_attempt_at,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (idem_key) DO NOTHING RETURNING id",
        (
            new_id("mail"),
            mail.site_id,
            mail.idem_key,
            mail.customer_id,
            mail.room_id,
            mail.kind,
            mail.to_addr,
            mail.to_name,
            mail.subject,
            mail.text_body,
            mail.html_body,
            mail.reply_to,
            mail.unsubscribe_url,
            now,
            now,
        ),
    ).fetchone()
    return inserted is not None


def claim_due(conn: Tx, now: str, lease_until: str, limit: int) -> list[OutboxMail]:
    """Queued mails whose time has come and that nobody holds, leased to the caller.

    Runs inside the write transaction: two processes never claim the same mail, and a
    process that dies holding one lets it go when the lease ends.
    """
    rows = conn.execute(
        f"SELECT {OUTBOX_COLUMNS} FROM mail_outbox WHERE status = 'queued'"
        " AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)"
        " ORDER BY next_attempt_at, id LIMIT ?",
        (now, now, limit),
    ).fetchall()
    for row in rows:
        conn.execute("UPDATE mail_outbox SET lease_until = ? WHERE id = ?", (lease_until, row[0]))
    return [_outbox(r) for r in rows]


def mark_sent(conn: Tx, mail_id: str, at: str) -> None:
    conn.execute(
        "UPDATE mail_outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1,"
        " lease_until = NULL, last_error = NULL WHERE id = ?",
        (at, mail_id),
    )


def mark_retry(conn: Tx, mail_id: str, error: str, next_at: str) -> None:
    conn.execute(
        "UPDATE mail_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,"
        " lease_until = NULL WHERE id = ? AND status = 'queued'",
        (error[:500], next_at, mail_id),
    )


def mark_failed(conn: Tx, mail_id: str, error: str) -> None:
    conn.execute(
        "UPDATE mail_outbox SET status = 'failed', attempts = attempts + 1, last_error = ?,"
        " lease_until = NULL WHERE id = ?",
        (error[:500], mail_id),
    )


async def outbox_of_site(db: Database, site_id: str, limit: int = 100) -> list[OutboxMail]:
    rows = await db.fetch_all(
        f"SELECT {OUTBOX_COLUMNS} FROM mail_outbox WHERE site_id = ?"
        " ORDER BY created_at DESC, id DESC LIMIT ?",
        (site_id, limit),
    )
    return [_outbox(r) for r in rows]


async def outbox_of_customer(db: Database, customer_id: str) -> list[OutboxMail]:
    rows = await db.fetch_all(
        f"SELECT {OUTBOX_COLUMNS} FROM mail_outbox WHERE customer_id = ?"
        " ORDER BY created_at, id LIMIT 500",
        (customer_id,),
    )
    return [_outbox(r) for r in rows]


# -- inbound ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InboundMail:
    id: str
    customer_id: str | None
    room_id: str | None
    from_addr: str
    subject: str
    outcome: str  # posted, or why it was not: sender, loop, unknown, too_large, empty
    received_at: str

    @property
    def at(self) -> str:
        return self.received_at

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": "email",
            "at": self.received_at,
            "email": {
                "direction": "in",
                "from": self.from_addr,
                "subject": self.subject,
                "outcome": self.outcome,
                "room_id": self.room_id,
            },
        }


def record_inbound(
    conn: Tx,
    message_key: str,
    site_id: str | None,
    customer_id: str | None,
    room_id: str | None,
    from_addr: str,
    subject: str,
    outcome: str,
) -> bool:
    """One row per received mail (by its Message-ID); False when it was seen before."""
    row = conn.execute(
        "INSERT INTO mail_inbound (id, message_key, site_id, customer_id, room_id, from_addr,"
        " subject, outcome, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (message_key) DO NOTHING RETURNING id",
        (
            new_id("inm"),
            message_key,
            site_id,
            customer_id,
            room_id,
            from_addr[:254],
            subject[:200],
            outcome,
            now_iso(),
        ),
    ).fetchone()
    return row is not None


async def inbound_of_customer(db: Database, customer_id: str) -> list[InboundMail]:
    rows = await db.fetch_all(
        "SELECT id, customer_id, room_id, from_addr, subject, outcome, received_at"
        " FROM mail_inbound WHERE customer_id = ? ORDER BY received_at, id LIMIT 500",
        (customer_id,),
    )
    return [InboundMail(*(r[i] for i in range(7))) for r in rows]


# -- conversations answered by email ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class MailThread:
    room_id: str
    site_id: str
    customer_id: str
    due_at: str | None
    emailed_seq: int


def schedule_reply(conn: Tx, room: Room) -> None:
    """An agent answered in `room`: its customer is emailed after the site's delay unless
    they read the reply in the widget first (checked when the delay is over)."""
    if room.kind != "private" or room.customer_id is None:
        return
    row = conn.execute("SELECT email_settings FROM sites WHERE id = ?", (room.site_id,)).fetchone()
    delay = json.loads(row[0]).get("reply_delay_seconds", REPLY_DELAY_S) if row else REPLY_DELAY_S
    due = format_time(datetime.now(UTC) + timedelta(seconds=delay))
    reply_due(conn, room.id, room.site_id, room.customer_id, due)


async def room_by_id(db: Database, room_id: str) -> Room | None:
    """The room a signed reply address names (its site comes from the room itself)."""
    row = await db.fetch_one("SELECT site_id FROM rooms WHERE id = ?", (room_id,))
    return await get_room(db, row[0], room_id) if row else None


def reply_due(conn: Tx, room_id: str, site_id: str, customer_id: str, due_at: str) -> None:
    """An agent replied: email the conversation at `due_at`, unless a mail is already due
    (replies close together go in that one)."""
    conn.execute(
        "INSERT INTO mail_threads (room_id, site_id, customer_id, due_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (room_id) DO UPDATE SET due_at = CASE"
        " WHEN mail_threads.due_at IS NULL THEN excluded.due_at ELSE mail_threads.due_at END",
        (room_id, site_id, customer_id, due_at),
    )


# The conversation's customer is read from the room (a merge moves the room to the known
# customer); a thread whose customer has no address yet stays due, untouched, so replies
# sent before the shopper gave one are emailed once they do (within `since`).
_THREAD = (
    "SELECT t.room_id, t.site_id, r.customer_id, t.due_at, t.emailed_seq FROM mail_threads t"
    " JOIN rooms r ON r.id = t.room_id JOIN customers c ON c.id = r.customer_id"
)


async def due_threads(db: Database, now: str, since: str, limit: int = 50) -> list[MailThread]:
    """Conversations due to be emailed (from `since` to `now`) whose customer has an address."""
    rows = await db.fetch_all(
        _THREAD + " WHERE t.due_at IS NOT NULL AND t.due_at <= ? AND t.due_at >= ?"
        " AND c.email IS NOT NULL ORDER BY t.due_at LIMIT ?",
        (now, since, limit),
    )
    return [MailThread(*(r[i] for i in range(5))) for r in rows]


def take_thread(conn: Tx, room_id: str, due_at: str) -> MailThread | None:
    """Claim a due conversation whose customer has an address (None when another process
    took it first, or the address is gone)."""
    row = conn.execute(
        _THREAD + " WHERE t.room_id = ? AND t.due_at = ? AND c.email IS NOT NULL",
        (room_id, due_at),
    ).fetchone()
    if row is None:
        return None
    conn.execute("UPDATE mail_threads SET due_at = NULL WHERE room_id = ?", (room_id,))
    return MailThread(*(row[i] for i in range(5)))


def set_emailed(conn: Tx, room_id: str, seq: int) -> None:
    conn.execute(
        "UPDATE mail_threads SET emailed_seq = CASE WHEN emailed_seq > ? THEN emailed_seq"
        " ELSE ? END WHERE room_id = ?",
        (seq, seq, room_id),
    )


def customer_read_seq(conn: Tx, room_id: str, customer_id: str) -> int:
    row = conn.execute(
        "SELECT seq FROM read_marks WHERE room_id = ? AND reader_kind = 'customer'"
        " AND reader_id = ?",
        (room_id, customer_id),
    ).fetchone()
    return int(row[0]) if row else 0


def visible_tail(conn: Tx, room_id: str, limit: int) -> list[Message]:
    """The conversation's last messages as the shopper sees them, oldest first."""
    rows = conn.execute(
        MESSAGE_SELECT + " WHERE m.room_id = ? AND m.kind != 'note' AND m.hidden = 0"
        " AND m.deleted_at IS NULL ORDER BY m.seq DESC LIMIT ?",
        (room_id, limit),
    ).fetchall()
    return [row_to_message(r, for_visitor=True) for r in reversed(rows)]


@dataclass(frozen=True, slots=True)
class Recipient:
    """A customer as email sees them: where to write, and whether they may be written to."""

    customer_id: str
    name: str | None
    email: str | None
    subscribed: bool  # False once they unsubscribed (consent "email" withdrawn)
    erased: bool


def recipient(conn: Tx, site_id: str, customer_id: str) -> Recipient | None:
    row = conn.execute(
        "SELECT c.id, c.name, c.email, c.erased_at, k.granted FROM customers c"
        " LEFT JOIN consents k ON k.customer_id = c.id AND k.kind = 'email'"
        " WHERE c.id = ? AND c.site_id = ?",
        (customer_id, site_id),
    ).fetchone()
    if row is None:
        return None
    return Recipient(row[0], row[1], row[2], row[4] != 0, row[3] is not None)


def customer_by_email(conn: Tx, site_id: str, email: str) -> list[str]:
    rows = conn.execute(
        "SELECT id FROM customers WHERE site_id = ? AND lower(email) = lower(?)"
        " AND erased_at IS NULL",
        (site_id, email),
    ).fetchall()
    return [r[0] for r in rows]


def set_customer_email(conn: Tx, customer_id: str, email: str) -> None:
    conn.execute("UPDATE customers SET email = ? WHERE id = ?", (email, customer_id))


# -- agents told about conversations that wait ------------------------------------------


def set_notify_after(conn: Tx, agent_id: str, minutes: int) -> None:
    conn.execute("UPDATE agents SET notify_after_minutes = ? WHERE id = ?", (minutes, agent_id))


async def notify_after(db: Database, agent_id: str) -> int:
    row = await db.fetch_one("SELECT notify_after_minutes FROM agents WHERE id = ?", (agent_id,))
    return int(row[0]) if row else 0


@dataclass(frozen=True, slots=True)
class Watcher:
    """An agent who wants an email when a conversation waits this many minutes."""

    id: str
    site_id: str
    email: str
    name: str
    role: str
    minutes: int


@dataclass(frozen=True, slots=True)
class Waiting:
    """A conversation whose last word is the shopper's, and since when."""

    room_id: str
    site_id: str
    assignee_id: str | None
    last_seq: int
    customer_name: str
    body: str
    since: str


async def watchers(db: Database) -> list[Watcher]:
    rows = await db.fetch_all(
        "SELECT id, site_id, email, name, role, notify_after_minutes FROM agents"
        " WHERE notify_after_minutes > 0 AND active = 1"
    )
    return [Watcher(*(r[i] for i in range(6))) for r in rows]


async def waiting_rooms(db: Database, site_id: str, since: str, before: str) -> list[Waiting]:
    """Open conversations whose last message is the shopper's, written between the times."""
    rows = await db.fetch_all(
        "SELECT r.id, r.site_id, r.assignee_id, r.last_seq, m.author_name, m.body, m.created_at"
        " FROM rooms r JOIN messages m ON m.room_id = r.id AND m.seq = r.last_seq"
        " WHERE r.site_id = ? AND r.kind = 'private' AND r.status != 'resolved'"
        " AND m.author_kind = 'customer' AND m.created_at >= ? AND m.created_at <= ?"
        " ORDER BY m.created_at LIMIT 200",
        (site_id, since, before),
    )
    return [Waiting(*(r[i] for i in range(7))) for r in rows]
