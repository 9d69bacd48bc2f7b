"""Unsend and edit: who may change a message, and until when. No I/O."""

from __future__ import annotations

from datetime import datetime, timedelta

from chat_server import errors
from chat_server.domain.access import Viewer
from chat_server.domain.models import Message
from chat_server.domain.public_rooms import parse_time
from chat_server.errors import ErrorCode, SapaError

EDIT_WINDOW = timedelta(minutes=15)
# The audit log's entries that keep a message's earlier words (`detail.body`); an erase
# clears them (store/crm.py).
EDITED = "message_edited"
DELETED = "message_deleted"
AUDIT_ACTIONS = (EDITED, DELETED)


def check_may_change(viewer: Viewer, message: Message | None) -> Message:
    """The viewer's own message: one they cannot see is not found, another's is forbidden."""
    if message is None or message.site_id != viewer.site_id:
        raise errors.not_found("message")
    if not viewer.is_agent and (message.kind == "note" or message.hidden):
        raise errors.not_found("message")
    author = message.author
    if author.kind != viewer.kind or author.id != viewer.id or message.kind == "event":
        raise errors.forbidden("only its sender may change a message")
    return message


def check_may_edit(message: Message, now: datetime) -> None:
    """Text is edited within EDIT_WINDOW of being sent; an unsent message stays unsent."""
    if message.deleted:
        raise SapaError(ErrorCode.CONFLICT, "that message was deleted")
    if now - parse_time(message.created_at) > EDIT_WINDOW:
        minutes = int(EDIT_WINDOW.total_seconds() // 60)
        raise SapaError(ErrorCode.TOO_LATE, f"a message can be edited for {minutes} minutes")
