"""Who may read and write which room. Every check that guards a room lives here."""

from __future__ import annotations

from dataclasses import dataclass

from chat_server.domain.models import Author, Room
from chat_server.errors import not_found


@dataclass(frozen=True, slots=True)
class Viewer:
    """The authenticated party behind a request: a shopper or a member of a site's staff."""

    site_id: str
    kind: str  # "customer" or "agent"
    id: str
    name: str
    role: str = ""  # agent role: "agent" or "owner"
    address: str | None = None  # the client's network address, for limits shared by identities

    @property
    def is_agent(self) -> bool:
        return self.kind == "agent"

    @property
    def author(self) -> Author:
        return Author("agent" if self.is_agent else "customer", self.id, self.name)  # type: ignore[arg-type]


def check_can_read(viewer: Viewer, room: Room | None) -> Room:
    """Another site's room or another shopper's conversation is simply not found: no oracle."""
    if room is None or room.site_id != viewer.site_id:
        raise not_found("room")
    if viewer.is_agent or room.kind == "public":
        return room
    if room.customer_id != viewer.id:
        raise not_found("room")
    return room
