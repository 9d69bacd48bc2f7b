"""Who receives which event. A wrong recipient is a data leak, so this is one place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from chat_server.domain.models import Message, Room

AudienceKind = Literal["agents", "agent", "customer", "visitors", "room"]


@dataclass(frozen=True, slots=True)
class Audience:
    kind: AudienceKind
    key: str = ""  # agent id, customer id or room id; empty for site-wide audiences


AGENTS = Audience("agents")
VISITORS = Audience("visitors")


def customer(customer_id: str) -> Audience:
    return Audience("customer", customer_id)


def agent(agent_id: str) -> Audience:
    return Audience("agent", agent_id)


def room_readers(room: Room) -> tuple[Audience, ...]:
    """Everyone who follows a room: the site's agents and the visitor side."""
    if room.kind == "public":
        return (AGENTS, Audience("room", room.id))
    if room.customer_id is None:
        return (AGENTS,)
    return (AGENTS, customer(room.customer_id))


def for_message(room: Room, message: Message) -> tuple[Audience, ...]:
    # Private notes are for the shop's staff only, wherever the room is.
    if message.kind == "note":
        return (AGENTS,)
    return room_readers(room)


def for_read(room: Room, reader_kind: str, reader_id: str) -> tuple[Audience, ...]:
    """Read marks of a public room interest no other visitor: echoed to the reader's own tabs.

    (Fanning every reader's mark out to every reader would cost readers squared.)
    """
    if room.kind != "public":
        return room_readers(room)
    return (AGENTS,) if reader_kind == "agent" else (customer(reader_id),)


def room_visitors(room: Room) -> tuple[Audience, ...]:
    """The visitors following a public room (its joined widgets), without staff."""
    return (Audience("room", room.id),)


def for_typing(room: Room, author_kind: str) -> tuple[Audience, ...]:
    # Agents see each other typing (collision avoidance); visitors see only staff typing.
    if author_kind == "customer":
        return (AGENTS,)
    return room_readers(room)
