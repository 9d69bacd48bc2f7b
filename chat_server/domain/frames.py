"""Parse and validate client frames into typed commands, with no I/O.

Every rule about what a client may send lives here, so the gateways only move
bytes and the rules are tested without a socket.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from chat_server.domain import json_input, mail
from chat_server.domain.attachments import MAX_PER_MESSAGE
from chat_server.domain.public_rooms import (
    HISTORY_DEFAULT,
    HISTORY_MAX,
    MAX_MUTE_MINUTES,
    RoomChanges,
    room_changes,
)
from chat_server.errors import ErrorCode, SapaError

MAX_FRAME_BYTES = 64 * 1024
MAX_BODY_CHARS = 4000
MAX_CLIENT_MSG_ID = 64
MAX_REF = 64
MAX_SYNC_LIMIT = 200
DEFAULT_SYNC_LIMIT = 100

Client = Literal["widget", "agent"]


@dataclass(frozen=True, slots=True)
class Hello:
    token: str | None


@dataclass(frozen=True, slots=True)
class Send:
    room_id: str | None
    client_msg_id: str
    body: str
    kind: Literal["text", "note"] = "text"
    faq_id: str | None = None  # agent: the suggestion this reply came from
    for_message_id: str | None = None  # agent: the customer message it answers
    reply_to: str | None = None  # the message (a question) this one answers
    attachments: tuple[str, ...] = ()  # uploads (ids) this message carries


@dataclass(frozen=True, slots=True)
class Edit:
    """The sender's new text for their own message (within its edit window)."""

    message_id: str
    body: str


@dataclass(frozen=True, slots=True)
class Unsend:
    """The sender withdraws their own message: everyone sees it deleted."""

    message_id: str


@dataclass(frozen=True, slots=True)
class History:
    room_id: str
    before_seq: int | None  # None: from the newest message
    limit: int


@dataclass(frozen=True, slots=True)
class Profile:
    name: str


@dataclass(frozen=True, slots=True)
class Contact:
    """The shopper's email address, and whether they agree to be emailed at it."""

    email: str
    consent: bool


@dataclass(frozen=True, slots=True)
class Moderate:
    room_id: str
    message_id: str
    action: Literal["hide", "unhide"]


@dataclass(frozen=True, slots=True)
class Mute:
    room_id: str
    customer_id: str
    minutes: int


@dataclass(frozen=True, slots=True)
class RoomSettings:
    room_id: str
    changes: RoomChanges


@dataclass(frozen=True, slots=True)
class FaqSearch:
    q: str
    limit: int


@dataclass(frozen=True, slots=True)
class FaqFeedback:
    faq_id: str
    helpful: bool
    for_message_id: str | None


@dataclass(frozen=True, slots=True)
class Sync:
    room_id: str
    after_seq: int
    limit: int
    # The room's rev the client last saw: the answer adds the older messages changed since.
    since_rev: int | None = None


@dataclass(frozen=True, slots=True)
class Typing:
    room_id: str
    active: bool


@dataclass(frozen=True, slots=True)
class Read:
    room_id: str
    seq: int


@dataclass(frozen=True, slots=True)
class Rate:
    room_id: str
    score: int
    comment: str | None


@dataclass(frozen=True, slots=True)
class Join:
    room_id: str


@dataclass(frozen=True, slots=True)
class Leave:
    room_id: str


@dataclass(frozen=True, slots=True)
class Assign:
    room_id: str
    agent_id: str | None


@dataclass(frozen=True, slots=True)
class Transfer:
    """Hand a conversation to another agent or to a team, with a note for them (stored as a
    private note). Exactly one of `agent_id` and `team_id` is set."""

    room_id: str
    agent_id: str | None
    note: str | None
    team_id: str | None = None


@dataclass(frozen=True, slots=True)
class Resolve:
    room_id: str


@dataclass(frozen=True, slots=True)
class Reopen:
    room_id: str


@dataclass(frozen=True, slots=True)
class Snooze:
    """Out of the open inbox until a time (checked by the service), or None: until the
    shopper writes."""

    room_id: str
    until: str | None


@dataclass(frozen=True, slots=True)
class Unsnooze:
    room_id: str


@dataclass(frozen=True, slots=True)
class SetStatus:
    status: Literal["online", "away", "offline"]


@dataclass(frozen=True, slots=True)
class Ping:
    pass


@dataclass(frozen=True, slots=True)
class NewConversation:
    """A shopper leaves their resolved conversation behind for a new one."""


Command = (
    Hello
    | Send
    | Sync
    | Typing
    | Read
    | Rate
    | Join
    | Leave
    | Assign
    | Transfer
    | Resolve
    | Reopen
    | Snooze
    | Unsnooze
    | SetStatus
    | Ping
    | NewConversation
    | FaqSearch
    | FaqFeedback
    | History
    | Profile
    | Moderate
    | Mute
    | RoomSettings
    | Contact
    | Edit
    | Unsend
)


@dataclass(frozen=True, slots=True)
class Frame:
    ref: str | None
    command: Command


class FrameError(SapaError):
    """A frame the server refuses; `ref` is echoed when the frame had a usable one."""

    def __init__(self, code: ErrorCode, message: str, ref: str | None = None) -> None:
        super().__init__(code, message)
        self.ref = ref


def _str(data: dict[str, Any], key: str, *, max_len: int = 128, optional: bool = False) -> Any:
    value = data.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise bad(f"'{key}' must be a string of 1 to {max_len} characters")
    return value


def _int(data: dict[str, Any], key: str, *, low: int, high: int, default: int | None = None) -> int:
    value = data.get(key, default)
    # bool is an int subclass; true/false are not numbers here.
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise bad(f"'{key}' must be an integer from {low} to {high}")
    return value


def bad(message: str) -> FrameError:
    return FrameError(ErrorCode.BAD_REQUEST, message)


def _attachment_ids(data: dict[str, Any]) -> tuple[str, ...]:
    ids = data.get("attachments", [])
    if (
        not isinstance(ids, list)
        or len(ids) > MAX_PER_MESSAGE
        or not all(isinstance(i, str) and 0 < len(i) <= 64 for i in ids)
        or len(set(ids)) != len(ids)
    ):
        raise bad(f"'attachments' must be a list of at most {MAX_PER_MESSAGE} distinct ids")
    return tuple(ids)


def _within_limit(body: str) -> str:
    if len(body) > MAX_BODY_CHARS:
        raise FrameError(ErrorCode.TOO_LARGE, f"'body' is over {MAX_BODY_CHARS} characters")
    return body


def _text(data: dict[str, Any]) -> str:
    """A message's text, as `send` and `edit` take it."""
    body = data.get("body")
    if not isinstance(body, str) or not body.strip():
        raise bad("'body' must be a non-empty string")
    return _within_limit(body)


def _edit(data: dict[str, Any]) -> Edit:
    return Edit(_str(data, "message_id"), _text(data))


def _send(data: dict[str, Any], client: Client) -> Send:
    body = data.get("body")
    attachments = _attachment_ids(data)
    # With files the text is optional (a photo alone), as in any messenger.
    if attachments and (body is None or isinstance(body, str)):
        body = _within_limit(body or "")
    else:
        body = _text(data)
    kind = data.get("kind", "text")
    if kind not in ("text", "note") or (client == "widget" and kind != "text"):
        raise bad("'kind' must be 'text'" + (" or 'note'" if client == "agent" else ""))
    room_id = _str(data, "room_id", optional=client == "widget")
    client_msg_id = _str(data, "client_msg_id", max_len=MAX_CLIENT_MSG_ID)
    reply_to = _str(data, "reply_to", optional=True)
    if reply_to is not None and room_id is None:
        raise bad("'reply_to' needs 'room_id'")
    if client == "widget":
        return Send(room_id, client_msg_id, body, kind, reply_to=reply_to, attachments=attachments)
    faq_id = _str(data, "faq_id", optional=True)
    for_message_id = _str(data, "for_message_id", optional=True)
    return Send(room_id, client_msg_id, body, kind, faq_id, for_message_id, reply_to, attachments)


def _history(data: dict[str, Any]) -> History:
    before = None
    if data.get("before_seq") is not None:
        before = _int(data, "before_seq", low=1, high=2**62)
    limit = _int(data, "limit", low=1, high=HISTORY_MAX, default=HISTORY_DEFAULT)
    return History(_str(data, "room_id"), before, limit)


def _moderate(data: dict[str, Any]) -> Moderate:
    action = data.get("action")
    if action not in ("hide", "unhide"):
        raise bad("'action' must be hide or unhide")
    return Moderate(_str(data, "room_id"), _str(data, "message_id"), action)


def _mute(data: dict[str, Any]) -> Mute:
    minutes = _int(data, "minutes", low=0, high=MAX_MUTE_MINUTES)
    return Mute(_str(data, "room_id"), _str(data, "customer_id"), minutes)


def _room_settings(data: dict[str, Any]) -> RoomSettings:
    room_id = _str(data, "room_id")
    try:
        return RoomSettings(room_id, room_changes(data))
    except SapaError as exc:
        raise FrameError(exc.code, exc.message) from None


def _contact(data: dict[str, Any]) -> Contact:
    consent = data.get("consent", True)
    if not isinstance(consent, bool):
        raise bad("'consent' must be true or false")
    try:
        return Contact(mail.valid_address(data.get("email")), consent)
    except SapaError as exc:
        raise bad(exc.message) from None


def _faq_search(data: dict[str, Any]) -> FaqSearch:
    return FaqSearch(_str(data, "q", max_len=500), _int(data, "limit", low=1, high=5, default=3))


def _faq_feedback(data: dict[str, Any]) -> FaqFeedback:
    helpful = data.get("helpful")
    if not isinstance(helpful, bool):
        raise bad("'helpful' must be true or false")
    return FaqFeedback(_str(data, "faq_id"), helpful, _str(data, "for_message_id", optional=True))


def _rate(data: dict[str, Any]) -> Rate:
    comment = data.get("comment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_BODY_CHARS):
        raise bad(f"'comment' must be a string of at most {MAX_BODY_CHARS} characters")
    return Rate(_str(data, "room_id"), _int(data, "score", low=1, high=5), comment or None)


def _assign(data: dict[str, Any]) -> Assign:
    if "agent_id" not in data:
        raise bad("'agent_id' is required (null to unassign)")
    return Assign(_str(data, "room_id"), _str(data, "agent_id", optional=True))


def _transfer(data: dict[str, Any]) -> Transfer:
    if ("team_id" in data) == ("agent_id" in data):
        raise bad("give either 'agent_id' or 'team_id'")
    note = data.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_BODY_CHARS):
        raise bad(f"'note' must be a string of at most {MAX_BODY_CHARS} characters")
    note = (note or "").strip() or None
    if "team_id" in data:
        return Transfer(_str(data, "room_id"), None, note, _str(data, "team_id"))
    return Transfer(_str(data, "room_id"), _str(data, "agent_id"), note)


def transfer_request(room_id: str, data: dict[str, Any]) -> Transfer:
    """A transfer asked over REST (`POST /api/v1/rooms/{id}/transfer`): the frame's rules."""
    return _transfer({**data, "room_id": room_id})


def _snooze(data: dict[str, Any]) -> Snooze:
    if "until" not in data:
        raise bad("'until' is required (null: until the customer writes)")
    return Snooze(_str(data, "room_id"), _str(data, "until", max_len=40, optional=True))


def _status(data: dict[str, Any]) -> SetStatus:
    status = data.get("status")
    if status not in ("online", "away", "offline"):
        raise bad("'status' must be online, away or offline")
    return SetStatus(status)


def _typing(data: dict[str, Any]) -> Typing:
    active = data.get("active")
    if not isinstance(active, bool):
        raise bad("'active' must be true or false")
    return Typing(_str(data, "room_id"), active)


def _build(kind: str, data: dict[str, Any], client: Client) -> Command:
    match kind:
        case "hello":
            return Hello(_str(data, "token", max_len=256, optional=True))
        case "send":
            return _send(data, client)
        case "edit":
            return _edit(data)
        case "unsend":
            return Unsend(_str(data, "message_id"))
        case "sync":
            return Sync(
                _str(data, "room_id"),
                _int(data, "after_seq", low=0, high=2**62),
                _int(data, "limit", low=1, high=MAX_SYNC_LIMIT, default=DEFAULT_SYNC_LIMIT),
                None
                if data.get("since_rev") is None
                else _int(data, "since_rev", low=0, high=2**62),
            )
        case "typing":
            return _typing(data)
        case "read":
            return Read(_str(data, "room_id"), _int(data, "seq", low=0, high=2**62))
        case "join":
            return Join(_str(data, "room_id"))
        case "leave":
            return Leave(_str(data, "room_id"))
        case "ping":
            return Ping()
        case "history":
            return _history(data)
        case "profile" if client == "widget":
            return Profile(_str(data, "name", max_len=200))
        case "contact" if client == "widget":
            return _contact(data)
        case "rate" if client == "widget":
            return _rate(data)
        case "new_conversation" if client == "widget":
            return NewConversation()
        case "faq_search" if client == "widget":
            return _faq_search(data)
        case "faq_feedback" if client == "widget":
            return _faq_feedback(data)
        case "assign" if client == "agent":
            return _assign(data)
        case "transfer" if client == "agent":
            return _transfer(data)
        case "resolve" if client == "agent":
            return Resolve(_str(data, "room_id"))
        case "reopen" if client == "agent":
            return Reopen(_str(data, "room_id"))
        case "snooze" if client == "agent":
            return _snooze(data)
        case "unsnooze" if client == "agent":
            return Unsnooze(_str(data, "room_id"))
        case "status" if client == "agent":
            return _status(data)
        case "moderate" if client == "agent":
            return _moderate(data)
        case "mute" if client == "agent":
            return _mute(data)
        case "room_settings" if client == "agent":
            return _room_settings(data)
    raise bad(f"unknown type '{kind}'")


def parse(text: str | bytes, client: Client) -> Frame:
    """Turn one raw frame into a typed command or raise FrameError."""
    if len(text) > MAX_FRAME_BYTES:
        raise FrameError(ErrorCode.TOO_LARGE, "frame too large")
    try:
        data = json_input.decode(text)
    except json_input.BadJson as exc:
        raise bad(f"frame is {exc.message}") from None
    if not isinstance(data, dict):
        raise bad("frame must be a JSON object")
    raw_ref = data.get("ref")
    ref = raw_ref if isinstance(raw_ref, str) and 0 < len(raw_ref) <= MAX_REF else None
    if raw_ref is not None and ref is None:
        raise bad(f"'ref' must be a string of 1 to {MAX_REF} characters")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise FrameError(ErrorCode.BAD_REQUEST, "'type' is required", ref)
    try:
        return Frame(ref, _build(kind, data, client))
    except FrameError as exc:
        exc.ref = ref
        raise
