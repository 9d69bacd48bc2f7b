"""A shopper's widget session: a visitor behind a bearer token.

A new session allocates the visitor's customer id and token only; their customer
row is made at their first action (`activate`). New sessions are rate-limited per
client address and per site, so a script cannot mint visitors by the thousand.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chat_server import errors
from chat_server.domain.models import Customer, Site
from chat_server.domain.throttle import KeyedBuckets
from chat_server.ids import now_iso
from chat_server.store import customers as customer_store
from chat_server.store import hello as hello_store
from chat_server.store import rooms as room_store
from chat_server.store import sites as site_store
from chat_server.store.database import Database
from chat_server.store.hello import WidgetHello

if TYPE_CHECKING:
    from chat_server.services.public_rooms import WelcomeRooms


@dataclass(frozen=True, slots=True)
class WidgetSession:
    site: Site
    customer: Customer
    token: str
    new: bool = False  # a visitor made this moment: no conversation, nothing past


@dataclass(slots=True)
class SessionLimits:
    """New sessions per minute per client address and per site (in this process)."""

    per_address: int
    per_site: int
    _addresses: KeyedBuckets = field(init=False)
    _sites: KeyedBuckets = field(init=False)

    def __post_init__(self) -> None:
        self._addresses = KeyedBuckets(self.per_address, self.per_address)
        self._sites = KeyedBuckets(self.per_site, self.per_site)

    def check(self, site_id: str, address: str) -> None:
        now = time.monotonic()
        if not self._addresses.take(address, now):
            raise errors.SapaError(
                errors.ErrorCode.RATE_LIMITED,
                f"too many new chat sessions from this address (at most {self.per_address}"
                " a minute); keep the token you were given",
            )
        if not self._sites.take(site_id, now):
            raise errors.SapaError(
                errors.ErrorCode.RATE_LIMITED,
                "too many new chat sessions for this shop right now; try again in a minute",
            )


async def find_site(db: Database, site_key: str) -> Site:
    site = await site_store.get_site_by_key(db, site_key)
    if site is None:
        raise errors.not_found("site")
    return site


async def open_session(
    db: Database, site: Site, token: str | None, limits: SessionLimits, address: str
) -> WidgetSession:
    # Neither write waits for the disk: a power cut may lose a visit's time or a token given
    # to a visitor who has done nothing yet (their widget, told the token is unknown, gets
    # another), never anything a person wrote. A new session costs no fsync of its own.
    if token:
        known = await customer_store.customer_for_token(db, site.id, token)
        if known is not None:
            await db.write(lambda conn: customer_store.touch(conn, known.id), wait_for_disk=False)
            return WidgetSession(site, known, token)
    # An unknown token, or one of another site, never reveals anything: it just starts afresh.
    limits.check(site.id, address)
    customer_id, new_token = await db.write(
        lambda conn: customer_store.insert_anonymous(conn, site.id), wait_for_disk=False
    )
    return WidgetSession(
        site, Customer(customer_id, site.id, None, None, None, now_iso()), new_token, new=True
    )


async def activate(db: Database, customer: Customer) -> None:
    """The visitor acts (joins a room, names themselves, rates...): they become a customer."""
    await db.write(lambda conn: customer_store.activate(conn, customer.site_id, customer.id))


async def resume(db: Database, token: str) -> tuple[Site, Customer] | None:
    return await hello_store.token_holder(db, token)


@dataclass(frozen=True, slots=True)
class Hello:
    """A resuming widget: who it is, and what its welcome lists."""

    site: Site
    customer: Customer
    rooms: list[dict[str, Any]]
    past_conversations: list[dict[str, Any]]


async def hello(db: Database, token: str, listing: WelcomeRooms) -> Hello | None:
    """Resume a widget's token (None: unknown, erased, or its site is gone) with everything
    its welcome shows, read in one unit (store/hello.py); the site's public rooms from
    `listing` when it holds them."""
    since = listing.epoch()
    found = await hello_store.widget_hello(db, token, listing.get)
    if found is None:
        return None
    if found.public_read:
        listing.keep(found.site.id, found.public, since)
    return _hello(found)


async def welcome(db: Database, session: WidgetSession, listing: WelcomeRooms) -> Hello:
    """What the welcome of a new widget session lists."""
    site, customer = session.site, session.customer
    since = listing.epoch()
    if session.new:
        # Nobody can have given this customer a conversation yet: only the public rooms.
        public = listing.get(site.id)
        if public is None:
            public = await hello_store.public_rooms(db, site.id)
            listing.keep(site.id, public, since)
        return _hello(WidgetHello(site, customer, None, 0, public, []))
    found = await hello_store.customer_welcome(db, site, customer, listing.get)
    if found.public_read:
        listing.keep(site.id, found.public, since)
    return _hello(found)


def _hello(found: WidgetHello) -> Hello:
    return Hello(
        found.site, found.customer, welcome_rooms(found), [p.to_json() for p in found.past]
    )


def welcome_rooms(found: WidgetHello) -> list[dict[str, Any]]:
    """The rooms a widget's welcome lists: the visitor's conversation (with how many agent
    messages they have not read), then the site's open public rooms."""
    rooms = []
    if found.private is not None:
        view = found.private.visitor_view()
        view["unread"] = found.unread
        rooms.append(view)
    rooms.extend(r.visitor_view() for r in found.public if r.status == "open")
    return rooms


async def past_conversations(db: Database, customer: Customer) -> list[dict[str, Any]]:
    """The visitor's earlier conversations, newest first: only ever their own (a token is one
    customer; another shopper on the same device has another token)."""
    return [p.to_json() for p in await room_store.past_conversations(db, customer.id)]
