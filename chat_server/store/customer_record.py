"""The customer record as services read it: typed records, and the reads that fill them.

Each record's `to_json()` is the shape clients see (the REST API, the console, the export);
tests/server/test_crm.py and the browser tests pin those shapes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chat_server.domain import rfm
from chat_server.domain.attachments import Attachment
from chat_server.domain.models import Author
from chat_server.ids import now_iso
from chat_server.store import like
from chat_server.store.attachments import from_column
from chat_server.store.database import Database
from chat_server.store.labels import Label, labels_of_rooms
from chat_server.store.mail import InboundMail, OutboxMail, inbound_of_customer, outbox_of_customer
from chat_server.store.sql import Row


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass(frozen=True, slots=True)
class OrderView:
    order_id: str
    total: float
    currency: str
    items: list[dict[str, Any]]  # as the shop sent them (sku, name, quantity, price)
    placed_at: str

    @classmethod
    def from_row(cls, row: Row) -> OrderView:
        return cls(
            row["order_id"],
            row["total"],
            row["currency"],
            json.loads(row["items"]),
            row["placed_at"],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "total": self.total,
            "currency": self.currency,
            "items": self.items,
            "placed_at": self.placed_at,
        }


@dataclass(frozen=True, slots=True)
class Note:
    id: str
    body: str
    author_id: str
    author_name: str
    created_at: str

    @classmethod
    def from_row(cls, row: Row) -> Note:
        return cls(row["id"], row["body"], row["agent_id"], row["agent_name"], row["created_at"])

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "body": self.body,
            "author": {"id": self.author_id, "name": self.author_name},
            "created_at": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class Consent:
    kind: str
    granted: bool
    source: str
    at: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "granted": self.granted, "source": self.source, "at": self.at}


@dataclass(frozen=True, slots=True)
class RfmView:
    r: int
    f: int
    m: int
    segment: str
    # Which scoring gave r/f/m: "quintiles" within the site, or "fixed" thresholds
    # (a shop with too few buyers); None before the first order.
    method: str | None
    lifecycle: str

    def to_json(self) -> dict[str, Any]:
        return {
            "r": self.r,
            "f": self.f,
            "m": self.m,
            "segment": self.segment,
            "method": self.method,
            "lifecycle": self.lifecycle,
        }


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    """A customer's profile and figures; in lists, without attributes, consents and notes."""

    id: str
    external_id: str | None
    name: str | None
    display_name: str | None
    email: str | None
    phone: str | None
    locale: str | None
    first_seen_at: str
    last_seen_at: str | None
    erased: bool
    merged_into: str | None
    attributes: dict[str, Any]  # values are the JSON the shop sent
    tags: tuple[str, ...]
    consents: tuple[Consent, ...]
    notes: tuple[Note, ...]
    orders_count: int
    total_spent: float
    currency: str
    last_order_at: str | None
    rfm: RfmView

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "external_id": self.external_id,
            "name": self.name,
            "display_name": self.display_name,
            "email": self.email,
            "phone": self.phone,
            "locale": self.locale,
            "first_seen_at": self.first_seen_at,
            "last_seen_at": self.last_seen_at,
            "erased": self.erased,
            "merged_into": self.merged_into,
            "attributes": self.attributes,
            "tags": list(self.tags),
            "consents": [c.to_json() for c in self.consents],
            "notes": [n.to_json() for n in self.notes],
            "orders_count": self.orders_count,
            "total_spent": self.total_spent,
            "currency": self.currency,
            "last_order_at": self.last_order_at,
            "rfm": self.rfm.to_json(),
        }


@dataclass(frozen=True, slots=True)
class RoomSummary:
    id: str
    kind: str
    name: str | None
    status: str
    last_seq: int
    created_at: str
    updated_at: str
    labels: tuple[Label, ...] = ()
    team: dict[str, str] | None = None  # {"id", "name"}
    superseded_at: str | None = None  # a past conversation: the shopper started a new one

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "status": self.status,
            "last_seq": self.last_seq,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "labels": [label.to_json() for label in self.labels],
        }
        if self.team is not None:
            out["team"] = self.team
        if self.superseded_at is not None:
            out["superseded_at"] = self.superseded_at
        return out


@dataclass(frozen=True, slots=True)
class FullRecord:
    """The record the console opens: profile, the latest orders, every conversation."""

    customer: CustomerRecord
    orders: tuple[OrderView, ...]
    rooms: tuple[RoomSummary, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            **self.customer.to_json(),
            "orders": [o.to_json() for o in self.orders],
            "rooms": [r.to_json() for r in self.rooms],
        }


@dataclass(frozen=True, slots=True)
class CustomerPage:
    items: tuple[CustomerRecord, ...]
    total: int

    def to_json(self) -> dict[str, Any]:
        return {"items": [c.to_json() for c in self.items], "total": self.total}


# -- the timeline: one entry per message, order, FAQ event or rating -----------------------


@dataclass(frozen=True, slots=True)
class MessageEntry:
    at: str
    room_id: str
    room_kind: str
    room_name: str | None
    id: str
    seq: int
    kind: str
    body: str
    author: Author
    event: dict[str, Any] | None  # a system line's data
    attachments: tuple[Attachment, ...] = ()  # files (staff links: the record is staff's)

    def to_json(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "id": self.id,
            "seq": self.seq,
            "kind": self.kind,
            "body": self.body,
            "author": self.author.as_dict(),
        }
        if self.event is not None:
            message["event"] = self.event
        if self.attachments:
            message["attachments"] = [a.as_dict("s") for a in self.attachments]
        return {
            "kind": "message",
            "at": self.at,
            "room_id": self.room_id,
            "room_kind": self.room_kind,
            "room_name": self.room_name,
            "message": message,
        }


@dataclass(frozen=True, slots=True)
class OrderEntry:
    order: OrderView

    @property
    def at(self) -> str:
        return self.order.placed_at

    def to_json(self) -> dict[str, Any]:
        return {"kind": "order", "at": self.at, "order": self.order.to_json()}


@dataclass(frozen=True, slots=True)
class FaqEventEntry:
    at: str
    faq_id: str
    question: str | None  # None once the entry is deleted
    event: str

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "faq",
            "at": self.at,
            "faq": {"id": self.faq_id, "question": self.question, "event": self.event},
        }


@dataclass(frozen=True, slots=True)
class RatingEntry:
    at: str
    room_id: str
    score: int
    comment: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "rating",
            "at": self.at,
            "rating": {"room_id": self.room_id, "score": self.score, "comment": self.comment},
        }


TimelineEntry = MessageEntry | OrderEntry | FaqEventEntry | RatingEntry | OutboxMail | InboundMail


@dataclass(frozen=True, slots=True)
class Timeline:
    entries: tuple[TimelineEntry, ...]
    has_more: bool  # more messages than the limit

    def to_json(self) -> dict[str, Any]:
        return {"items": [e.to_json() for e in self.entries], "has_more": self.has_more}


@dataclass(frozen=True, slots=True)
class CustomerExport:
    """Everything stored about a customer, for the customer (a data-access request)."""

    exported_at: str
    customer: CustomerRecord
    orders: tuple[OrderView, ...]
    rooms: tuple[RoomSummary, ...]
    timeline: tuple[TimelineEntry, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "exported_at": self.exported_at,
            "customer": self.customer.to_json(),
            "orders": [o.to_json() for o in self.orders],
            "rooms": [r.to_json() for r in self.rooms],
            "timeline": [e.to_json() for e in self.timeline],
        }


# -- reads -----------------------------------------------------------------------

_WITH_STATS = (
    "SELECT c.*, s.orders_count, s.total_spent, s.currency, s.last_order_at, s.first_order_at,"
    " s.r, s.f, s.m, s.segment, s.rfm_method"
    " FROM customers c LEFT JOIN customer_stats s ON s.customer_id = c.id"
)


def _customer(
    row: Row,
    attrs: list[Row],
    tags: list[Row],
    notes: list[Row],
    consents: list[Row],
) -> CustomerRecord:
    orders = row["orders_count"] or 0
    last = row["last_order_at"]
    now = datetime.now(UTC)
    return CustomerRecord(
        id=row["id"],
        external_id=row["external_id"],
        name=row["name"],
        display_name=row["display_name"],
        email=row["email"],
        phone=row["phone"],
        locale=row["locale"],
        first_seen_at=row["created_at"],
        # '' is "never seen" (pushed in by the shop, see 0006).
        last_seen_at=row["last_seen_at"] or None,
        erased=row["erased_at"] is not None,
        merged_into=row["merged_into"],
        attributes={a["key"]: json.loads(a["value"]) for a in attrs},
        tags=tuple(t["tag"] for t in tags),
        consents=tuple(
            Consent(c["kind"], bool(c["granted"]), c["source"], c["at"]) for c in consents
        ),
        notes=tuple(Note.from_row(n) for n in notes),
        orders_count=orders,
        total_spent=row["total_spent"] or 0,
        currency=row["currency"] or "IDR",
        last_order_at=last,
        rfm=RfmView(
            r=row["r"] or 0,
            f=row["f"] or 0,
            m=row["m"] or 0,
            segment=row["segment"] if orders else "prospect",
            method=row["rfm_method"] if orders else None,
            lifecycle=rfm.lifecycle(orders, parse_time(last) if last else None, now),
        ),
    )


async def record(db: Database, site_id: str, customer_id: str) -> CustomerRecord | None:
    row = await db.fetch_one(
        _WITH_STATS + " WHERE c.id = ? AND c.site_id = ?", (customer_id, site_id)
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
    return _customer(row, attrs, tags, notes, consents)


async def orders_of(db: Database, customer_id: str, limit: int = 1000) -> tuple[OrderView, ...]:
    rows = await db.fetch_all(
        "SELECT * FROM orders WHERE customer_id = ? ORDER BY placed_at DESC LIMIT ?",
        (customer_id, limit),
    )
    return tuple(OrderView.from_row(r) for r in rows)


async def rooms_of(db: Database, customer_id: str) -> tuple[RoomSummary, ...]:
    rows = await db.fetch_all(
        "SELECT r.id, r.kind, r.name, r.status, r.last_seq, r.created_at, r.updated_at,"
        " r.team_id, t.name AS team_name, r.superseded_at"
        " FROM rooms r LEFT JOIN teams t ON t.id = r.team_id"
        " WHERE r.customer_id = ? ORDER BY r.updated_at DESC",
        (customer_id,),
    )
    labels = await labels_of_rooms(db, [r["id"] for r in rows])
    return tuple(
        RoomSummary(
            r["id"],
            r["kind"],
            r["name"],
            r["status"],
            r["last_seq"],
            r["created_at"],
            r["updated_at"],
            tuple(labels.get(r["id"], ())),
            {"id": r["team_id"], "name": r["team_name"]} if r["team_id"] else None,
            r["superseded_at"],
        )
        for r in rows
    )


async def full_record(db: Database, site_id: str, customer_id: str) -> FullRecord | None:
    customer = await record(db, site_id, customer_id)
    if customer is None:
        return None
    return FullRecord(
        customer, await orders_of(db, customer_id, 100), await rooms_of(db, customer_id)
    )


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
) -> CustomerPage:
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
    items = tuple(_customer(r, [], tags.get(r["id"], []), [], []) for r in rows)
    return CustomerPage(items, int(total_row["n"]) if total_row else 0)


def _message_entry(m: Row) -> MessageEntry:
    return MessageEntry(
        at=m["created_at"],
        room_id=m["room_id"],
        room_kind=m["room_kind"],
        room_name=m["room_name"],
        id=m["id"],
        seq=m["seq"],
        kind=m["kind"],
        body=m["body"],
        author=Author(m["author_kind"], m["author_id"], m["author_name"]),
        event=json.loads(m["event"]) if m["event"] else None,
        attachments=from_column(m["attachments"]),
    )


def _entry_order(entry: TimelineEntry) -> tuple[str, int]:
    # Same-millisecond items (a reply and the system line it caused) keep their room order.
    return entry.at, entry.seq if isinstance(entry, MessageEntry) else 0


async def timeline(db: Database, site_id: str, customer_id: str, limit: int) -> Timeline:
    """Every message of the customer's conversations and public posts, orders, FAQ answers,
    ratings, emails."""
    entries: list[TimelineEntry] = []
    messages = await db.fetch_all(
        "SELECT m.*, r.kind AS room_kind, r.name AS room_name FROM messages m JOIN rooms r ON r.id = m.room_id"
        " WHERE m.site_id = ? AND (r.customer_id = ?"
        " OR (m.in_public = 1 AND m.author_kind = 'customer' AND m.author_id = ?))"
        " ORDER BY m.created_at DESC, m.seq DESC LIMIT ?",
        (site_id, customer_id, customer_id, limit + 1),
    )
    has_more = len(messages) > limit
    entries += [_message_entry(m) for m in messages[:limit]]
    entries += [OrderEntry(order) for order in await orders_of(db, customer_id, limit)]
    for e in await db.fetch_all(
        "SELECT e.*, f.question FROM faq_events e LEFT JOIN faq_entries f ON f.id = e.faq_id"
        " WHERE e.site_id = ? AND (e.room_id IN (SELECT id FROM rooms WHERE customer_id = ?)"
        " OR e.message_id IN (SELECT id FROM messages WHERE in_public = 1 AND author_id = ?))"
        " ORDER BY e.created_at DESC LIMIT ?",
        (site_id, customer_id, customer_id, limit),
    ):
        entries.append(FaqEventEntry(e["created_at"], e["faq_id"], e["question"], e["kind"]))
    for r in await db.fetch_all(
        "SELECT * FROM ratings WHERE customer_id = ? ORDER BY created_at DESC LIMIT ?",
        (customer_id, limit),
    ):
        entries.append(RatingEntry(r["created_at"], r["room_id"], r["score"], r["comment"]))
    # Every email sent to the customer or received from them.
    entries += await outbox_of_customer(db, customer_id)
    entries += await inbound_of_customer(db, customer_id)
    entries.sort(key=_entry_order)
    return Timeline(tuple(entries), has_more)


async def export(db: Database, site_id: str, customer_id: str) -> CustomerExport | None:
    profile = await record(db, site_id, customer_id)
    if profile is None:
        return None
    everything = await timeline(db, site_id, customer_id, 1_000_000)
    return CustomerExport(
        exported_at=now_iso(),
        customer=profile,
        orders=await orders_of(db, customer_id, 1_000_000),
        rooms=await rooms_of(db, customer_id),
        timeline=everything.entries,
    )
