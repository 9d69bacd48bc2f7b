"""Unsend and edit: a sender changes their own message; everyone who sees the room is told.

The message changes in place (so `sync`, `history` and search show it as it is now); the
words it had go to the audit log in the same transaction, for the site's owners.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chat_server.bus import Event
from chat_server.domain import audience
from chat_server.domain.access import Viewer, check_can_read
from chat_server.domain.frames import Edit, Unsend
from chat_server.domain.message_edits import DELETED, EDITED, check_may_change, check_may_edit
from chat_server.domain.models import Message, Room
from chat_server.ids import format_time
from chat_server.services import audit
from chat_server.services.chat import ChatService
from chat_server.store import public_rooms as public_store
from chat_server.store import rooms as room_store
from chat_server.store.sql import Tx

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


def _own(conn: Tx, viewer: Viewer, message_id: str) -> tuple[Room, Message]:
    message = check_may_change(viewer, room_store.message_of_site(conn, viewer.site_id, message_id))
    room = check_can_read(viewer, room_store.load_room(conn, viewer.site_id, message.room_id))
    return room, message


def _keep_original(conn: Tx, viewer: Viewer, action: str, message: Message) -> None:
    detail: dict[str, Any] = {"room_id": message.room_id, "body": message.body}
    audit.record(conn, viewer.site_id, audit.Actor.of(viewer), action, message.id, detail)


async def edit(chat: ChatService, viewer: Viewer, command: Edit, clock: Clock = _now) -> Message:
    """The sender's new text, within the edit window; the old text goes to the audit log."""

    def job(conn: Tx) -> Change:
        room, message = _own(conn, viewer, command.message_id)
        moment = clock()
        check_may_edit(message, moment)
        if message.body == command.body:
            return Change(room, message)
        at = format_time(moment)
        room_store.edit_message(conn, message.id, command.body, at)
        _keep_original(conn, viewer, EDITED, message)
        return _reloaded(conn, room, message)

    return await _publish(chat, await chat.db.write(job))


async def unsend(
    chat: ChatService, viewer: Viewer, command: Unsend, clock: Clock = _now
) -> Message:
    """The sender deletes their message: a tombstone for everyone; unsending twice is a no-op."""

    def job(conn: Tx) -> Change:
        room, message = _own(conn, viewer, command.message_id)
        if message.deleted:
            return Change(room, message)
        room_store.unsend_message(conn, message.id, format_time(clock()))
        # A deleted post cannot stay on top of its public room.
        unpinned = room.kind == "public" and public_store.unpin(conn, room.id, message.id)
        _keep_original(conn, viewer, DELETED, message)
        return _reloaded(conn, room, message, unpinned)

    return await _publish(chat, await chat.db.write(job))


@dataclass(frozen=True, slots=True)
class Change:
    """What an edit or unsend did: the message as it is now, and whether others are told."""

    room: Room
    message: Message
    changed: bool = False
    room_changed: bool = False


def _reloaded(conn: Tx, room: Room, message: Message, unpinned: bool = False) -> Change:
    found = room_store.load_message(conn, message.room_id, message.id)
    assert found is not None
    room = room_store.load_room(conn, room.site_id, room.id) or room
    # The inbox previews the room's last message: that changed too.
    return Change(room, found, True, unpinned or message.seq == room.last_seq)


async def _publish(chat: ChatService, change: Change) -> Message:
    room, message = change.room, change.message
    if change.changed:
        # Whoever was sent the message is told: a hidden one only ever reached staff.
        to = (audience.AGENTS,) if message.hidden else audience.for_message(room, message)
        payload = {"type": "message_update", "message": message.as_dict()}
        await chat.bus.publish(Event.frame(room.site_id, to, payload))
    if change.room_changed:
        await chat.publish_room(room)
    return message
