"""A shopper's widget session: an anonymous customer behind a bearer token."""

from __future__ import annotations

from dataclasses import dataclass

from chat_server import errors
from chat_server.domain.models import Customer, Site
from chat_server.store import customers as customer_store
from chat_server.store import sites as site_store
from chat_server.store.database import Database


@dataclass(frozen=True, slots=True)
class WidgetSession:
    site: Site
    customer: Customer
    token: str


async def find_site(db: Database, site_key: str) -> Site:
    site = await site_store.get_site_by_key(db, site_key)
    if site is None:
        raise errors.not_found("site")
    return site


async def open_session(db: Database, site: Site, token: str | None) -> WidgetSession:
    if token:
        known = await customer_store.customer_for_token(db, site.id, token)
        if known is not None:
            await db.write(lambda conn: customer_store.touch(conn, known.id))
            return WidgetSession(site, known, token)
    # An unknown token, or one of another site, never reveals anything: it just starts afresh.
    customer_id, new_token = await db.write(
        lambda conn: customer_store.insert_anonymous(conn, site.id)
    )
    customer = await customer_store.get_customer(db, site.id, customer_id)
    assert customer is not None
    return WidgetSession(site, customer, new_token)


async def resume(db: Database, token: str) -> tuple[Site, Customer] | None:
    customer = await customer_store.site_and_customer_for_token(db, token)
    if customer is None:
        return None
    site = await site_store.get_site(db, customer.site_id)
    return (site, customer) if site else None
