"""Customer-record use cases: identify, profile, orders, notes, privacy."""

from __future__ import annotations

import sqlite3
from typing import Any

from chat_server import errors
from chat_server.bus import Bus, Event
from chat_server.domain import audience, identity
from chat_server.domain.access import Viewer
from chat_server.domain.crm_rules import MAX_NOTE, OrderFields, ProfileFields
from chat_server.domain.models import Customer, Site
from chat_server.store import crm as crm_store
from chat_server.store import rooms as room_store
from chat_server.store.database import Database

CLOSE_RESYNC = 1012


def require_owner(viewer: Viewer) -> None:
    if viewer.role != "owner":
        raise errors.forbidden("only the site's owners may do this")


class CrmService:
    def __init__(self, db: Database, bus: Bus) -> None:
        self.db = db
        self.bus = bus

    async def identify(
        self,
        site: Site,
        customer: Customer,
        external_id: str,
        user_hash: str,
        profile: ProfileFields,
    ) -> str:
        """Attach this visitor to the known customer; answers the known customer's id."""
        if not identity.verify(site.identity_secret, external_id, user_hash):
            raise errors.forbidden("identity verification failed")

        def job(conn: sqlite3.Connection) -> str:
            known = crm_store.customer_by_external(conn, site.id, external_id)
            if known is None:
                if customer.external_id is None:
                    # The visitor becomes the known customer: nothing to merge.
                    conn.execute(
                        "UPDATE customers SET external_id = ? WHERE id = ?",
                        (external_id, customer.id),
                    )
                    crm_store.apply_profile(conn, customer.id, profile)
                    return customer.id
                known = crm_store.ensure_by_external(conn, site.id, external_id)
            crm_store.apply_profile(conn, known, profile)
            crm_store.merge(conn, site.id, customer.id, known)
            return known

        known_id = await self.db.write(job)
        room = await room_store.get_private_room(self.db, known_id)
        if room is not None:
            # The conversation now belongs to the known customer: consoles update their inbox.
            await self.bus.publish(
                Event.frame(site.id, (audience.AGENTS,), {"type": "room", "room": room.as_dict()})
            )
        if known_id != customer.id:
            # Sockets opened as the anonymous visitor reconnect as the known customer.
            await self.bus.publish(
                Event(
                    site.id,
                    (audience.customer(customer.id),),
                    "",
                    {"close": CLOSE_RESYNC, "reason": "identified"},
                )
            )
        return known_id

    async def prechat(
        self, site_id: str, customer_id: str, profile: ProfileFields, consent: bool | None
    ) -> None:
        def job(conn: sqlite3.Connection) -> None:
            crm_store.apply_profile(conn, customer_id, profile)
            if consent is not None:
                crm_store.set_consent(conn, customer_id, "marketing", consent, "prechat_form")

        await self.db.write(job)

    async def upsert_external(
        self, viewer: Viewer, external_id: str, profile: ProfileFields
    ) -> dict[str, Any]:
        require_owner(viewer)

        def job(conn: sqlite3.Connection) -> str:
            customer_id = crm_store.ensure_by_external(conn, viewer.site_id, external_id)
            crm_store.apply_profile(conn, customer_id, profile)
            return customer_id

        customer_id = await self.db.write(job)
        return await self.get(viewer, customer_id)

    async def add_order(
        self, viewer: Viewer, external_id: str, order: OrderFields
    ) -> tuple[dict[str, Any], bool]:
        """Unknown customers are created: orders often arrive before the shopper ever chats."""
        require_owner(viewer)

        def job(conn: sqlite3.Connection) -> tuple[dict[str, Any], bool]:
            customer_id = crm_store.ensure_by_external(conn, viewer.site_id, external_id)
            stored, created = crm_store.insert_order(conn, viewer.site_id, customer_id, order)
            if created:
                crm_store.rescore_site(conn, viewer.site_id)
            return stored, created

        return await self.db.write(job)

    async def get(self, viewer: Viewer, customer_id: str) -> dict[str, Any]:
        found = await crm_store.record(self.db, viewer.site_id, customer_id)
        if found is None:
            raise errors.not_found("customer")
        return found

    async def full_record(self, viewer: Viewer, customer_id: str) -> dict[str, Any]:
        found = await self.get(viewer, customer_id)
        found["orders"] = await crm_store.orders_of(self.db, customer_id, 100)
        found["rooms"] = await crm_store.rooms_of(self.db, customer_id)
        return found

    async def _editable(self, viewer: Viewer, customer_id: str) -> None:
        found = await self.get(viewer, customer_id)
        if found["erased"]:
            raise errors.SapaError(errors.ErrorCode.CONFLICT, "this customer was erased")

    async def update(
        self, viewer: Viewer, customer_id: str, profile: ProfileFields
    ) -> dict[str, Any]:
        if profile.consents:
            # Consent is the shop's legal record: owners (and the shop's server) keep it.
            require_owner(viewer)
        await self._editable(viewer, customer_id)
        await self.db.write(lambda conn: crm_store.apply_profile(conn, customer_id, profile))
        return await self.get(viewer, customer_id)

    async def add_note(self, viewer: Viewer, customer_id: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, str) or not body.strip() or len(body) > MAX_NOTE:
            raise errors.bad_request(f"a note is 1 to {MAX_NOTE} characters")
        await self._editable(viewer, customer_id)
        return await self.db.write(
            lambda conn: crm_store.add_note(
                conn, viewer.site_id, customer_id, viewer.id, viewer.name, body.strip()
            )
        )

    async def erase(self, viewer: Viewer, customer_id: str) -> None:
        require_owner(viewer)
        done = await self.db.write(
            lambda conn: crm_store.erase(conn, viewer.site_id, customer_id, viewer.id)
        )
        if not done:
            raise errors.not_found("customer")
        await self.db.checkpoint()
        await self.bus.publish(
            Event(
                viewer.site_id,
                (audience.customer(customer_id),),
                "",
                {"close": 4401, "reason": "erased"},
            )
        )

    async def export(self, viewer: Viewer, customer_id: str) -> dict[str, Any]:
        found = await crm_store.export(self.db, viewer.site_id, customer_id)
        if found is None:
            raise errors.not_found("customer")
        return found
