"""Routing use cases: a site's mode and caps, and the moments a slot may free outside a chat
write (an agent comes online, a cap or the mode changes). The assignment itself happens in
`chat._route`, inside the write that made it possible."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from chat_server import errors
from chat_server.domain import routing
from chat_server.domain.routing import RoutingSettings
from chat_server.services.chat import ChatService
from chat_server.store import routing as routing_store
from chat_server.store.database import Database

log = logging.getLogger(__name__)


class RoutingService:
    def __init__(self, db: Database, chat: ChatService) -> None:
        self.db = db
        self.chat = chat
        self._pending: set[asyncio.Task[None]] = set()

    async def settings(self, site_id: str) -> RoutingSettings:
        return await routing_store.read_settings(self.db, site_id)

    async def update_settings(self, site_id: str, value: Any) -> RoutingSettings:
        """`value` is the `routing` object of PUT /api/v1/site (validated here)."""
        fresh = routing.parse_settings(value, await self.settings(site_id))
        await self.db.write(lambda conn: routing_store.set_settings(conn, site_id, fresh))
        await self.chat.route(site_id)
        return fresh

    async def caps(self, site_id: str) -> dict[str, int | None]:
        """Each agent's own cap (None: the site's default)."""
        return await routing_store.agent_caps(self.db, site_id)

    async def set_cap(self, site_id: str, agent_id: str, value: Any) -> int | None:
        """An agent's own cap, or None to follow the site's default; a raised cap fills at once."""
        cap = None if value is None else routing.parse_cap(value)
        found = await self.db.write(
            lambda conn: routing_store.set_agent_cap(conn, site_id, agent_id, cap)
        )
        if not found:
            raise errors.not_found("agent")
        await self.chat.route(site_id)
        return cap

    async def agent_available(self, site_id: str) -> None:
        """An agent came online: they take waiting conversations up to their cap."""
        try:
            await self.chat.route(site_id)
        except Exception:
            # The agent is connected either way; the next change routes again.
            log.exception("routing after an agent came online failed")

    def agent_connecting(self, site_id: str) -> None:
        """An agent's socket is opening: route once it is registered (next loop turn), so the
        conversations it is given reach it."""
        task = asyncio.create_task(self.agent_available(site_id))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def queue_view(self, site_id: str, room_id: str) -> dict[str, Any] | None:
        """A waiting room's `queue` frame fields (welcome), None when it is not waiting or the
        site routes by hand."""
        if not (await self.settings(site_id)).automatic:
            return None
        entry, version = await routing_store.read_entry(self.db, room_id)
        if entry is None:
            return None
        waits = await routing_store.read_recent_waits(self.db, site_id)
        return {
            "room_id": entry.room_id,
            "position": entry.position,
            "eta_seconds": routing.eta_seconds(entry.position, waits),
            "version": version,
        }
