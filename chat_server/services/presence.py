"""Which agents are connected and available, per site (this process's view)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from chat_server.bus import Bus, Event
from chat_server.domain import audience


@dataclass(slots=True)
class _AgentPresence:
    name: str
    status: str
    connections: int = 0


class Presence:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._sites: dict[str, dict[str, _AgentPresence]] = defaultdict(dict)

    def agents_online(self, site_id: str) -> int:
        return sum(
            1 for p in self._sites[site_id].values() if p.connections and p.status == "online"
        )

    def snapshot(self, site_id: str) -> list[dict[str, str]]:
        return [
            {"id": agent_id, "name": p.name, "status": p.status if p.connections else "offline"}
            for agent_id, p in self._sites[site_id].items()
        ]

    async def connected(self, site_id: str, agent_id: str, name: str, status: str) -> None:
        entry = self._sites[site_id].setdefault(agent_id, _AgentPresence(name, status))
        entry.connections += 1
        entry.status = status
        await self._announce(site_id)

    async def disconnected(self, site_id: str, agent_id: str) -> None:
        entry = self._sites[site_id].get(agent_id)
        if entry is None:
            return
        entry.connections = max(0, entry.connections - 1)
        await self._announce(site_id)

    async def set_status(self, site_id: str, agent_id: str, status: str) -> None:
        entry = self._sites[site_id].get(agent_id)
        if entry is not None:
            entry.status = status
        await self._announce(site_id)

    async def _announce(self, site_id: str) -> None:
        online = self.agents_online(site_id)
        await self.bus.publish(
            Event.frame(
                site_id,
                (audience.AGENTS,),
                {"type": "presence", "agents_online": online, "agents": self.snapshot(site_id)},
            )
        )
        await self.bus.publish(
            Event.frame(
                site_id, (audience.VISITORS,), {"type": "presence", "agents_online": online}
            )
        )
