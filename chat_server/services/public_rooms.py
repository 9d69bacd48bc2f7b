"""Public-room use cases: rooms and their settings, display names, moderation, mutes,
history, and FAQ drafts from answered questions.

Posting itself goes through ChatService.send like every message; the rules that
decide whether a visitor may post run inside its write transaction (PostGuard),
so two racing posts, or a post racing a mute, always see each other.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from chat_server import errors
from chat_server.bus import Bus, Event
from chat_server.domain import audience
from chat_server.domain.access import Viewer, check_can_read
from chat_server.domain.frames import Send
from chat_server.domain.models import Author, Message, Room
from chat_server.domain.public_rooms import (
    JOIN_HISTORY,
    Allowance,
    PostKey,
    PostLimits,
    PostThrottle,
    RoomChanges,
    VisitorPostState,
    check_may_change,
    default_room_name,
    faq_draft,
    generated_name,
    mute_until,
    parse_time,
    room_name,
    validate_display_name,
    visitor_post_refusal,
)
from chat_server.errors import ErrorCode, SapaError
from chat_server.ids import format_time
from chat_server.services import audit
from chat_server.store import agents as agent_store
from chat_server.store import public_rooms as public_store
from chat_server.store import rooms as room_store
from chat_server.store import sites as site_store
from chat_server.store.database import Database
from chat_server.store.sql import Tx

if TYPE_CHECKING:
    from chat_server.services.chat import ChatService
    from chat_server.services.faq import FaqService
    from chat_server.store.faq import FaqEntry


def _too_many(wait: int) -> SapaError:
    return SapaError(ErrorCode.RATE_LIMITED, f"too many posts; wait {wait} s")


def require_owner(viewer: Viewer, what: str) -> None:
    if viewer.role != "owner":
        raise errors.forbidden(f"only the site's owners may {what}")


def _public(room: Room) -> Room:
    if room.kind != "public":
        raise errors.bad_request("not a public room")
    return room


def _load_public(conn: Tx, viewer: Viewer, room_id: str) -> Room:
    return _public(check_can_read(viewer, room_store.load_room(conn, viewer.site_id, room_id)))


class SharedAllowances(Protocol):
    """Post allowances kept across processes (Redis); None from `take`: count locally."""

    async def take(self, allowances: Sequence[Allowance]) -> int | None: ...

    async def give_back(self, allowances: Sequence[Allowance]) -> None: ...


class PostGuard:
    """Who may post what, checked inside the write transaction (so on the writer thread only).

    Post allowances are counted in this process inside the write, or, when `shared` is set
    (Redis), taken before the write and given back when the write refuses the post.
    """

    def __init__(self, limits: PostLimits | None = None) -> None:
        self.throttle = PostThrottle(limits or PostLimits())
        self.shared: SharedAllowances | None = None

    def check(
        self,
        conn: Tx,
        viewer: Viewer,
        room: Room,
        command: Send,
        *,
        charged: bool = False,
    ) -> tuple[Author, Message | None]:
        """The author to record and the message replied to; raise when the post is refused.

        `charged`: the post's allowances were taken already (see `charge`).
        """
        author = viewer.author
        visitor = room.kind == "public" and not viewer.is_agent
        if visitor:
            author = self._visitor(conn, viewer, room)
        parent = self._reply_target(conn, viewer, room, command.reply_to)
        if visitor and not charged:
            # Last, so that a refused post does not use up the visitor's allowance.
            self._take_allowance(conn, viewer, room)
        return author, parent

    def _key(self, viewer: Viewer, room: Room, new_identity: bool) -> PostKey:
        # An address's allowance is per site: one shop's visitors never use up another's.
        address = f"{viewer.site_id}|{viewer.address}" if viewer.address else None
        return PostKey(viewer.id, room.id, address, new_identity)

    def _take_allowance(self, conn: Tx, viewer: Viewer, room: Room) -> None:
        new_posts = self.throttle.limits.new_identity_posts
        # Only a first allowance depends on it: count the posts once per visitor.
        new_identity = (
            bool(new_posts)
            and not self.throttle.knows(viewer.id)
            and public_store.public_posts(conn, viewer.id, new_posts) < new_posts
        )
        wait = self.throttle.wait(self._key(viewer, room, new_identity), time.monotonic())
        if wait:
            raise _too_many(wait)

    async def charge(self, db: Database, viewer: Viewer, command: Send) -> list[Allowance] | None:
        """With shared allowances: take this post's before it is written.

        None when nothing was taken: not a visitor's post in a public room, a resend (it
        answers the stored message whatever the limits say), or Redis not answering (the
        write then counts in this process).
        """
        if self.shared is None or viewer.is_agent or command.room_id is None:
            return None
        room = await room_store.get_room(db, viewer.site_id, command.room_id)
        if room is None or room.kind != "public":
            return None
        if await public_store.is_stored(db, room.id, command.client_msg_id):
            return None
        new_posts = self.throttle.limits.new_identity_posts
        new_identity = (
            bool(new_posts)
            and await public_store.count_public_posts(db, viewer.id, new_posts) < new_posts
        )
        allowances = self.throttle.allowances(self._key(viewer, room, new_identity))
        wait = await self.shared.take(allowances)
        if wait is None:
            return None
        if wait:
            raise _too_many(wait)
        return allowances

    async def give_back(self, allowances: list[Allowance] | None) -> None:
        if allowances and self.shared is not None:
            await self.shared.give_back(allowances)

    @staticmethod
    def _visitor(conn: Tx, viewer: Viewer, room: Room) -> Author:
        muted = public_store.muted_until(conn, room.id, viewer.id)
        last = (
            public_store.last_post_at(conn, room.id, viewer.id) if room.slow_mode_seconds else None
        )
        state = VisitorPostState(
            archived=room.archived,
            muted_until=parse_time(muted) if muted else None,
            slow_mode_seconds=room.slow_mode_seconds,
            last_post_at=parse_time(last) if last else None,
        )
        refusal = visitor_post_refusal(state, datetime.now(UTC))
        if refusal is not None:
            raise refusal
        # The name as stored now: another tab may have changed it since this socket opened.
        name = public_store.customer_name(conn, viewer.site_id, viewer.id)
        if not name:
            # A v1 client never sends `profile`: it posts under a generated name, kept.
            name = generated_name(
                viewer.id,
                room_store.site_locale(conn, viewer.site_id),
                public_store.staff_names(conn, viewer.site_id),
                lambda candidate: public_store.display_name_taken(
                    conn, viewer.site_id, candidate, viewer.id
                ),
            )
            public_store.set_customer_name(conn, viewer.site_id, viewer.id, name)
        return Author("customer", viewer.id, name)

    @staticmethod
    def _reply_target(
        conn: Tx, viewer: Viewer, room: Room, message_id: str | None
    ) -> Message | None:
        if message_id is None:
            return None
        parent = room_store.load_message(conn, room.id, message_id)
        # Only text can be answered: quoting a note or a system line would leak or mean nothing.
        if parent is None or parent.kind != "text" or (parent.hidden and not viewer.is_agent):
            raise errors.not_found("message to reply to")
        if parent.hidden:
            raise SapaError(ErrorCode.CONFLICT, "that message is hidden; unhide it to answer")
        return parent


class WelcomeRooms:
    """Each site's open public rooms as every widget's welcome lists them, kept between changes.

    Every hello and every new widget session lists the same rooms for all the visitors of a
    site, so they are read once and kept until something about a public room changes. Every
    such change is published on the bus to the room's readers or to all visitors (a new
    post, an edit, a pin, a rename, a new or archived room...), in this process and in the
    others (Redis), and `saw` forgets the site's entry on any of them: it need not know which
    change it was, and an event that does not change the listing only costs a read. Entries
    are not used while the bus is unhealthy (other processes' events may be missed) and are
    read again after `TTL` seconds whatever happens, for changes no event announces (a CLI
    command on the database, an agent's new name on a pinned message).

    A read that was under way when the site's rooms changed is not kept (`epoch`/`keep`):
    it may predate the change. `get` is also called from a reader thread (store/hello.py).
    """

    TTL = 5.0

    def __init__(self, healthy: Callable[[], bool] = lambda: True, ttl: float = TTL) -> None:
        self._healthy = healthy
        self._ttl = ttl
        self._rooms: dict[str, tuple[float, list[Room]]] = {}
        self._epoch = 0  # counts changes seen, any site
        self._changed: dict[str, int] = {}  # the epoch of each site's last change
        self._all_changed = 0

    def epoch(self) -> int:
        """Take before a read whose result is offered to `keep`."""
        return self._epoch

    def get(self, site_id: str) -> list[Room] | None:
        entry = self._rooms.get(site_id)
        if entry is None or time.monotonic() - entry[0] > self._ttl or not self._healthy():
            return None
        return entry[1]

    def keep(self, site_id: str, rooms: list[Room], since: int) -> None:
        """Keep a read begun at epoch `since`, unless the site's rooms changed meanwhile."""
        if max(self._changed.get(site_id, 0), self._all_changed) > since:
            return
        self._rooms[site_id] = (time.monotonic(), rooms)

    def forget(self, site_id: str | None = None) -> None:
        """The site's rooms changed (None: maybe every site's)."""
        self._epoch += 1
        if site_id is None:
            self._all_changed = self._epoch
            self._rooms.clear()
            return
        self._changed[site_id] = self._epoch
        self._rooms.pop(site_id, None)

    def saw(self, event: Event) -> None:
        if any(a.kind in _PUBLIC_AUDIENCES for a in event.audiences):
            self.forget(event.site_id)

    async def on_event(self, event: Event) -> None:
        self.saw(event)


# A public room's changes go to its readers ("room") or to every visitor of the site.
_PUBLIC_AUDIENCES = frozenset({"room", "visitors"})


class PublicRoomService:
    def __init__(self, db: Database, bus: Bus, chat: ChatService, faq: FaqService) -> None:
        self.db = db
        self.bus = bus
        self.chat = chat
        self.faq = faq
        self.listing = WelcomeRooms(lambda: bus.healthy)
        # Runs in the same turn as the hub's delivery of the event (neither waits), so no
        # welcome is served from the old listing after connected widgets heard of the change.
        bus.subscribe(self.listing.on_event)

    # -- rooms ----------------------------------------------------------------------

    async def create(self, viewer: Viewer, raw_name: Any) -> Room:
        require_owner(viewer, "create rooms")
        name = room_name(raw_name)
        room_id = await self.db.write(
            lambda conn: public_store.insert_room(conn, viewer.site_id, name)
        )
        room = await room_store.get_room(self.db, viewer.site_id, room_id)
        assert room is not None
        await self.chat.publish_room(room)
        return room

    async def update(self, viewer: Viewer, room_id: str, changes: RoomChanges) -> Room:
        check_may_change(changes, viewer.role)

        def job(conn: Tx) -> Room:
            room = _load_public(conn, viewer, room_id)
            if changes.pin and changes.pinned_message_id is not None:
                pinned = room_store.load_message(conn, room.id, changes.pinned_message_id)
                if pinned is None or pinned.kind != "text":
                    raise errors.not_found("message to pin")
                if pinned.hidden:
                    raise SapaError(ErrorCode.CONFLICT, "a hidden message cannot be pinned")
            public_store.update_room(conn, room.id, changes)
            if changes.archived and not room.archived:
                audit.record(conn, viewer.site_id, audit.Actor.of(viewer), "room_archived", room.id)
            updated = room_store.load_room(conn, viewer.site_id, room.id)
            assert updated is not None
            return updated

        room = await self.db.write(job)
        await self.chat.publish_room(room)
        return room

    # -- reading ----------------------------------------------------------------------

    async def history(
        self, viewer: Viewer, room_id: str, before_seq: int | None, limit: int
    ) -> tuple[list[Message], bool]:
        room = await self.chat.room_for(viewer, room_id)
        return await room_store.messages_before(
            self.db, room.id, before_seq, limit, staff=viewer.is_agent
        )

    async def latest(self, viewer: Viewer, room: Room) -> list[Message]:
        """What a `join` shows: the room's newest messages this viewer may see."""
        messages, _ = await room_store.messages_before(
            self.db, room.id, None, JOIN_HISTORY, staff=viewer.is_agent
        )
        return messages

    # -- visitors ---------------------------------------------------------------------

    async def set_display_name(self, viewer: Viewer, raw: Any) -> dict[str, str]:
        """A visitor's public name; refused when it imitates the shop's staff or the shop."""
        if viewer.is_agent:
            raise errors.bad_request("staff post under their own names")
        agents = await agent_store.list_agents(self.db, viewer.site_id)
        site = await site_store.get_site(self.db, viewer.site_id)
        protected = [a.name for a in agents] + ([site.name] if site else [])
        name = validate_display_name(raw, protected)
        await self.db.write(
            lambda conn: public_store.set_customer_name(conn, viewer.site_id, viewer.id, name)
        )
        return {"id": viewer.id, "name": name}

    # -- moderation -------------------------------------------------------------------

    async def moderate(self, viewer: Viewer, room_id: str, message_id: str, action: str) -> Message:
        hide = action == "hide"

        def job(conn: Tx) -> tuple[Room, Message, bool, bool]:
            room = _load_public(conn, viewer, room_id)
            message = room_store.load_message(conn, room.id, message_id)
            if message is None or message.kind != "text":
                raise errors.not_found("message")
            changed = message.hidden != hide
            unpinned = False
            if changed:
                public_store.set_hidden(conn, message.id, hide, viewer.id)
                # A withdrawn message cannot stay on top of the room.
                unpinned = hide and public_store.unpin(conn, room.id, message.id)
                if unpinned:
                    room = room_store.load_room(conn, viewer.site_id, room.id) or room
            return room, replace(message, hidden=hide), changed, unpinned

        room, message, changed, unpinned = await self.db.write(job)
        if changed:
            await self._publish_moderation(viewer, room, message)
        if unpinned:
            await self.chat.publish_room(room)
        return message

    async def _publish_moderation(self, viewer: Viewer, room: Room, message: Message) -> None:
        staff = {
            "type": "moderated",
            "room_id": room.id,
            "action": "hide" if message.hidden else "unhide",
            "message": message.as_dict("s"),
            "by": viewer.author.as_dict(),
        }
        await self.bus.publish(Event.frame(room.site_id, (audience.AGENTS,), staff))
        visitors: dict[str, Any]
        if message.hidden:
            visitors = {"type": "withdrawn", "room_id": room.id, "message_id": message.id}
        else:
            # Back for visitors, quoting its question only if that one is visible too.
            shown = await public_store.get_message(self.db, room.id, message.id, for_visitor=True)
            visitors = {"type": "message", "message": (shown or message).as_dict()}
        await self.bus.publish(Event.frame(room.site_id, audience.room_visitors(room), visitors))

    async def mute(
        self, viewer: Viewer, room_id: str, customer_id: str, minutes: int
    ) -> str | None:
        until_at = mute_until(datetime.now(UTC), minutes)
        until = format_time(until_at) if until_at else None

        def job(conn: Tx) -> Room:
            room = _load_public(conn, viewer, room_id)
            if not public_store.customer_exists(conn, viewer.site_id, customer_id):
                raise errors.not_found("customer")
            public_store.set_mute(conn, room.id, customer_id, until, viewer.id)
            return room

        room = await self.db.write(job)
        payload = {"type": "muted", "room_id": room.id, "customer_id": customer_id, "until": until}
        await self.bus.publish(
            Event.frame(room.site_id, (audience.AGENTS, audience.customer(customer_id)), payload)
        )
        return until

    # -- FAQ ----------------------------------------------------------------------------

    async def faq_from_question(self, viewer: Viewer, room_id: str, message_id: str) -> FaqEntry:
        """A draft FAQ entry from a visitor's question and the newest staff answer to it."""
        require_owner(viewer, "change the FAQ")
        room = _public(await self.chat.room_for(viewer, room_id))
        question = await public_store.get_message(self.db, room.id, message_id)
        if question is None or question.kind != "text" or question.author.kind != "customer":
            raise errors.not_found("question")
        answer = await public_store.staff_answer(self.db, room.id, question.id)
        if answer is None:
            raise SapaError(ErrorCode.CONFLICT, "no staff answer to this question yet")
        site = await site_store.get_site(self.db, viewer.site_id)
        fields = faq_draft(question.body, answer.body, site.locale if site else "id")
        return await self.faq.create(viewer, fields, source_message_id=question.id)


# -- provisioning (CLI, new sites) ----------------------------------------------------------


def insert_default_room(conn: Tx, site_id: str, locale: str) -> str:
    return public_store.insert_room(conn, site_id, default_room_name(locale))


async def create_room(db: Database, site_id: str, raw_name: Any) -> Room:
    """A public room created from the command line (no bus: widgets see it on their next welcome)."""
    name = room_name(raw_name)
    if await site_store.get_site(db, site_id) is None:
        raise errors.not_found("site")
    room_id = await db.write(lambda conn: public_store.insert_room(conn, site_id, name))
    room = await room_store.get_room(db, site_id, room_id)
    assert room is not None
    return room
