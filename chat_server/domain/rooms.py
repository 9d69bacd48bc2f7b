"""The private-room state machine: queued -> assigned -> resolved -> (reopened) ...

Transitions are pure: they take the room's current state and an action and
return the new state plus the system line to log, or refuse.
"""

from __future__ import annotations

from dataclasses import dataclass

from chat_server.domain.models import RoomStatus
from chat_server.errors import ErrorCode, SapaError


@dataclass(frozen=True, slots=True)
class Transition:
    status: RoomStatus
    assignee_id: str | None
    event_text: str | None  # the system line logged in the room, None when nothing changed


def _status_for(assignee_id: str | None) -> RoomStatus:
    return "assigned" if assignee_id else "queued"


def assign(
    status: RoomStatus,
    assignee_id: str | None,
    new_assignee_id: str | None,
    new_assignee_name: str | None,
) -> Transition:
    if status == "open":
        raise SapaError(ErrorCode.BAD_REQUEST, "public rooms are not assigned")
    if assignee_id == new_assignee_id:
        return Transition(status, assignee_id, None)
    # Assigning a resolved conversation keeps it resolved: the assignee is who owns any follow-up.
    next_status = status if status == "resolved" else _status_for(new_assignee_id)
    text = f"Assigned to {new_assignee_name}" if new_assignee_id else "Unassigned"
    return Transition(next_status, new_assignee_id, text)


def resolve(status: RoomStatus, assignee_id: str | None, by_name: str) -> Transition:
    if status == "open":
        raise SapaError(ErrorCode.BAD_REQUEST, "public rooms are not resolved")
    if status == "resolved":
        return Transition(status, assignee_id, None)
    return Transition("resolved", assignee_id, f"Resolved by {by_name}")


def reopen(status: RoomStatus, assignee_id: str | None, by_name: str) -> Transition:
    if status == "open":
        raise SapaError(ErrorCode.BAD_REQUEST, "public rooms are not reopened")
    if status != "resolved":
        return Transition(status, assignee_id, None)
    return Transition(_status_for(assignee_id), assignee_id, f"Reopened by {by_name}")


def on_customer_message(status: RoomStatus, assignee_id: str | None) -> Transition:
    """A shopper writing into a resolved conversation reopens it for the same agent."""
    if status == "resolved":
        return Transition(_status_for(assignee_id), assignee_id, "Reopened by customer")
    return Transition(status, assignee_id, None)


def on_agent_reply(
    status: RoomStatus, assignee_id: str | None, agent_id: str, agent_name: str
) -> Transition:
    """The first agent to answer a queued conversation takes it, as agents expect."""
    if status == "queued" and assignee_id is None:
        return Transition("assigned", agent_id, f"Assigned to {agent_name}")
    return Transition(status, assignee_id, None)
