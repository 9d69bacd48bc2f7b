"""Customer-record use cases: identify, profile, orders, notes, privacy."""

from __future__ import annotations

from typing import Any

from chat_server import errors
from chat_server.bus import Bus, Event
from chat_server.domain import audience, identity
from chat_server.domain.access import Viewer
from chat_server.domain.crm_rules import MAX_NOTE, OrderFields, ProfileFields
from chat_server.domain.models import Site
from chat_server.services import audit
from chat_server.services.faq import FaqService
from chat_server.services.files import FileService
from chat_server.store import crm as crm_store
from chat_server.store import customer_record as record_store
from chat_server.store import customers as customer_store
from chat_server.store import rooms as room_store
from chat_server.store.customer_record import (
    CustomerExport,
    CustomerPage,
    CustomerRecord,
    FullRecord,
    Note,
    OrderView,
    Timeline,
)
from chat_server.store.database import Database
from chat_server.store.sql import Tx

CLOSE_RESYNC = 1012
CLOSE_ERASED = 4401


def require_owner(viewer: Viewer) -> None:
    if viewer.role != "owner":
        raise errors.forbidden("only the site's owners may do this")


class CrmService:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        faq: FaqService | None = None,
        files: FileService | None = None,
    ) -> None:
        self.db = db
        self.bus = bus
        self.faq = faq  # told when an erase removes learnt phrasings
        self.files = files  # deletes an erased customer's files from storage

    async def identify(
        self,
        site: Site,
        token: str,
        external_id: str,
        user_hash: str,
        profile: ProfileFields,
    ) -> customer_store.Identified:
        """Attach this visitor to the known customer; a token bound to someone else starts fresh."""
        if not identity.verify(site.identity_secret, external_id, user_hash):
            raise errors.forbidden("identity verification failed")
        done = await self.db.write(
            lambda conn: customer_store.identify(conn, site.id, token, external_id, profile)
        )
        room = await room_store.get_private_room(self.db, done.customer_id)
        if room is not None:
            # The conversation now belongs to the known customer: consoles update their inbox.
            await self.bus.publish(
                Event.frame(site.id, (audience.AGENTS,), {"type": "room", "room": room.as_dict()})
            )
        if done.previous_id != done.customer_id:
            # Sockets opened as the previous customer reconnect: an anonymous visitor's as
            # the known customer (same token); a retired token's get 4401 and start afresh.
            await self.bus.publish(
                Event(
                    site.id,
                    (audience.customer(done.previous_id),),
                    "",
                    {"close": CLOSE_RESYNC, "reason": "identified"},
                )
            )
        return done

    async def prechat(
        self, site_id: str, customer_id: str, profile: ProfileFields, consent: bool | None
    ) -> None:
        def job(conn: Tx) -> None:
            customer_store.activate(conn, site_id, customer_id)
            crm_store.apply_profile(conn, customer_id, profile)
            if consent is not None:
                crm_store.set_consent(conn, customer_id, "marketing", consent, "prechat_form")

        await self.db.write(job)

    async def upsert_external(
        self, viewer: Viewer, external_id: str, profile: ProfileFields
    ) -> CustomerRecord:
        require_owner(viewer)
        customer_id = await self.db.write(
            lambda conn: crm_store.profile_by_external(conn, viewer.site_id, external_id, profile)
        )
        return await self.get(viewer, customer_id)

    async def add_order(
        self, viewer: Viewer, external_id: str, order: OrderFields
    ) -> tuple[OrderView, bool]:
        """Unknown customers are created: orders often arrive before the shopper ever chats."""
        require_owner(viewer)
        # Scores this buyer at once and marks the site: the rest is re-scored off this path.
        return await self.db.write(
            lambda conn: crm_store.order_by_external(conn, viewer.site_id, external_id, order)
        )

    async def get(self, viewer: Viewer, customer_id: str) -> CustomerRecord:
        found = await record_store.record(self.db, viewer.site_id, customer_id)
        if found is None:
            raise errors.not_found("customer")
        return found

    async def full_record(self, viewer: Viewer, customer_id: str) -> FullRecord:
        found = await record_store.full_record(self.db, viewer.site_id, customer_id)
        if found is None:
            raise errors.not_found("customer")
        return found

    async def search(
        self,
        viewer: Viewer,
        *,
        q: str = "",
        segment: str = "",
        tag: str = "",
        attr: tuple[str, str] | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> CustomerPage:
        return await record_store.search(
            self.db,
            viewer.site_id,
            q=q,
            segment=segment,
            tag=tag,
            attr=attr,
            limit=limit,
            offset=offset,
        )

    async def timeline(self, viewer: Viewer, customer_id: str, limit: int) -> Timeline:
        # Another site's customer is not found, even though the reads below are by id.
        await self.get(viewer, customer_id)
        return await record_store.timeline(self.db, viewer.site_id, customer_id, limit)

    async def _editable(self, viewer: Viewer, customer_id: str) -> None:
        found = await self.get(viewer, customer_id)
        if found.erased:
            raise errors.SapaError(errors.ErrorCode.CONFLICT, "this customer was erased")

    async def update(
        self, viewer: Viewer, customer_id: str, profile: ProfileFields
    ) -> CustomerRecord:
        if profile.consents:
            # Consent is the shop's legal record: owners (and the shop's server) keep it.
            require_owner(viewer)
        await self._editable(viewer, customer_id)
        await self.db.write(lambda conn: crm_store.apply_profile(conn, customer_id, profile))
        return await self.get(viewer, customer_id)

    async def add_note(self, viewer: Viewer, customer_id: str, body: Any) -> Note:
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
        erased = await self.db.write(
            audit.recorded(
                lambda conn: crm_store.erase(conn, viewer.site_id, customer_id, viewer.id),
                viewer,
                "customer_erased",
                customer_id,
                when=lambda done: done is not None,
            )
        )
        if erased is None:
            raise errors.not_found("customer")
        if self.files is not None:
            await self.files.release(erased.blobs)
        # Sends from the customer's open sockets are refused from the commit on (their
        # writes check the record); the sockets themselves close now.
        for erased_id in erased.customer_ids:
            await self.bus.publish(
                Event(
                    viewer.site_id,
                    (audience.customer(erased_id),),
                    "",
                    {"close": CLOSE_ERASED, "reason": "erased"},
                )
            )
        if erased.faq_changed and self.faq is not None:
            self.faq.changed(viewer.site_id)
        for room_id in erased.room_ids:
            room = await room_store.get_room(self.db, viewer.site_id, room_id)
            if room is not None:
                await self.bus.publish(
                    Event.frame(
                        viewer.site_id, (audience.AGENTS,), {"type": "room", "room": room.as_dict()}
                    )
                )
        # Fold the WAL into the file: with secure_delete on, no erased text stays on disk.
        await self.db.checkpoint()

    async def export(self, viewer: Viewer, customer_id: str) -> CustomerExport:
        found = await record_store.export(self.db, viewer.site_id, customer_id)
        if found is None:
            raise errors.not_found("customer")
        await self.db.write(
            lambda conn: audit.record(
                conn, viewer.site_id, audit.Actor.of(viewer), "customer_exported", customer_id
            )
        )
        return found
