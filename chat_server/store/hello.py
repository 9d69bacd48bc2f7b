"""What a widget's `hello` needs, read in one unit: one hop to a reader, not five in a row.

The token's customer, their site, their current conversation with how many agent messages
they have not read, the site's public rooms and their past conversations: every read a
resuming widget waits for before its welcome (services/widget_sessions.py builds it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chat_server.domain.models import Customer, Room, Site
from chat_server.domain.visitor_tokens import Presented
from chat_server.store import customers as customer_store
from chat_server.store import rooms as room_store
from chat_server.store import sites as site_store
from chat_server.store.customers import Holder
from chat_server.store.database import Database
from chat_server.store.rooms import PastConversation
from chat_server.store.sql import Tx


@dataclass(frozen=True, slots=True)
class WidgetHello:
    site: Site
    customer: Customer
    private: Room | None  # their current conversation (None: none yet)
    unread: int  # agent messages in it after their read mark
    public: list[Room]  # the site's unarchived public rooms, in their owners' order
    past: list[PastConversation]  # newest first
    public_read: bool = True  # `public` was read here (not given by `known`)
    bound: bool = True  # the token has its row (customers.bind before the first action)


# The public rooms of a site when the caller already holds them (None: read them). Called on
# the reader's thread, or the event loop's (`Database.read_now`).
KnownRooms = Callable[[str], list[Room] | None]


def _unknown(site_id: str) -> list[Room] | None:
    return None


async def widget_hello(
    db: Database, token: Presented, known: KnownRooms = _unknown
) -> WidgetHello | None:
    """None for a token nobody holds, an erased customer or a deleted site."""
    site_of = site_store.site_loader(db)
    return await db.read_now(lambda conn: _widget_hello(conn, token, known, site_of))


async def customer_welcome(
    db: Database, site: Site, customer: Customer, known: KnownRooms = _unknown
) -> WidgetHello:
    """The same for a customer already known (a new widget session)."""
    return await db.read(lambda conn: _welcome(conn, site, customer, known))


async def public_rooms(db: Database, site_id: str) -> list[Room]:
    """The site's unarchived public rooms alone (a visitor new this moment has nothing else)."""
    return await db.read(lambda conn: room_store.public_rooms(conn, site_id))


async def token_holder(db: Database, token: Presented) -> tuple[Site, Holder] | None:
    """The site and holder of a widget token, in one hop (uploads, the CRM's calls)."""
    return await db.read(lambda conn: _holder(conn, token))


def _holder(conn: Tx, token: Presented) -> tuple[Site, Holder] | None:
    found = customer_store.load_holder(conn, token)
    if found is None:
        return None
    site = site_store.load_site(conn, found.customer.site_id)
    return (site, found) if site is not None else None


def _widget_hello(
    conn: Tx, token: Presented, known: KnownRooms, site_of: Callable[[Tx, str], Site | None]
) -> WidgetHello | None:
    found = customer_store.load_holder(conn, token)
    if found is None:
        return None
    site = site_of(conn, found.customer.site_id)
    if site is None:
        return None
    return _welcome(conn, site, found.customer, known, found.acted, found.bound)


def _welcome(
    conn: Tx,
    site: Site,
    customer: Customer,
    known: KnownRooms,
    acted: bool = True,
    bound: bool = True,
) -> WidgetHello:
    """`acted` false: a visitor who has done nothing yet, so has no conversation to read."""
    private = room_store.current_room(conn, customer.id) if acted else None
    unread = room_store.load_customer_unread(conn, private.id, customer.id) if private else 0
    public = known(site.id)
    return WidgetHello(
        site,
        customer,
        private,
        unread,
        public if public is not None else room_store.public_rooms(conn, site.id),
        room_store.load_past_conversations(conn, customer.id) if acted else [],
        public_read=public is None,
        bound=bound,
    )
