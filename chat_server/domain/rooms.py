"""The private-room state machine: queued -> assigned -> resolved -> (reopened) ...

Transitions are pure: they take the room's current state and an action and
return the new state plus the system line to log, or refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chat_server.domain.models import UNTIL_REPLY, RoomKind, RoomStatus
from chat_server.errors import ErrorCode, SapaError
from chat_server.ids import format_time

MAX_SNOOZE = timedelta(days=365)

# The system line logged for each change, in the site's language.
EVENT_TEXT: dict[str, dict[str, str]] = {
    "assigned": {"id": "Ditangani oleh {name}", "en": "Assigned to {name}"},
    "unassigned": {"id": "Dikembalikan ke antrean", "en": "Unassigned"},
    "resolved": {"id": "Diselesaikan oleh {name}", "en": "Resolved by {name}"},
    "reopened": {"id": "Dibuka kembali oleh {name}", "en": "Reopened by {name}"},
    "reopened_by_customer": {
        "id": "Dibuka kembali oleh pelanggan",
        "en": "Reopened by customer",
    },
}


@dataclass(frozen=True, slots=True)
class EventLine:
    """A system line: its key and the agent it names; clients render it from `data()`."""

    key: str
    name: str = ""
    agent_id: str | None = None

    def render(self, locale: str) -> str:
        texts = EVENT_TEXT[self.key]
        return texts.get(locale, texts["en"]).format(name=self.name)

    def data(self) -> dict[str, Any]:
        """What travels as `message.event`: {"key", "agent"?: {"id", "name"}}."""
        out: dict[str, Any] = {"key": self.key}
        if self.agent_id is not None:
            out["agent"] = {"id": self.agent_id, "name": self.name}
        return out


@dataclass(frozen=True, slots=True)
class Transition:
    status: RoomStatus
    assignee_id: str | None
    event: EventLine | None  # the system line logged in the room, None when nothing changed


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
    line = (
        EventLine("assigned", new_assignee_name or "", new_assignee_id)
        if new_assignee_id
        else EventLine("unassigned")
    )
    return Transition(next_status, new_assignee_id, line)


def resolve(
    status: RoomStatus, assignee_id: str | None, by_name: str, by_id: str | None = None
) -> Transition:
    if status == "open":
        raise SapaError(ErrorCode.BAD_REQUEST, "public rooms are not resolved")
    if status == "resolved":
        return Transition(status, assignee_id, None)
    return Transition("resolved", assignee_id, EventLine("resolved", by_name, by_id))


def reopen(
    status: RoomStatus, assignee_id: str | None, by_name: str, by_id: str | None = None
) -> Transition:
    if status == "open":
        raise SapaError(ErrorCode.BAD_REQUEST, "public rooms are not reopened")
    if status != "resolved":
        return Transition(status, assignee_id, None)
    return Transition(_status_for(assignee_id), assignee_id, EventLine("reopened", by_name, by_id))


def check_may_leave(status: RoomStatus) -> None:
    """A shopper starts a new conversation only once the current one is resolved: while it is
    open it is where they talk (and a queued one keeps its place in line)."""
    if status != "resolved":
        raise SapaError(
            ErrorCode.CONFLICT,
            "the current conversation is still open: write in it, or wait until it is resolved",
        )


def check_not_past(superseded_at: str | None) -> None:
    """A past conversation (its shopper started a new one) is read-only: nobody writes in it
    as the shopper, nobody reopens it (the shopper's current conversation is elsewhere)."""
    if superseded_at is not None:
        raise SapaError(
            ErrorCode.ROOM_CLOSED,
            "this conversation is closed: the shopper has started a new one",
        )


def on_customer_message(status: RoomStatus, assignee_id: str | None) -> Transition:
    """A shopper writing into a resolved conversation reopens it for the same agent."""
    if status == "resolved":
        return Transition(_status_for(assignee_id), assignee_id, EventLine("reopened_by_customer"))
    return Transition(status, assignee_id, None)


def on_agent_reply(
    status: RoomStatus, assignee_id: str | None, agent_id: str, agent_name: str
) -> Transition:
    """The first agent to answer a queued conversation takes it, as agents expect."""
    if status == "queued" and assignee_id is None:
        return Transition("assigned", agent_id, EventLine("assigned", agent_name, agent_id))
    return Transition(status, assignee_id, None)


def snooze_until(value: Any, now: datetime) -> str:
    """When a snooze ends, as stored: `None` until the shopper writes, else a time (RFC 3339;
    no zone means UTC) after `now` and at most a year ahead."""
    if value is None:
        return UNTIL_REPLY
    if not isinstance(value, str) or len(value) > 40:
        raise SapaError(ErrorCode.BAD_REQUEST, "'until' must be a time like 2026-12-24T09:00Z")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise SapaError(
            ErrorCode.BAD_REQUEST, "'until' must be a time like 2026-12-24T09:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment <= now:
        raise SapaError(ErrorCode.BAD_REQUEST, "'until' must be in the future")
    if moment - now > MAX_SNOOZE:
        raise SapaError(ErrorCode.BAD_REQUEST, "a snooze lasts at most a year")
    return format_time(moment)


def check_snooze(kind: RoomKind, status: RoomStatus) -> None:
    """Conversations that are waiting or being handled may be snoozed; a resolved one is done."""
    if kind != "private":
        raise SapaError(ErrorCode.BAD_REQUEST, "only conversations are snoozed")
    if status == "resolved":
        raise SapaError(ErrorCode.CONFLICT, "a resolved conversation is not snoozed")
