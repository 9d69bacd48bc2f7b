"""Which agents are connected and available, per site.

Each process counts the agent sockets it holds. With one process that is the
whole truth. With several, each process also writes its entries to a shared
directory (Redis keys that expire unless a heartbeat refreshes them, so a
crashed process's agents disappear on their own) and reads every process's
entries back to answer `agents_online` and to build presence frames. When the
directory is unreachable the process answers from its own entries: a smaller
count for a while beats a failed widget session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Protocol

from chat_server.bus import Bus, Event
from chat_server.domain import audience
from chat_server.domain.presence import (
    AgentPresence,
    merge,
    online_count,
    online_ids,
    snapshot_of,
)
from chat_server.store import agents as agent_store
from chat_server.store.database import Database

log = logging.getLogger(__name__)

HEARTBEAT = 10.0  # seconds; the directory's entries live three heartbeats


class PresenceDirectory(Protocol):
    """Where the presence of every process meets."""

    async def put(self, site_id: str, agents: dict[str, AgentPresence]) -> None:
        """Replace this process's entries for a site (raise when unreachable)."""

    async def others(self, site_id: str) -> list[dict[str, AgentPresence]]:
        """Every other live process's entries for a site (raise when unreachable)."""

    async def withdraw(self, site_ids: Iterable[str]) -> None:
        """Forget this process's entries (at shutdown)."""


class Presence:
    def __init__(
        self, bus: Bus, directory: PresenceDirectory | None = None, heartbeat: float = HEARTBEAT
    ) -> None:
        self.bus = bus
        self.directory = directory
        self.heartbeat = heartbeat
        self._sites: dict[str, dict[str, AgentPresence]] = defaultdict(dict)
        # What this process last told clients, per site: the heartbeat corrects a stale count
        # left by two processes announcing at once, or by a process that died.
        self._announced: dict[str, tuple[int, list[dict[str, str]]]] = {}
        # Writes are serialised so that an older view never overwrites a newer one in Redis.
        self._write_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.directory is not None:
            self._task = asyncio.create_task(self._beat(), name="presence-heartbeat")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.directory is not None:
            with contextlib.suppress(Exception):
                await self.directory.withdraw(list(self._sites))

    # -- reading ----------------------------------------------------------------

    async def agents_online(self, site_id: str) -> int:
        return online_count(await self._view(site_id))

    async def connected_ids(self, site_id: str) -> set[str]:
        """The agents of a site with a console open, whatever status they chose (an entry
        whose last console closed stays in the view with no connections)."""
        return {a for a, p in (await self._view(site_id)).items() if p.connections}

    async def online_ids(self, site_id: str) -> frozenset[str]:
        return online_ids(await self._view(site_id))

    async def snapshot(self, site_id: str) -> list[dict[str, str]]:
        return snapshot_of(await self._view(site_id))

    async def _view(self, site_id: str) -> dict[str, AgentPresence]:
        local = self._sites.get(site_id, {})
        if self.directory is None:
            return local
        try:
            others = await self.directory.others(site_id)
        except Exception as exc:
            log.debug("presence directory unavailable: %s", exc)
            return local
        # Our own entries come from memory: they are current even while a write is in flight.
        return merge([*others, local])

    # -- this process's agents --------------------------------------------------------

    async def connected(self, site_id: str, agent_id: str, name: str, status: str) -> None:
        entry = self._sites[site_id].setdefault(agent_id, AgentPresence(name, status))
        entry.connections += 1
        entry.status, entry.name, entry.at = status, name, time.time()
        await self._changed(site_id)

    async def disconnected(self, site_id: str, agent_id: str) -> None:
        entry = self._sites[site_id].get(agent_id)
        if entry is None:
            return
        entry.connections = max(0, entry.connections - 1)
        await self._changed(site_id)

    async def set_status(self, site_id: str, agent_id: str, status: str) -> None:
        entry = self._sites[site_id].get(agent_id)
        if entry is not None:
            entry.status, entry.at = status, time.time()
        await self._changed(site_id)

    async def refresh(self) -> None:
        """Rewrite every entry of this process (heartbeat, and after Redis came back empty)."""
        for site_id in list(self._sites):
            await self._put(site_id)

    async def _changed(self, site_id: str) -> None:
        await self._put(site_id)
        await self._announce(site_id, await self._view(site_id))

    async def _put(self, site_id: str) -> None:
        if self.directory is None:
            return
        async with self._write_lock:
            try:
                await self.directory.put(site_id, dict(self._sites.get(site_id, {})))
            except Exception as exc:
                log.debug("presence not shared: %s", exc)

    async def _announce(self, site_id: str, view: dict[str, AgentPresence]) -> None:
        online, agents = online_count(view), snapshot_of(view)
        self._announced[site_id] = (online, agents)
        await self.bus.publish(
            Event.frame(
                site_id,
                (audience.AGENTS,),
                {"type": "presence", "agents_online": online, "agents": agents},
            )
        )
        await self.bus.publish(
            Event.frame(
                site_id, (audience.VISITORS,), {"type": "presence", "agents_online": online}
            )
        )

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat)
            try:
                await self.refresh()
                for site_id in {*self._sites, *self._announced}:
                    view = await self._view(site_id)
                    if self._announced.get(site_id) != (online_count(view), snapshot_of(view)):
                        await self._announce(site_id, view)
            except Exception:
                log.exception("presence heartbeat failed")


async def roster(db: Database, presence: Presence, site_id: str) -> list[dict[str, Any]]:
    """Every agent of the site with the status they are live in (offline when not connected)."""
    live = {p["id"]: p["status"] for p in await presence.snapshot(site_id)}
    items = []
    for agent in await agent_store.list_agents(db, site_id):
        status = live.get(agent.id, "offline")
        items.append({**agent.public(), "status": status, "online": status == "online"})
    return items


async def save_status(db: Database, agent_id: str, status: str) -> None:
    """The status an agent chose, kept for their next session."""
    await db.write(lambda conn: agent_store.set_status(conn, agent_id, status))
