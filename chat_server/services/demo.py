"""`sapa serve --demo`: a demo shop, created once, that a newcomer can chat with at once."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from importlib import resources

from chat_server import errors
from chat_server.domain import identity
from chat_server.domain.faq_rules import FaqFields, entry_fields
from chat_server.ids import format_time, new_secret
from chat_server.services import admin, crm_import
from chat_server.store import faq as faq_store
from chat_server.store import sites as site_store
from chat_server.store.database import Database
from chat_server.store.sql import Tx

DEMO_SITE_META = "demo_site_id"
DEMO_PASSWORD_META = "demo_password"
DEMO_SAMPLES_META = "demo_samples_seeded"
# The sample orders are moved in time so that the newest is this old on the first run.
NEWEST_ORDER_AGE = timedelta(days=2)
OWNER_EMAIL = "owner@demo.sapa"
AGENT_EMAIL = "rina@demo.sapa"
# The sample customer the /demo page logs in as (a buyer with orders and a segment), so the
# console's sidebar beside the demo conversation shows what a known customer looks like.
DEMO_SHOPPER_ID = "cus-1001"


def _data(name: str) -> bytes:
    return resources.files("chat_server").joinpath(f"data/{name}").read_bytes()


async def seed_samples(db: Database, site_id: str, now: datetime | None = None) -> None:
    """The sample customers and orders of `sapa import --help`, so RFM and segments show.

    Their dates are shifted so that the newest order is two days old: the demo looks alive
    on the day it is first run. Done once per demo site (a meta key remembers it).
    """
    if await db.write(lambda conn: site_store.get_meta(conn, DEMO_SAMPLES_META)) is not None:
        return
    customers = crm_import.parse("customers", _data("sample_customers.csv")).rows
    orders = crm_import.parse("orders", _data("sample_orders.csv")).rows
    newest = max(_parse_time(row["order"].placed_at) for _, row in orders)
    shift = (now or datetime.now(UTC)) - NEWEST_ORDER_AGE - newest
    moved = [
        (
            line,
            {
                **row,
                "order": replace(
                    row["order"],
                    placed_at=format_time(_parse_time(row["order"].placed_at) + shift),
                ),
            },
        )
        for line, row in orders
    ]
    await crm_import.import_rows(db, site_id, "customers", customers)
    await crm_import.import_rows(db, site_id, "orders", moved)
    await db.write(lambda conn: site_store.set_meta_once(conn, DEMO_SAMPLES_META, site_id))


@dataclass(frozen=True, slots=True)
class DemoShopper:
    """What the demo page passes to `Sapa.identify`, as a shop's own server would."""

    external_id: str
    name: str
    email: str
    user_hash: str

    def identify_args(self) -> dict[str, str]:
        return {
            "external_id": self.external_id,
            "name": self.name,
            "email": self.email,
            "user_hash": self.user_hash,
        }


def demo_shopper(identity_secret: str) -> DemoShopper:
    """The sample customer the demo page identifies, hashed with the demo site's secret.

    Demo only: a real shop computes the hash on its own server for its logged-in shopper.
    """
    rows = crm_import.parse("customers", _data("sample_customers.csv")).rows
    profile = next(row["profile"] for _, row in rows if row["external_id"] == DEMO_SHOPPER_ID)
    return DemoShopper(
        DEMO_SHOPPER_ID,
        profile.name or "",
        profile.email or "",
        identity.user_hash(identity_secret, DEMO_SHOPPER_ID),
    )


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def demo_faq() -> list[FaqFields]:
    """The demo shop's FAQ entries, checked as an owner's would be (the benches use it too)."""
    raw = resources.files("chat_server").joinpath("data/demo_faq.json").read_text("utf-8")
    return [entry_fields(item, creating=True) for item in json.loads(raw)]


@dataclass(frozen=True, slots=True)
class DemoAccounts:
    site_id: str
    owner_email: str
    agent_email: str
    password: str


async def ensure_demo(db: Database, host: str) -> DemoAccounts:
    stored_id = await db.write(lambda conn: site_store.get_meta(conn, DEMO_SITE_META))
    if stored_id is not None:
        site_id = stored_id
    else:
        creds = await admin.create_site(db, "Toko Contoh", ["127.0.0.1", "localhost"], locale="id")
        site_id = creds.site_id
        # A demo password is printed on every start, so it is kept (demo accounts only).
        password = new_secret(9)
        await admin.create_agent(db, site_id, OWNER_EMAIL, "Sari Wulandari", "owner", password)
        await admin.create_agent(db, site_id, AGENT_EMAIL, "Rina", "agent", password)

        entries = demo_faq()

        def remember(conn: Tx) -> None:
            for fields in entries:
                faq_store.insert_entry(conn, site_id, fields)
            for key, value in ((DEMO_SITE_META, site_id), (DEMO_PASSWORD_META, password)):
                if site_store.set_meta_once(conn, key, value) != value:
                    # Another process made its demo site first: this one's FAQ goes too.
                    raise errors.SapaError(errors.ErrorCode.CONFLICT, "the demo site exists")

        await db.write(remember)
    await seed_samples(db, site_id)
    if host not in ("0.0.0.0", "::", ""):
        await db.write(lambda conn: site_store.add_domain(conn, site_id, host))
    kept = await db.write(lambda conn: site_store.get_meta(conn, DEMO_PASSWORD_META))
    return DemoAccounts(site_id, OWNER_EMAIL, AGENT_EMAIL, kept or "")
