"""Writes to the customer record: profile, attributes, tags, notes, consent, orders, merge, erase.

Reads and the records they answer are in `customer_record.py`; RFM scores in `rfm_scores.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chat_server import errors
from chat_server.domain.crm_rules import MAX_ATTRIBUTES, OrderFields, ProfileFields
from chat_server.domain.message_edits import AUDIT_ACTIONS
from chat_server.ids import new_id, now_iso
from chat_server.store import attachments as attachment_store
from chat_server.store import faq as faq_store
from chat_server.store import labels as label_store
from chat_server.store import search as search_store
from chat_server.store.attachments import Blob
from chat_server.store.authored import authored, posted_or_in
from chat_server.store.customer_record import Note, OrderView
from chat_server.store.rfm_scores import mark_rfm_dirty, refresh_stats
from chat_server.store.sql import Tx

ERASED_BODY = "[dihapus atas permintaan pelanggan]"


# -- writes (writer thread) ------------------------------------------------------


def customer_by_external(conn: Tx, site_id: str, external_id: str) -> str | None:
    row = conn.execute(
        "SELECT id FROM customers WHERE site_id = ? AND external_id = ?", (site_id, external_id)
    ).fetchone()
    return row["id"] if row else None


def ensure_by_external(conn: Tx, site_id: str, external_id: str) -> str:
    found = customer_by_external(conn, site_id, external_id)
    if found:
        return found
    customer_id = new_id("cus")
    # Pushed in by the shop: not seen until they open the chat ('' is "never", see 0006).
    conn.execute(
        "INSERT INTO customers (id, site_id, external_id, created_at, last_seen_at)"
        " VALUES (?, ?, ?, ?, '')",
        (customer_id, site_id, external_id, now_iso()),
    )
    return customer_id


def apply_profile(conn: Tx, customer_id: str, fields: ProfileFields) -> None:
    for column in ("name", "email", "phone", "locale"):
        value = getattr(fields, column)
        if value is not None:
            conn.execute(
                f"UPDATE customers SET {column} = ? WHERE id = ?", (value or None, customer_id)
            )
    if fields.attributes:
        set_attributes(conn, customer_id, fields.attributes)
    for change in fields.consents:
        set_consent(conn, customer_id, change.kind, change.granted, change.source, change.at)
    if fields.tags is not None:
        conn.execute("DELETE FROM customer_tags WHERE customer_id = ?", (customer_id,))
        conn.executemany(
            "INSERT INTO customer_tags (customer_id, tag) VALUES (?, ?)",
            [(customer_id, tag) for tag in fields.tags],
        )


def set_attributes(conn: Tx, customer_id: str, attributes: dict[str, Any]) -> None:
    now = now_iso()
    for key, value in attributes.items():
        if value is None:
            conn.execute(
                "DELETE FROM customer_attributes WHERE customer_id = ? AND key = ?",
                (customer_id, key),
            )
        else:
            conn.execute(
                "INSERT INTO customer_attributes (customer_id, key, value, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (customer_id, key)"
                " DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (customer_id, key, json.dumps(value), now),
            )
    count = conn.execute(
        "SELECT count(*) FROM customer_attributes WHERE customer_id = ?", (customer_id,)
    ).fetchone()[0]
    if count > MAX_ATTRIBUTES:
        # Raised inside the write job: its savepoint rolls every change of this request back.
        raise errors.bad_request(f"a customer has at most {MAX_ATTRIBUTES} attributes")


def add_note(
    conn: Tx,
    site_id: str,
    customer_id: str,
    agent_id: str,
    agent_name: str,
    body: str,
) -> Note:
    note = Note(new_id("note"), body, agent_id, agent_name, now_iso())
    conn.execute(
        "INSERT INTO customer_notes (id, site_id, customer_id, agent_id, agent_name, body, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (note.id, site_id, customer_id, agent_id, agent_name, body, note.created_at),
    )
    return note


def set_consent(
    conn: Tx,
    customer_id: str,
    kind: str,
    granted: bool,
    source: str,
    at: str | None = None,
) -> None:
    conn.execute(
        "INSERT INTO consents (customer_id, kind, granted, source, at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (customer_id, kind) DO UPDATE SET granted = excluded.granted,"
        " source = excluded.source, at = excluded.at",
        (customer_id, kind, int(granted), source, at or now_iso()),
    )


def insert_order(
    conn: Tx, site_id: str, customer_id: str, fields: OrderFields
) -> tuple[OrderView, bool]:
    """(order, created). The same order_id again stores nothing and answers the stored order."""
    existing = conn.execute(
        "SELECT * FROM orders WHERE site_id = ? AND order_id = ?", (site_id, fields.order_id)
    ).fetchone()
    if existing is not None:
        if existing["customer_id"] != customer_id:
            raise errors.SapaError(
                errors.ErrorCode.CONFLICT, "that order_id belongs to another customer"
            )
        return OrderView.from_row(existing), False
    conn.execute(
        "INSERT INTO orders (id, site_id, customer_id, order_id, total, currency, items, placed_at,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            new_id("ord"),
            site_id,
            customer_id,
            fields.order_id,
            fields.total,
            fields.currency,
            json.dumps(fields.items),
            fields.placed_at,
            now_iso(),
        ),
    )
    refresh_stats(conn, site_id, customer_id)
    row = conn.execute(
        "SELECT * FROM orders WHERE site_id = ? AND order_id = ?", (site_id, fields.order_id)
    ).fetchone()
    return OrderView.from_row(row), True


def order_by_external(
    conn: Tx, site_id: str, external_id: str, fields: OrderFields
) -> tuple[OrderView, bool]:
    """Store an order of the shop's customer `external_id` (created when unknown).

    The order goes in its own savepoint: when it is refused (its order_id belongs to another
    customer) only the order is undone, so one bad line of an import batch leaves the rest
    of the batch's transaction whole. The refusal is raised.
    """
    customer_id = ensure_by_external(conn, site_id, external_id)
    conn.execute("SAVEPOINT order_line")
    try:
        stored = insert_order(conn, site_id, customer_id, fields)
    except errors.SapaError:
        conn.execute("ROLLBACK TO order_line")
        conn.execute("RELEASE order_line")
        raise
    conn.execute("RELEASE order_line")
    return stored


def profile_by_external(conn: Tx, site_id: str, external_id: str, fields: ProfileFields) -> str:
    """Upsert the shop's customer `external_id` with these fields; answers the customer's id."""
    customer_id = ensure_by_external(conn, site_id, external_id)
    apply_profile(conn, customer_id, fields)
    return customer_id


def merge(conn: Tx, site_id: str, anonymous_id: str, known_id: str) -> None:
    """Fold an anonymous visitor into the known customer: nothing lost, nothing duplicated."""
    if anonymous_id == known_id:
        return
    anon = conn.execute(
        "SELECT * FROM customers WHERE id = ? AND site_id = ?", (anonymous_id, site_id)
    ).fetchone()
    if anon is None:
        return
    if anon["external_id"] is not None:
        # A shared device must never hand one known customer's record to another.
        raise errors.SapaError(
            errors.ErrorCode.CONFLICT, "a known customer is never merged into another"
        )
    for column in ("name", "display_name", "email", "phone", "locale"):
        if anon[column]:
            conn.execute(
                f"UPDATE customers SET {column} = COALESCE({column}, ?) WHERE id = ?",
                (anon[column], known_id),
            )
    # The known record's own values win: the anonymous one's only fill gaps.
    conn.execute(
        "INSERT INTO customer_attributes (customer_id, key, value, updated_at)"
        " SELECT ?, key, value, updated_at FROM customer_attributes WHERE customer_id = ? AND true"
        " ON CONFLICT (customer_id, key) DO NOTHING",
        (known_id, anonymous_id),
    )
    conn.execute(
        "INSERT INTO customer_tags (customer_id, tag)"
        " SELECT ?, tag FROM customer_tags WHERE customer_id = ? AND true"
        " ON CONFLICT (customer_id, tag) DO NOTHING",
        (known_id, anonymous_id),
    )
    # The most recent consent decision wins, whichever record it was given on.
    conn.execute(
        "INSERT INTO consents (customer_id, kind, granted, source, at)"
        " SELECT ?, kind, granted, source, at FROM consents WHERE customer_id = ? AND true"
        " ON CONFLICT (customer_id, kind) DO UPDATE SET granted = excluded.granted,"
        " source = excluded.source, at = excluded.at WHERE excluded.at > consents.at",
        (known_id, anonymous_id),
    )
    for table in ("customer_attributes", "customer_tags", "consents"):
        conn.execute(f"DELETE FROM {table} WHERE customer_id = ?", (anonymous_id,))
    conn.execute(
        "UPDATE customer_notes SET customer_id = ? WHERE customer_id = ?", (known_id, anonymous_id)
    )
    conn.execute(
        "UPDATE orders SET customer_id = ? WHERE customer_id = ?", (known_id, anonymous_id)
    )
    for table in ("ratings", "faq_phrasings", "faq_events"):
        conn.execute(
            f"UPDATE {table} SET customer_id = ? WHERE customer_id = ?", (known_id, anonymous_id)
        )
    # Identifying must not lift a mute: the known customer inherits it (the later one wins).
    conn.execute(
        "INSERT INTO room_mutes (room_id, customer_id, until, muted_by, created_at)"
        " SELECT room_id, ?, until, muted_by, created_at FROM room_mutes WHERE customer_id = ? AND true"
        " ON CONFLICT (room_id, customer_id) DO UPDATE SET until = CASE"
        " WHEN excluded.until > room_mutes.until THEN excluded.until ELSE room_mutes.until END",
        (known_id, anonymous_id),
    )
    conn.execute("DELETE FROM room_mutes WHERE customer_id = ?", (anonymous_id,))
    _merge_private_rooms(conn, anonymous_id, known_id)
    name = conn.execute("SELECT name FROM customers WHERE id = ?", (known_id,)).fetchone()["name"]
    # Their public posts (the author index), then their words in the conversations that
    # are now the known customer's (store/authored.py).
    conn.execute(
        "UPDATE messages SET author_id = ?, author_name = COALESCE(?, author_name)"
        " WHERE in_public = 1 AND site_id = ? AND author_kind = 'customer' AND author_id = ?",
        (known_id, name, site_id, anonymous_id),
    )
    conn.execute(
        "UPDATE messages SET author_id = ?, author_name = COALESCE(?, author_name)"
        " WHERE room_id IN (SELECT id FROM rooms WHERE customer_id = ? AND kind = 'private')"
        " AND author_kind = 'customer' AND author_id = ?",
        (known_id, name, known_id, anonymous_id),
    )
    conn.execute(
        "UPDATE widget_tokens SET customer_id = ? WHERE customer_id = ?", (known_id, anonymous_id)
    )
    conn.execute(
        "UPDATE faq_phrasings SET source_customer_id = ? WHERE source_customer_id = ?",
        (known_id, anonymous_id),
    )
    conn.execute("UPDATE customers SET merged_into = ? WHERE id = ?", (known_id, anonymous_id))
    conn.execute(
        "UPDATE customers SET created_at = CASE WHEN ? < created_at THEN ? ELSE created_at END,"
        " last_seen_at = CASE WHEN ? > last_seen_at THEN ? ELSE last_seen_at END WHERE id = ?",
        (
            anon["created_at"],
            anon["created_at"],
            anon["last_seen_at"],
            anon["last_seen_at"],
            known_id,
        ),
    )
    # Both recounts score the known customer at once and mark the site for re-scoring.
    refresh_stats(conn, site_id, known_id)
    refresh_stats(conn, site_id, anonymous_id)


_CURRENT = (
    "SELECT * FROM rooms WHERE customer_id = ? AND kind = 'private' AND superseded_at IS NULL"
)


def _merge_private_rooms(conn: Tx, anonymous_id: str, known_id: str) -> None:
    """Every conversation of the anonymous record becomes the known customer's. Past ones
    move as they are; when both have a current one, the anonymous one's messages join the
    known one's, so the customer still has exactly one current conversation."""
    conn.execute(
        "UPDATE rooms SET customer_id = ? WHERE customer_id = ? AND kind = 'private'"
        " AND superseded_at IS NOT NULL",
        (known_id, anonymous_id),
    )
    anon_room = conn.execute(_CURRENT, (anonymous_id,)).fetchone()
    if anon_room is None:
        return
    known_room = conn.execute(_CURRENT, (known_id,)).fetchone()
    if known_room is None:
        conn.execute("UPDATE rooms SET customer_id = ? WHERE id = ?", (known_id, anon_room["id"]))
        return
    # Both have a conversation: the anonymous one's messages are appended to the known one,
    # in their original order, under new seq numbers (clients resync after identify).
    moved = conn.execute(
        "SELECT id FROM messages WHERE room_id = ? ORDER BY seq", (anon_room["id"],)
    ).fetchall()
    seq = known_room["last_seq"]
    for row in moved:
        seq += 1
        conn.execute(
            "UPDATE messages SET room_id = ?, seq = ?, client_msg_id = CASE WHEN client_msg_id IS NULL"
            " THEN NULL ELSE client_msg_id || '~' || ? END WHERE id = ?",
            (known_room["id"], seq, anon_room["id"][-6:], row["id"]),
        )
    conn.execute(
        "UPDATE rooms SET last_seq = ?, updated_at = ? WHERE id = ?",
        (seq, now_iso(), known_room["id"]),
    )
    conn.execute(
        "UPDATE ratings SET room_id = ? WHERE room_id = ?", (known_room["id"], anon_room["id"])
    )
    attachment_store.move_room(conn, anon_room["id"], known_room["id"])
    label_store.move_room(conn, anon_room["id"], known_room["id"])
    for table in ("read_marks",):
        conn.execute(f"DELETE FROM {table} WHERE room_id = ?", (anon_room["id"],))
    conn.execute(
        "UPDATE faq_events SET room_id = ? WHERE room_id = ?", (known_room["id"], anon_room["id"])
    )
    conn.execute("DELETE FROM rooms WHERE id = ?", (anon_room["id"],))


def _erased_name(conn: Tx, site_id: str) -> str:
    row = conn.execute("SELECT locale FROM sites WHERE id = ?", (site_id,)).fetchone()
    return "Deleted customer" if row and row["locale"] == "en" else "Pelanggan dihapus"


# What erase does with every table and column that may hold a customer's data or a copy of
# their words. tests/server/test_erase.py compares this with the live schema: a new table
# with a customer reference, or a new text column, fails it until it is listed here (and,
# when it holds customer data, handled by `erase`).
ERASE_DELETES = (
    "customer_attributes",
    "customer_tags",
    "customer_notes",
    "consents",
    "orders",
    "customer_stats",
    "widget_tokens",
    "room_mutes",
    "mail_outbox",
    "mail_inbound",
    "mail_threads",
)
ERASE_COVERAGE: dict[str, str] = {
    **{table: "rows of the customer deleted" for table in ERASE_DELETES},
    "customers": "profile columns blanked, erased_at set; merged-in records too, at any depth",
    "customers.name": "blanked",
    "customers.display_name": "blanked",
    "customers.email": "blanked",
    "customers.phone": "blanked",
    "customers.external_id": "blanked",
    "messages.body": "blanked: the customer's own messages and every message of their conversation",
    "messages.author_name": "replaced by 'Pelanggan dihapus' on the customer's messages",
    "messages.author_id": "kept: an opaque id, so counts and threads stay whole",
    "read_marks.reader_id": "the customer's read marks deleted",
    "ratings": "comment blanked; the score stays for CSAT",
    "ratings.comment": "blanked",
    "rooms": "every conversation of theirs, current and past, resolved (leaves the queue),"
    " its messages blanked",
    "faq_phrasings.text": "learnt phrasings copied from the customer's words deleted (by source)",
    "faq_entries.question": "draft questions made from the customer's public post scrubbed",
    "erasures": "the record that the erase happened (who and when; no customer data)",
    "customer_attributes.value": "deleted with the row",
    "customer_notes.body": "deleted with the row",
    "orders.items": "deleted with the row",
    "customer_tags.tag": "deleted with the row",
    "faq_phrasings.source_customer_id": "the learnt phrasings it names are deleted",
    "faq_phrasings": "learnt phrasings naming the customer (customer_id or source) deleted",
    "faq_events": "votes kept for the entry's figures; whose they were (customer_id) cleared",
    "attachments": "their uploads and every file of their conversations deleted, blobs too",
    "attachments.name": "deleted with the row",
    "attachments.content_type": "deleted with the row",
    "attachments.uploader_id": "deleted with the row (the customer's uploads)",
    "messages.attachments": "cleared on the customer's messages and their conversation's",
    "room_labels": "the labels on their conversations deleted (what staff said about them)",
    "audit_log.detail": "an edited or unsent message's earlier words (theirs, or in their"
    " conversation) replaced by {erased: true}; other entries hold staff's actions",
    "audit_log.actor_name": "staff, or the site's server; a customer who edited or unsent a"
    " message: replaced by 'Pelanggan dihapus'",
    "message_search.body": "the search index follows messages.body (triggers, and the"
    " per-batch flush for new messages); rewritten after an erase so the blanked words"
    " leave the file",
}
NOT_CUSTOMER_DATA: dict[str, str] = {
    "sites.name": "the shop's name",
    "agents.name": "staff",
    "agents.email": "staff",
    "customer_notes.agent_name": "staff (deleted with the note anyway)",
    "rooms.name": "public room names, set by staff",
    "faq_entries.answer": "staff's answer",
    "faq_entries.tags": "staff's tags",
    "meta.value": "server settings",
    "sites.away_message": "the shop's own words",
    "sites.email_settings": "the shop's settings",
    "sites.business_hours": "the shop's settings",
    "console_sessions.address": "staff's network address",
    "agent_links.email": "staff being invited",
    "audit_log.address": "staff's network address",
    "login_challenges.address": "staff's network address",
    "canned_responses.body": "staff's own answers (variables are filled in only when used)",
    "teams.name": "the site's teams of agents",
    "teams.name_key": "the site's teams of agents",
    "labels.name": "the site's list of labels (staff's words)",
    "labels.name_key": "the site's list of labels (staff's words)",
}


@dataclass(frozen=True, slots=True)
class Erased:
    customer_ids: list[str]  # the customer and every record merged into it
    room_ids: list[str]  # their conversations, now resolved
    faq_changed: bool  # learnt phrasings or drafts were removed: engines rebuild
    blobs: list[Blob]  # stored files no upload names any more: deleted after the commit


def _merged_family(conn: Tx, site_id: str, customer_id: str) -> list[str]:
    rows = conn.execute(
        "WITH RECURSIVE family(id) AS (SELECT ? UNION"
        " SELECT c.id FROM customers c JOIN family f ON c.merged_into = f.id WHERE c.site_id = ?)"
        " SELECT id FROM family",
        (customer_id, site_id),
    ).fetchall()
    return [r["id"] for r in rows]


def _learnt_copies(conn: Tx, site_id: str, ids: list[str], marks: str, room_ids: list[str]) -> int:
    """Delete learnt phrasings made from these customers' words; how many went."""
    theirs, params = authored(site_id, ids, room_ids)
    gone = conn.execute(
        "DELETE FROM faq_phrasings WHERE site_id = ? AND source = 'learnt'"
        f" AND (source_customer_id IN ({marks}) OR source_message_id IN ({theirs}))",
        (site_id, *ids, *params),
    ).rowcount
    # Phrasings learnt before sources were recorded: the text as learning stored it.
    copies: set[str] = set()
    for row in conn.execute(f"SELECT body FROM messages WHERE id IN ({theirs})", params):
        copies.add(row["body"])
        collapsed = " ".join(row["body"][:500].split())
        if collapsed:
            copies.add(collapsed)
    texts = sorted(copies)
    for start in range(0, len(texts), 500):
        chunk = texts[start : start + 500]
        gone += conn.execute(
            "DELETE FROM faq_phrasings WHERE site_id = ? AND source = 'learnt'"
            " AND source_message_id IS NULL AND source_customer_id IS NULL"
            f" AND text IN ({','.join('?' * len(chunk))})",
            (site_id, *chunk),
        ).rowcount
    return gone


def _draft_questions(conn: Tx, site_id: str, ids: list[str], room_ids: list[str]) -> int:
    """FAQ entries drafted from these customers' questions lose the question."""
    theirs, params = authored(site_id, ids, room_ids)
    return conn.execute(
        "UPDATE faq_entries SET question = ?, status = 'draft', updated_at = ?"
        f" WHERE site_id = ? AND source_message_id IN ({theirs})",
        (ERASED_BODY, now_iso(), site_id, *params),
    ).rowcount


def _audit_copies(conn: Tx, site_id: str, ids: list[str], room_ids: list[str]) -> None:
    """The audit log's copies of the customer's words (a message's text before an edit or
    unsend, theirs or in their conversation) and their name as the one who did it."""
    actions = ",".join("?" * len(AUDIT_ACTIONS))
    marks = ",".join("?" * len(ids))
    touched, params = posted_or_in(site_id, ids, room_ids)
    conn.execute(
        "UPDATE audit_log SET detail = '{\"erased\": true}' WHERE site_id = ?"
        f" AND action IN ({actions}) AND target IN ({touched})",
        (site_id, *AUDIT_ACTIONS, *params),
    )
    conn.execute(
        f"UPDATE audit_log SET actor_name = ? WHERE site_id = ? AND actor_id IN ({marks})",
        (_erased_name(conn, site_id), site_id, *ids),
    )


def erase(conn: Tx, site_id: str, customer_id: str, by: str) -> Erased | None:
    """Erase the customer and every record merged into them; None when there is no such customer.

    Runs in the one write transaction: a send racing it either commits before (and is
    erased here) or after (and is refused: `customers.activate` sees `erased_at`).
    """
    row = conn.execute(
        "SELECT id FROM customers WHERE id = ? AND site_id = ?", (customer_id, site_id)
    ).fetchone()
    if row is None:
        return None
    ids = _merged_family(conn, site_id, customer_id)
    marks = ",".join("?" * len(ids))
    room_ids = [
        r["id"]
        for r in conn.execute(
            f"SELECT id FROM rooms WHERE site_id = ? AND kind = 'private' AND customer_id IN ({marks})",
            (site_id, *ids),
        ).fetchall()
    ]
    room_marks = ",".join("?" * len(room_ids)) or "NULL"
    # Copies of the customer's words go first, while their messages still say what they were.
    _audit_copies(conn, site_id, ids, room_ids)
    faq_changed = (
        _learnt_copies(conn, site_id, ids, marks, room_ids)
        + _draft_questions(conn, site_id, ids, room_ids)
    ) > 0
    if faq_changed:
        faq_store.bump_revision(conn, site_id)
    conn.execute(f"DELETE FROM faq_phrasings WHERE customer_id IN ({marks})", ids)
    blobs = attachment_store.erase(conn, site_id, ids, room_ids)
    label_store.forget_rooms(conn, room_ids)
    # Votes are kept for the entry's figures, without saying whose they were.
    conn.execute(f"UPDATE faq_events SET customer_id = NULL WHERE customer_id IN ({marks})", ids)
    theirs, params = authored(site_id, ids, room_ids)
    conn.execute(
        f"UPDATE messages SET body = ?, author_name = ? WHERE id IN ({theirs})",
        (ERASED_BODY, _erased_name(conn, site_id), *params),
    )
    conn.execute(
        f"UPDATE messages SET body = ? WHERE room_id IN ({room_marks})", (ERASED_BODY, *room_ids)
    )
    conn.execute(f"UPDATE ratings SET comment = NULL WHERE customer_id IN ({marks})", ids)
    conn.execute(
        f"DELETE FROM read_marks WHERE reader_kind = 'customer' AND reader_id IN ({marks})", ids
    )
    for table in ERASE_DELETES:
        conn.execute(f"DELETE FROM {table} WHERE customer_id IN ({marks})", ids)
    now = now_iso()
    conn.execute(
        "UPDATE customers SET name = NULL, display_name = NULL, email = NULL, phone = NULL,"
        f" external_id = NULL, locale = NULL, erased_at = ? WHERE id IN ({marks})",
        (now, *ids),
    )
    # Out of the queue: nobody is to answer an erased customer.
    conn.execute(
        f"UPDATE rooms SET status = 'resolved', updated_at = ? WHERE id IN ({room_marks})",
        (now, *room_ids),
    )
    conn.execute(
        "INSERT INTO erasures (id, site_id, customer_id, erased_by, erased_at) VALUES (?, ?, ?, ?, ?)",
        (new_id("era"), site_id, customer_id, by, now),
    )
    mark_rfm_dirty(conn, site_id)
    search_store.forget_erased(conn)
    return Erased(ids, room_ids, faq_changed, blobs)
