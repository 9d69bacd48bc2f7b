"""Routing use cases: a site's mode and caps, and the moments a slot may free outside a chat
write (an agent comes online, a cap or the mode changes). The assignment itself happens in
`chat._route`, inside the write that made it possible."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from chat_server import errors
from chat_server.domain import routing
from chat_server.domain.access import Viewer
from chat_server.domain.routing import RoutingSettings
from chat_server.ids import format_time, now_iso
from chat_server.services import audit
from chat_server.services.chat import ChatService
from chat_server.store import routing as routing_store
from chat_server.store.database import Database
from chat_server.store.sql import Tx

log = logging.getLogger(__name__)


async def _nobody(site_id: str) -> Collection[str]:
    return frozenset()


class RoutingService:
    def __init__(self, db: Database, chat: ChatService) -> None:
        self.db = db
        self.chat = chat
        self._pending: set[asyncio.Task[None]] = set()
        # Agents with a console open, whatever their status (presence; the app sets it).
        self.connected_agents: Callable[[str], Awaitable[Collection[str]]] = _nobody

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

    async def set_cap(self, viewer: Viewer, agent_id: str, value: Any) -> int | None:
        """An agent's own cap, or None to follow the site's default (owners; audited as a
        settings change); a raised cap fills at once."""
        audit.require_owner(viewer)
        cap = None if value is None else routing.parse_cap(value)
        found = await self.db.write(
            audit.recorded(
                lambda conn: routing_store.set_agent_cap(conn, viewer.site_id, agent_id, cap),
                viewer,
                "agent_cap_changed",
                target=agent_id,
                detail={"cap": cap},
            )
        )
        if not found:
            raise errors.not_found("agent")
        await self.chat.route(viewer.site_id)
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

    async def agent_connected(self, agent_id: str) -> None:
        """A console of the agent opened: they are not offline any more."""
        await self._mark(agent_id, None)

    async def agent_disconnected(self, site_id: str, agent_id: str) -> None:
        """A console closed: when it was their last one anywhere, they are offline from now."""
        if agent_id not in await self.connected_agents(site_id):
            await self._mark(agent_id, now_iso())

    async def _mark(self, agent_id: str, since: str | None) -> None:
        try:
            # A read costs far less than a write (its commit, and the writer's queue): most
            # consoles open on an agent already marked online, and close on one marked
            # offline by another tab or the timer's sweep.
            found, current = await routing_store.read_offline_since(self.db, agent_id)
            if not found or (current is None) == (since is None):
                return
            await self.db.write(lambda conn: routing_store.set_offline_since(conn, agent_id, since))
        except Exception as exc:
            # A console opens or closes even while the database is away; the timer's sweep
            # notices offline agents on its own, and an open console clears the mark next time.
            log.warning("agent %s offline mark not written: %s", agent_id, exc)

    async def return_offline(self, now: datetime | None = None) -> int:
        """Give back the conversations of agents offline longer than their site allows; how
        many went back. Who is overdue is decided again inside the write that gives back."""
        moment = now or datetime.now(UTC)
        returned = 0
        for site_id, minutes in await routing_store.offline_return_sites(self.db):
            connected = frozenset(await self.connected_agents(site_id))
            cutoff = format_time(moment - timedelta(minutes=minutes))
            holders = await routing_store.read_holders(self.db, site_id)
            if not routing.offline_sweep(_pairs(holders), connected, cutoff):
                continue

            def choose(
                conn: Tx,
                site_id: str = site_id,
                connected: frozenset[str] = connected,
                cutoff: str = cutoff,
            ) -> Collection[str]:
                sweep = routing.offline_sweep(
                    _pairs(routing_store.holders(conn, site_id)), connected, cutoff
                )
                for agent_id in sweep.mark:
                    routing_store.set_offline_since(conn, agent_id, format_time(moment))
                for agent_id in sweep.clear:
                    routing_store.set_offline_since(conn, agent_id, None)
                return sweep.overdue

            returned += len(await self.chat.give_back(site_id, choose))
        return returned


def _pairs(holders: list[routing_store.Holder]) -> list[tuple[str, str | None]]:
    return [(h.agent_id, h.offline_since) for h in holders]


class RoutingTimer:
    """Each process's clock for routing: snoozes whose time has come, agents offline too long.
    Both are decided inside write transactions, so processes may tick together."""

    def __init__(self, chat: ChatService, routing: RoutingService, tick: float) -> None:
        self.chat = chat
        self.routing = routing
        self.tick = tick
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.tick > 0:
            self._task = asyncio.create_task(self._run(), name="routing-timer")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run_once(self) -> None:
        await self.chat.wake_due()
        await self.routing.return_offline()

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                # The next tick tries again; a database outage must not end the timer.
                log.exception("routing timer failed")
            await asyncio.sleep(self.tick)
