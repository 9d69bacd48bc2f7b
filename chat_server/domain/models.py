"""Plain records shared by every layer. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from chat_server.domain.attachments import Attachment, Scope

AuthorKind = Literal["customer", "agent", "system"]
MessageKind = Literal["text", "note", "event"]
RoomKind = Literal["private", "public"]
# A snooze with no time lasts until the shopper writes: stored as a time no clock reaches, so
# the timer's `snoozed_until <= now` never wakes it and one column says both.
UNTIL_REPLY = "9999-12-31T23:59:59.999Z"
RoomStatus = Literal["queued", "assigned", "resolved", "open"]
Role = Literal["agent", "owner"]
AgentStatus = Literal["online", "away", "offline"]


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    name: str
    site_key: str
    identity_secret: str
    domains: tuple[str, ...]
    greeting: str = ""
    locale: str = "id"
    color: str = "#0f766e"
    # Pre-chat form: {"enabled": bool, "fields": ["name", "email"], "consent": bool}
    prechat: dict[str, Any] = field(default_factory=dict)
    # Business hours (domain/business_hours.py), the away message {"id", "en"}, and email
    # settings {"reply_delay_seconds", "capture_after_minutes"}: {} when never set.
    business_hours: dict[str, Any] = field(default_factory=dict)
    away_message: dict[str, Any] = field(default_factory=dict)
    email_settings: dict[str, Any] = field(default_factory=dict)
    max_upload_bytes: int = 10 * 1024 * 1024  # photos and files (domain/attachments.py)


@dataclass(frozen=True, slots=True)
class Agent:
    id: str
    site_id: str
    email: str
    name: str
    role: Role
    status: AgentStatus = "offline"
    active: bool = True  # false once deactivated: no login, no sessions, no assignments

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "role": self.role,
            "status": self.status,
            "active": self.active,
        }


def anonymous_name(customer_id: str) -> str:
    """The name stored for a shopper who never gave one (v1 clients show it as it is)."""
    return f"Pengunjung {label_id(customer_id)}"


def label_id(customer_id: str) -> str:
    """The short id each UI puts after its own word for a visitor ("Visitor 7F3A")."""
    return customer_id[-4:]


def anonymous_marks(customer_id: str, name: str | None) -> dict[str, Any]:
    """Extension fields for a customer without a name: each client labels them itself."""
    if name and name != anonymous_name(customer_id):
        return {}
    return {"anonymous": True, "label_id": label_id(customer_id)}


@dataclass(frozen=True, slots=True)
class Author:
    kind: AuthorKind
    id: str
    name: str

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "id": self.id, "name": self.name}
        if self.kind == "customer":
            out.update(anonymous_marks(self.id, self.name))
        return out


@dataclass(frozen=True, slots=True)
class Quote:
    """The message a reply answers, as the reply shows it: its id only when it is gone, and
    no text when a moderator hid it from visitors."""

    id: str
    body: str | None = None
    author: Author | None = None
    hidden: bool = False

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        if self.body is not None:
            out["body"] = self.body
        if self.author is not None:
            out["author"] = self.author.as_dict()
        if self.hidden:
            out["hidden"] = True
        return out


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    site_id: str
    room_id: str
    seq: int
    kind: MessageKind
    body: str
    author: Author
    client_msg_id: str | None
    created_at: str
    # Public rooms: the quoted question, and whether a moderator hid this message (only
    # staff ever receive hidden messages).
    reply_to: Quote | None = None
    hidden: bool = False
    # System lines (kind "event"): {"key", "agent"?: {"id", "name"}}; `body` is the
    # same line rendered in the site's language, for v1 clients.
    event: dict[str, Any] | None = None
    # Files the message carries; their links are signed when the message is serialised
    # (scope "s": links that still work once a moderator hides the message, for staff).
    attachments: tuple[Attachment, ...] = ()
    # Its sender changed it: the last edit's time, and whether they unsent it (a tombstone:
    # empty body, no files).
    edited_at: str | None = None
    deleted: bool = False

    def as_dict(self, scope: Scope = "v") -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "room_id": self.room_id,
            "seq": self.seq,
            "kind": self.kind,
            "body": self.body,
            "author": self.author.as_dict(),
            "created_at": self.created_at,
        }
        if self.client_msg_id is not None:
            out["client_msg_id"] = self.client_msg_id
        if self.reply_to is not None:
            out["reply_to"] = self.reply_to.as_dict()
        if self.hidden:
            out["hidden"] = True
        if self.event is not None:
            out["event"] = self.event
        if self.attachments:
            out["attachments"] = [a.as_dict(scope) for a in self.attachments]
        if self.edited_at is not None:
            out["edited_at"] = self.edited_at
        if self.deleted:
            out["deleted"] = True
        return out


@dataclass(frozen=True, slots=True)
class Room:
    id: str
    site_id: str
    kind: RoomKind
    status: RoomStatus
    last_seq: int
    created_at: str
    updated_at: str
    name: str | None = None
    customer_id: str | None = None
    assignee_id: str | None = None
    assignee_name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Public rooms only.
    position: int = 0
    archived: bool = False
    slow_mode_seconds: int = 0
    pinned: Message | None = None
    visitor_images: bool = False  # visitors may post images (off by default)
    # Conversations only: out of the open inbox until then (UNTIL_REPLY: until the shopper
    # writes); staff see it, the shopper never does.
    snoozed_until: str | None = None
    # Conversations only: when the shopper left it behind for a new one (None: their current
    # conversation). A past conversation is read-only for the shopper.
    superseded_at: str | None = None
    # The room's latest change to a stored message (edit, unsend): a `sync` cursor.
    last_rev: int = 0

    @property
    def snoozed(self) -> bool:
        return self.snoozed_until is not None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "last_seq": self.last_seq,
            "last_rev": self.last_rev,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "assignee": (
                {"id": self.assignee_id, "name": self.assignee_name} if self.assignee_id else None
            ),
        }
        if self.name is not None:
            out["name"] = self.name
        if self.customer_id is not None:
            out["customer_id"] = self.customer_id
        if self.kind == "public":
            out["position"] = self.position
            out["archived"] = self.archived
            out["slow_mode_seconds"] = self.slow_mode_seconds
            out["pinned"] = self.pinned.as_dict() if self.pinned else None
            out["visitor_images"] = self.visitor_images
        else:
            out["snoozed"] = self.snoozed
            out["snoozed_until"] = None if self.snoozed_until == UNTIL_REPLY else self.snoozed_until
            if self.superseded_at is not None:
                out["superseded_at"] = self.superseded_at
        out.update(self.extra)
        return out

    def visitor_view(self) -> dict[str, Any]:
        """What a shopper may see: no previews (they may be private notes), no staff counters."""
        out = self.as_dict()
        for key in (*self.extra, "snoozed", "snoozed_until"):
            out.pop(key, None)
        return out


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    site_id: str
    name: str | None
    email: str | None
    external_id: str | None
    created_at: str

    def display_name(self) -> str:
        return self.name or anonymous_name(self.id)
