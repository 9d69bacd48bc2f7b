"""The customer record: profile, attributes, tags, notes, consent, orders, RFM, merge, erase."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chat_server import errors
from chat_server.domain import rfm
from chat_server.domain.crm_rules import MAX_ATTRIBUTES, OrderFields, ProfileFields
from chat_server.domain.models import Author
from chat_server.ids import new_id, now_iso
from chat_server.store import faq as faq_store
from chat_server.store import like
from chat_server.store.database import Database
from chat_server.store.sql import Row, Tx

ERASED_BODY = "[dihapus atas permintaan pelanggan]"


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


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
) -> dict[str, Any]:
    note = {
        "id": new_id("note"),
        "body": body,
        "author": {"id": agent_id, "name": agent_name},
        "created_at": now_iso(),
    }
    conn.execute(
        "INSERT INTO customer_notes (id, site_id, customer_id, agent_id, agent_name, body, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (note["id"], site_id, customer_id, agent_id, agent_name, body, note["created_at"]),
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
) -> tuple[dict[str, Any], bool]:
    """(order, created). The same order_id again stores nothing and answers the stored order."""
    existing = conn.execute(
        "SELECT * FROM orders WHERE site_id = ? AND order_id = ?", (site_id, fields.order_id)
    ).fetchone()
    if existing is not None:
        if existing["customer_id"] != customer_id:
            raise errors.SapaError(
                errors.ErrorCode.CONFLICT, "that order_id belongs to another customer"
            )
        return order_view(existing), False
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
    return order_view(row), True


def order_view(row: Row) -> dict[str, Any]:
    return {
        "order_id": row["order_id"],
        "total": row["total"],
        "currency": row["currency"],
        "items": json.loads(row["items"]),
        "placed_at": row["placed_at"],
    }


# -- RFM scores: one buyer at once, the whole site later and in chunks ---------------------


def mark_rfm_dirty(conn: Tx, site_id: str, at: float | None = None) -> None:
    """Ask for the site's thresholds and every buyer's score to be recomputed, off the chat path.

    One tiny upsert: call it in any transaction that changes who bought what (orders, merge,
    erase). The scorer waits until the site has been quiet for a moment, then works in chunks.
    """
    moment = time.time() if at is None else at
    conn.execute(
        "INSERT INTO rfm_dirty (site_id, first_at, last_at) VALUES (?, ?, ?)"
        " ON CONFLICT (site_id) DO UPDATE SET last_at = max(last_at, excluded.last_at)",
        (site_id, moment, moment),
    )


def site_thresholds(conn: Tx, site_id: str) -> rfm.Thresholds:
    """The thresholds last computed for the site; the fixed ones before the first computation."""
    row = conn.execute(
        "SELECT thresholds FROM rfm_thresholds WHERE site_id = ?", (site_id,)
    ).fetchone()
    return rfm.Thresholds.from_dict(json.loads(row[0])) if row else rfm.fixed_thresholds()


def _buyer(row: Row) -> rfm.Buyer:
    return rfm.Buyer(
        row["customer_id"],
        _parse_time(row["last_order_at"]),
        row["orders_count"],
        row["total_spent"],
    )


def _store_scores(conn: Tx, scores: list[tuple[str, rfm.Score]]) -> None:
    conn.executemany(
        "UPDATE customer_stats SET r = ?, f = ?, m = ?, segment = ?, rfm_method = ?"
        " WHERE customer_id = ?",
        [(s.r, s.f, s.m, s.segment, s.method, cid) for cid, s in scores],
    )


def score_customer(conn: Tx, site_id: str, customer_id: str) -> None:
    """Score one buyer against the site's stored thresholds: O(1), fine inside a chat batch."""
    row = conn.execute(
        "SELECT customer_id, orders_count, total_spent, last_order_at FROM customer_stats"
        " WHERE customer_id = ?",
        (customer_id,),
    ).fetchone()
    if row is not None:
        limits = site_thresholds(conn, site_id)
        _store_scores(conn, [(customer_id, limits.score(_buyer(row), datetime.now(UTC)))])


def refresh_stats(conn: Tx, site_id: str, customer_id: str) -> None:
    """Recount one customer's orders, score him at once, and mark the site for re-scoring."""
    row = conn.execute(
        "SELECT count(*) AS n, COALESCE(sum(total), 0) AS spent, min(placed_at) AS first,"
        " max(placed_at) AS last, max(currency) AS currency FROM orders WHERE customer_id = ?",
        (customer_id,),
    ).fetchone()
    mark_rfm_dirty(conn, site_id)
    if row["n"] == 0:
        conn.execute("DELETE FROM customer_stats WHERE customer_id = ?", (customer_id,))
        return
    conn.execute(
        "INSERT INTO customer_stats (customer_id, site_id, orders_count, total_spent, currency,"
        " first_order_at, last_order_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (customer_id) DO UPDATE SET orders_count = excluded.orders_count,"
        " total_spent = excluded.total_spent, currency = excluded.currency,"
        " first_order_at = excluded.first_order_at, last_order_at = excluded.last_order_at",
        (customer_id, site_id, row["n"], row["spent"], row["currency"], row["first"], row["last"]),
    )
    score_customer(conn, site_id, customer_id)


@dataclass(frozen=True, slots=True)
class DirtySite:
    site_id: str
    first_at: float
    last_at: float
    claimed_until: float


async def dirty_sites(db: Database) -> list[DirtySite]:
    rows = await db.fetch_all(
        "SELECT site_id, first_at, last_at, claimed_until FROM rfm_dirty ORDER BY first_at"
    )
    return [DirtySite(r[0], r[1], r[2], r[3]) for r in rows]


def claim_dirty(conn: Tx, site_id: str, now: float, lease: float) -> float | None:
    """Take the site for re-scoring (one process at a time); answers the mark it covers."""
    row = conn.execute(
        "UPDATE rfm_dirty SET claimed_until = ? WHERE site_id = ? AND claimed_until < ?"
        " RETURNING last_at",
        (now + lease, site_id, now),
    ).fetchone()
    return None if row is None else float(row[0])


def finish_dirty(conn: Tx, site_id: str, covered: float, now: float) -> None:
    """Done up to mark `covered`: a later mark (an order meanwhile) keeps the site dirty, and
    its wait for the next re-score starts now."""
    conn.execute("DELETE FROM rfm_dirty WHERE site_id = ? AND last_at <= ?", (site_id, covered))
    conn.execute(
        "UPDATE rfm_dirty SET claimed_until = 0, first_at = ? WHERE site_id = ?", (now, site_id)
    )


async def site_buyers(db: Database, site_id: str) -> list[Row]:
    """Every buyer's figures (on a reader: the writer is not held while they are read)."""
    return await db.fetch_all(
        "SELECT customer_id, orders_count, total_spent, last_order_at FROM customer_stats"
        " WHERE site_id = ?",
        (site_id,),
    )


def buyers_of(rows: list[Row]) -> list[rfm.Buyer]:
    return [_buyer(r) for r in rows]


def save_thresholds(conn: Tx, site_id: str, limits: rfm.Thresholds, now: float) -> None:
    conn.execute(
        "INSERT INTO rfm_thresholds (site_id, thresholds, computed_at) VALUES (?, ?, ?)"
        " ON CONFLICT (site_id) DO UPDATE SET thresholds = excluded.thresholds,"
        " computed_at = excluded.computed_at",
        (site_id, json.dumps(limits.as_dict()), now),
    )


def rescore_chunk(
    conn: Tx, site_id: str, after: str, limit: int, limits: rfm.Thresholds
) -> str | None:
    """Score the next `limit` buyers (by id, after `after`) from their current figures.

    Answers the last id done, or None when the site is done. The figures are read in the same
    short transaction as the update, so a buyer who ordered meanwhile is never scored stale.
    """
    rows = conn.execute(
        "SELECT customer_id, orders_count, total_spent, last_order_at FROM customer_stats"
        " WHERE site_id = ? AND customer_id > ? ORDER BY customer_id LIMIT ?",
        (site_id, after, limit),
    ).fetchall()
    if not rows:
        return None
    now = datetime.now(UTC)
    _store_scores(conn, [(r["customer_id"], limits.score(_buyer(r), now)) for r in rows])
    return str(rows[-1]["customer_id"]) if len(rows) == limit else None


def mark_stale_sites(conn: Tx, computed_before: float, now: float) -> None:
    """Recency moves with the clock: sites scored long ago are scored again."""
    conn.execute(
        "INSERT OR IGNORE INTO rfm_dirty (site_id, first_at, last_at)"
        " SELECT site_id, ?, ? FROM rfm_thresholds WHERE computed_at < ?",
        (now, now, computed_before),
    )


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
    conn.execute(
        "INSERT OR IGNORE INTO customer_attributes (customer_id, key, value, updated_at)"
        " SELECT ?, key, value, updated_at FROM customer_attributes WHERE customer_id = ?",
        (known_id, anonymous_id),
    )
    conn.execute(
        "INSERT OR IGNORE INTO customer_tags (customer_id, tag) SELECT ?, tag FROM customer_tags WHERE customer_id = ?",
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
        " ON CONFLICT (room_id, customer_id) DO UPDATE SET until = max(until, excluded.until)",
        (known_id, anonymous_id),
    )
    conn.execute("DELETE FROM room_mutes WHERE customer_id = ?", (anonymous_id,))
    _merge_private_rooms(conn, anonymous_id, known_id)
    name = conn.execute("SELECT name FROM customers WHERE id = ?", (known_id,)).fetchone()["name"]
    conn.execute(
        "UPDATE messages SET author_id = ?, author_name = COALESCE(?, author_name)"
        " WHERE site_id = ? AND author_kind = 'customer' AND author_id = ?",
        (known_id, name, site_id, anonymous_id),
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
        "UPDATE customers SET created_at = min(created_at, ?), last_seen_at = max(last_seen_at, ?) WHERE id = ?",
        (anon["created_at"], anon["last_seen_at"], known_id),
    )
    # Both recounts score the known customer at once and mark the site for re-scoring.
    refresh_stats(conn, site_id, known_id)
    refresh_stats(conn, site_id, anonymous_id)


def _merge_private_rooms(conn: Tx, anonymous_id: str, known_id: str) -> None:
    anon_room = conn.execute(
        "SELECT * FROM rooms WHERE customer_id = ? AND kind = 'private'", (anonymous_id,)
    ).fetchone()
    if anon_room is None:
        return
    known_room = conn.execute(
        "SELECT * FROM rooms WHERE customer_id = ? AND kind = 'private'", (known_id,)
    ).fetchone()
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
    "rooms": "their private conversation resolved (leaves the queue), its messages blanked",
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
}


@dataclass(frozen=True, slots=True)
class Erased:
    customer_ids: list[str]  # the customer and every record merged into it
    room_ids: list[str]  # their conversations, now resolved
    faq_changed: bool  # learnt phrasings or drafts were removed: engines rebuild


def _merged_family(conn: Tx, site_id: str, customer_id: str) -> list[str]:
    rows = conn.execute(
        "WITH RECURSIVE family(id) AS (SELECT ? UNION"
        " SELECT c.id FROM customers c JOIN family f ON c.merged_into = f.id WHERE c.site_id = ?)"
        " SELECT id FROM family",
        (customer_id, site_id),
    ).fetchall()
    return [r["id"] for r in rows]


def _learnt_copies(conn: Tx, site_id: str, ids: list[str], marks: str) -> int:
    """Delete learnt phrasings made from these customers' words; how many went."""
    authored = (
        "SELECT id FROM messages WHERE site_id = ? AND author_kind = 'customer'"
        f" AND author_id IN ({marks})"
    )
    gone = conn.execute(
        "DELETE FROM faq_phrasings WHERE site_id = ? AND source = 'learnt'"
        f" AND (source_customer_id IN ({marks}) OR source_message_id IN ({authored}))",
        (site_id, *ids, site_id, *ids),
    ).rowcount
    # Phrasings learnt before sources were recorded: the text as learning stored it.
    copies: set[str] = set()
    for row in conn.execute(
        f"SELECT body FROM messages WHERE site_id = ? AND author_kind = 'customer'"
        f" AND author_id IN ({marks})",
        (site_id, *ids),
    ):
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


def _draft_questions(conn: Tx, site_id: str, ids: list[str], marks: str) -> int:
    """FAQ entries drafted from these customers' public questions lose the question."""
    return conn.execute(
        "UPDATE faq_entries SET question = ?, status = 'draft', updated_at = ?"
        " WHERE site_id = ? AND source_message_id IN (SELECT id FROM messages WHERE site_id = ?"
        f" AND author_kind = 'customer' AND author_id IN ({marks}))",
        (ERASED_BODY, now_iso(), site_id, site_id, *ids),
    ).rowcount


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
    faq_changed = (
        _learnt_copies(conn, site_id, ids, marks) + _draft_questions(conn, site_id, ids, marks)
    ) > 0
    if faq_changed:
        faq_store.bump_revision(conn, site_id)
    conn.execute(f"DELETE FROM faq_phrasings WHERE customer_id IN ({marks})", ids)
    # Votes are kept for the entry's figures, without saying whose they were.
    conn.execute(f"UPDATE faq_events SET customer_id = NULL WHERE customer_id IN ({marks})", ids)
    conn.execute(
        "UPDATE messages SET body = ?, author_name = ? WHERE site_id = ? AND author_kind = 'customer'"
        f" AND author_id IN ({marks})",
        (ERASED_BODY, _erased_name(conn, site_id), site_id, *ids),
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
    return Erased(ids, room_ids, faq_changed)


# -- reads -----------------------------------------------------------------------


async def record(db: Database, site_id: str, customer_id: str) -> dict[str, Any] | None:
    row = await db.fetch_one(
        "SELECT c.*, s.orders_count, s.total_spent, s.currency, s.last_order_at, s.first_order_at,"
        " s.r, s.f, s.m, s.segment, s.rfm_method FROM customers c LEFT JOIN customer_stats s ON s.customer_id = c.id"
        " WHERE c.id = ? AND c.site_id = ?",
        (customer_id, site_id),
    )
    if row is None:
        return None
    attrs = await db.fetch_all(
        "SELECT key, value FROM customer_attributes WHERE customer_id = ? ORDER BY key",
        (customer_id,),
    )
    tags = await db.fetch_all(
        "SELECT tag FROM customer_tags WHERE customer_id = ? ORDER BY tag", (customer_id,)
    )
    notes = await db.fetch_all(
        "SELECT * FROM customer_notes WHERE customer_id = ? ORDER BY created_at DESC",
        (customer_id,),
    )
    consents = await db.fetch_all(
        "SELECT * FROM consents WHERE customer_id = ? ORDER BY kind", (customer_id,)
    )
    return customer_view(row, attrs, tags, notes, consents)


def customer_view(
    row: Row,
    attrs: list[Row],
    tags: list[Row],
    notes: list[Row],
    consents: list[Row],
) -> dict[str, Any]:
    orders = row["orders_count"] or 0
    last = row["last_order_at"]
    now = datetime.now(UTC)
    return {
        "id": row["id"],
        "external_id": row["external_id"],
        "name": row["name"],
        "display_name": row["display_name"],
        "email": row["email"],
        "phone": row["phone"],
        "locale": row["locale"],
        "first_seen_at": row["created_at"],
        "last_seen_at": row["last_seen_at"] or None,
        "erased": row["erased_at"] is not None,
        "merged_into": row["merged_into"],
        "attributes": {a["key"]: json.loads(a["value"]) for a in attrs},
        "tags": [t["tag"] for t in tags],
        "consents": [
            {"kind": c["kind"], "granted": bool(c["granted"]), "source": c["source"], "at": c["at"]}
            for c in consents
        ],
        "notes": [
            {
                "id": n["id"],
                "body": n["body"],
                "author": {"id": n["agent_id"], "name": n["agent_name"]},
                "created_at": n["created_at"],
            }
            for n in notes
        ],
        "orders_count": orders,
        "total_spent": row["total_spent"] or 0,
        "currency": row["currency"] or "IDR",
        "last_order_at": last,
        "rfm": {
            "r": row["r"] or 0,
            "f": row["f"] or 0,
            "m": row["m"] or 0,
            "segment": row["segment"] if orders else "prospect",
            # Which scoring gave r/f/m: "quintiles" within the site, or "fixed" thresholds
            # (a shop with too few buyers); null before the first order.
            "method": row["rfm_method"] if orders else None,
            "lifecycle": rfm.lifecycle(orders, _parse_time(last) if last else None, now),
        },
    }


async def orders_of(db: Database, customer_id: str, limit: int = 1000) -> list[dict[str, Any]]:
    rows = await db.fetch_all(
        "SELECT * FROM orders WHERE customer_id = ? ORDER BY placed_at DESC LIMIT ?",
        (customer_id, limit),
    )
    return [order_view(r) for r in rows]


async def rooms_of(db: Database, customer_id: str) -> list[dict[str, Any]]:
    rows = await db.fetch_all(
        "SELECT id, kind, name, status, last_seq, created_at, updated_at FROM rooms WHERE customer_id = ? ORDER BY updated_at DESC",
        (customer_id,),
    )
    return [dict(r) for r in rows]


async def search(
    db: Database,
    site_id: str,
    *,
    q: str = "",
    segment: str = "",
    tag: str = "",
    attr: tuple[str, str] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    where = ["c.site_id = ?", "c.merged_into IS NULL", "c.erased_at IS NULL"]
    params: list[Any] = [site_id]
    if q:
        where.append(
            f"(c.name LIKE ? {like.ESCAPE} OR c.email LIKE ? {like.ESCAPE}"
            f" OR c.phone LIKE ? {like.ESCAPE} OR c.external_id LIKE ? {like.ESCAPE} OR c.id = ?)"
        )
        pattern = like.contains(q)
        params += [pattern, pattern, pattern, pattern, q]
    if segment == "prospect":
        where.append("s.customer_id IS NULL")
    elif segment:
        where.append("s.segment = ?")
        params.append(segment)
    if tag:
        where.append(
            "EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id AND t.tag = ?)"
        )
        params.append(tag.lower())
    if attr:
        where.append(
            "EXISTS (SELECT 1 FROM customer_attributes a WHERE a.customer_id = c.id AND a.key = ? AND (a.value = ? OR a.value = ?))"
        )
        params += [attr[0], json.dumps(attr[1]), attr[1]]
    base = (
        "FROM customers c LEFT JOIN customer_stats s ON s.customer_id = c.id WHERE "
        + " AND ".join(where)
    )
    total_row = await db.fetch_one("SELECT count(*) AS n " + base, tuple(params))
    rows = await db.fetch_all(
        "SELECT c.*, s.orders_count, s.total_spent, s.currency, s.last_order_at, s.first_order_at, s.r, s.f, s.m, s.segment,"
        " s.rfm_method " + base + " ORDER BY c.last_seen_at DESC LIMIT ? OFFSET ?",
        (*params, limit, offset),
    )
    ids = [r["id"] for r in rows]
    tags: dict[str, list[Row]] = {}
    if ids:
        marks = ",".join("?" * len(ids))
        for t in await db.fetch_all(
            f"SELECT customer_id, tag FROM customer_tags WHERE customer_id IN ({marks}) ORDER BY tag",
            tuple(ids),
        ):
            tags.setdefault(t["customer_id"], []).append(t)
    # The list carries tags; attributes, notes and consents are on the customer's own record.
    items = [customer_view(r, [], tags.get(r["id"], []), [], []) for r in rows]
    return items, int(total_row["n"]) if total_row else 0


async def timeline(
    db: Database, site_id: str, customer_id: str, limit: int
) -> tuple[list[dict[str, Any]], bool]:
    """Every message of the customer's conversations and public posts, orders, FAQ answers, ratings."""
    items: list[dict[str, Any]] = []
    messages = await db.fetch_all(
        "SELECT m.*, r.kind AS room_kind, r.name AS room_name FROM messages m JOIN rooms r ON r.id = m.room_id"
        " WHERE m.site_id = ? AND (r.customer_id = ? OR (m.author_kind = 'customer' AND m.author_id = ?))"
        " ORDER BY m.created_at DESC, m.seq DESC LIMIT ?",
        (site_id, customer_id, customer_id, limit + 1),
    )
    has_more = len(messages) > limit
    for m in messages[:limit]:
        items.append(
            {
                "kind": "message",
                "at": m["created_at"],
                "room_id": m["room_id"],
                "room_kind": m["room_kind"],
                "room_name": m["room_name"],
                "message": {
                    "id": m["id"],
                    "seq": m["seq"],
                    "kind": m["kind"],
                    "body": m["body"],
                    "author": Author(m["author_kind"], m["author_id"], m["author_name"]).as_dict(),
                    **({"event": json.loads(m["event"])} if m["event"] else {}),
                },
            }
        )
    for o in await db.fetch_all(
        "SELECT * FROM orders WHERE customer_id = ? ORDER BY placed_at DESC LIMIT ?",
        (customer_id, limit),
    ):
        items.append({"kind": "order", "at": o["placed_at"], "order": order_view(o)})
    for e in await db.fetch_all(
        "SELECT e.*, f.question FROM faq_events e LEFT JOIN faq_entries f ON f.id = e.faq_id"
        " WHERE e.site_id = ? AND (e.room_id IN (SELECT id FROM rooms WHERE customer_id = ?)"
        " OR e.message_id IN (SELECT id FROM messages WHERE author_id = ?)) ORDER BY e.created_at DESC LIMIT ?",
        (site_id, customer_id, customer_id, limit),
    ):
        items.append(
            {
                "kind": "faq",
                "at": e["created_at"],
                "faq": {"id": e["faq_id"], "question": e["question"], "event": e["kind"]},
            }
        )
    for r in await db.fetch_all(
        "SELECT * FROM ratings WHERE customer_id = ? ORDER BY created_at DESC LIMIT ?",
        (customer_id, limit),
    ):
        items.append(
            {
                "kind": "rating",
                "at": r["created_at"],
                "rating": {"room_id": r["room_id"], "score": r["score"], "comment": r["comment"]},
            }
        )
    # Same-millisecond items (a reply and the system line it caused) keep their room order.
    items.sort(key=lambda item: (item["at"], item.get("message", {}).get("seq", 0)))
    return items, has_more


async def export(db: Database, site_id: str, customer_id: str) -> dict[str, Any] | None:
    profile = await record(db, site_id, customer_id)
    if profile is None:
        return None
    everything, _ = await timeline(db, site_id, customer_id, 1_000_000)
    return {
        "exported_at": now_iso(),
        "customer": profile,
        "orders": await orders_of(db, customer_id, 1_000_000),
        "rooms": await rooms_of(db, customer_id),
        "timeline": everything,
    }
