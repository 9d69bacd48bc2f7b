"""Presence rules: how several processes' views of the agents add up. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace


@dataclass(slots=True)
class AgentPresence:
    name: str
    status: str
    connections: int = 0
    at: float = 0.0  # wall clock of the last status change: across processes the latest wins


def merge(views: Iterable[dict[str, AgentPresence]]) -> dict[str, AgentPresence]:
    """One entry per agent: connections add up; the latest status of a connected entry wins."""
    out: dict[str, AgentPresence] = {}
    for view in views:
        for agent_id, entry in view.items():
            seen = out.get(agent_id)
            if seen is None:
                out[agent_id] = replace(entry)
                continue
            if entry.connections and (not seen.connections or entry.at > seen.at):
                seen.status, seen.at, seen.name = entry.status, entry.at, entry.name
            seen.connections += entry.connections
    return out


def online_count(view: dict[str, AgentPresence]) -> int:
    return sum(1 for p in view.values() if p.connections and p.status == "online")


def snapshot_of(view: dict[str, AgentPresence]) -> list[dict[str, str]]:
    # Sorted: views merged from several processes come in no particular order.
    return [
        {"id": agent_id, "name": p.name, "status": p.status if p.connections else "offline"}
        for agent_id, p in sorted(view.items(), key=lambda item: (item[1].name, item[0]))
    ]


def online_ids(view: dict[str, AgentPresence]) -> frozenset[str]:
    """The agents who may be given conversations: connected and online."""
    return frozenset(a for a, p in view.items() if p.connections and p.status == "online")
