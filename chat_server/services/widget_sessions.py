"""A shopper's widget session: a visitor behind a bearer token.

A new session allocates the visitor's customer id and a signed token only, and writes
nothing (domain/visitor_tokens.py); the token's row and the customer's record are made
at their first action (`bind`, `activate`). New sessions are rate-limited per client
address and per site, so a script cannot mint visitors by the thousand.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chat_server import errors
from chat_server.domain.models import Customer, Site
from chat_server.domain.throttle import KeyedBuckets
from chat_server.domain.visitor_tokens import Presented, VisitorTokens
from chat_server.ids import hash_token, iso_of_ns, new_id
from chat_server.store import customers as customer_store
from chat_server.store import hello as hello_store
from chat_server.store import rooms as room_store
from chat_server.store import sites as site_store
from chat_server.store.database import Database
from chat_server.store.hello import WidgetHello
from chat_server.store.sql import Tx

if TYPE_CHECKING:
    from chat_server.services.public_rooms import WelcomeRooms


@dataclass(frozen=True, slots=True)
class WidgetSession:
    site: Site
    customer: Customer
    token: str
    new: bool = False  # a visitor with no record yet: no conversation, nothing past


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
    db: Database,
    tokens: VisitorTokens,
    site: Site,
    token: str | None,
    limits: SessionLimits,
    address: str,
) -> WidgetSession:
    if token:
        known = await customer_store.holder_for_token(db, site.id, tokens.present(token))
        if known is not None:
            if known.acted:
                # A visit's time need not wait for the disk: a power cut may lose it, never
                # anything a person wrote (docs/operations.md, "What a power cut can lose").
                customer_id = known.customer.id
                await db.write(
                    lambda conn: customer_store.touch(conn, customer_id),
                    wait_for_disk=False,
                )
            return WidgetSession(site, known.customer, token, new=not known.acted)
    # An unknown token, or one of another site, never reveals anything: it just starts afresh.
    limits.check(site.id, address)
    now_ns = time.time_ns()
    customer_id = new_id("cus")
    customer = Customer(customer_id, site.id, None, None, None, iso_of_ns(now_ns))
    return WidgetSession(site, customer, tokens.issue(site.id, customer_id, now_ns), new=True)


async def activate(db: Database, customer: Customer, unbound: str | None = None) -> None:
    """The visitor acts (joins a room, names themselves, rates...): they become a customer.

    `unbound`: their token, signed and without a row yet; it gets its row in the same write.
    """
    token_hash = hash_token(unbound) if unbound is not None else None

    def job(conn: Tx) -> None:
        if token_hash is not None:
            customer_store.bind(conn, token_hash, customer)
        customer_store.activate(conn, customer.site_id, customer.id)

    await db.write(job)


async def bind(db: Database, token_hash: str, customer: Customer) -> None:
    """Give a signed token its row before an action that makes its visitor's record.

    It need not wait for the disk: the action's own write, which does, commits after it,
    and both stores make a commit durable only with every commit before it.
    """
    await db.write(
        lambda conn: customer_store.bind(conn, token_hash, customer), wait_for_disk=False
    )


async def resume(db: Database, tokens: VisitorTokens, token: str) -> tuple[Site, Customer] | None:
    """The site and customer behind a token, for a widget's calls over HTTP (uploads, the
    CRM's). Any of them may act for the visitor, so a signed token gets its row here."""
    presented = tokens.present(token)
    found = await hello_store.token_holder(db, presented)
    if found is None:
        return None
    site, holder = found
    if not holder.bound:
        await bind(db, presented.hash, holder.customer)
    return site, holder.customer


@dataclass(frozen=True, slots=True)
class Hello:
    """A resuming widget: who it is, and what its welcome lists."""

    site: Site
    customer: Customer
    rooms: list[dict[str, Any]]
    past_conversations: list[dict[str, Any]]
    bound: bool = True  # the token has its row (False: `bind` it before the first action)


async def hello(db: Database, token: Presented, listing: WelcomeRooms) -> Hello | None:
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
    past = [p.to_json() for p in found.past]
    return Hello(found.site, found.customer, welcome_rooms(found), past, found.bound)


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
