"""Chat use cases: every write commits first, then publishes its events.

Room rules are evaluated inside the write transaction (on the writer thread),
so two racing commands always see each other's effects.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Coroutine
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from chat_server import errors
from chat_server.bus import Bus, Event
from chat_server.domain import audience, rooms, routing
from chat_server.domain.access import Viewer, check_can_read
from chat_server.domain.attachments import Attachment, check_for_message
from chat_server.domain.frames import Send, Transfer
from chat_server.domain.models import Author, Message, Room
from chat_server.domain.public_rooms import PostLimits
from chat_server.domain.routing import AgentLoad
from chat_server.errors import ErrorCode, SapaError
from chat_server.ids import format_time, now_iso
from chat_server.services.followups import FollowUps
from chat_server.services.public_rooms import PostGuard
from chat_server.store import agents as agent_store
from chat_server.store import attachments as attachment_store
from chat_server.store import customers as customer_store
from chat_server.store import faq as faq_store
from chat_server.store import labels as label_store
from chat_server.store import mail as mail_store
from chat_server.store import rooms as room_store
from chat_server.store import routing as routing_store
from chat_server.store import snooze as snooze_store
from chat_server.store import teams as team_store
from chat_server.store.database import Database
from chat_server.store.faq import FaqEvent
from chat_server.store.rooms import Rating
from chat_server.store.routing import QueueEntry
from chat_server.store.sql import Phased, Tx, Written
from chat_server.store.teams import Team

# What a conversation's transcript shows besides messages (each has `at` and `to_json()`).
ActivityItem = Rating | FaqEvent

SYSTEM = Author("system", "system", "Sapa")
WAKE_BATCH = 200  # snoozes woken per write
log = logging.getLogger(__name__)


@dataclass(slots=True)
class QueueNews:
    """The queue as a write left it: the places that changed, and the version they carry."""

    version: int
    entries: list[QueueEntry]
    recent_waits: list[tuple[str, str]]

    def frames(self) -> list[tuple[str, dict[str, Any]]]:
        """(customer_id, frame) for each shopper whose place is news."""
        return [
            (
                e.customer_id,
                {
                    "type": "queue",
                    "room_id": e.room_id,
                    "position": e.position,
                    "eta_seconds": routing.eta_seconds(e.position, self.recent_waits),
                    "version": self.version,
                },
            )
            for e in self.entries
        ]


@dataclass(frozen=True, slots=True)
class SyncPage:
    """A `sync` answer: new messages, and with a `since_rev` the changed older ones and the
    rev the client keeps for its next sync; for a visitor of a public room, also the ids of
    older ones hidden since (`withdrawn`)."""

    messages: list[Message]
    has_more: bool
    updates: list[Message] | None = None
    rev: int | None = None
    withdrawn: list[str] | None = None


@dataclass(slots=True)
class Routed:
    """What routing did inside a write: rooms it assigned, and the queue's news."""

    outcomes: list[Outcome] = field(default_factory=list)
    queue: QueueNews | None = None


@dataclass(slots=True)
class Outcome:
    """What a write did: the messages it appended and whether the room changed."""

    room: Room
    messages: list[Message] = field(default_factory=list)
    room_changed: bool = False
    duplicate: bool = False
    primary: Message | None = None
    # The room joined or left its site's queue in this write.
    queue_entered: bool = False
    queue_left: bool = False
    routed: Routed | None = None


def _apply(conn: Tx, room: Room, change: rooms.Transition, out: Outcome) -> Room:
    if change.event is None:
        return room
    room_store.update_room(conn, room, change.status, change.assignee_id)
    was = routing.waiting(room.kind, room.status, room.assignee_id, room.snoozed)
    snoozed = room.snoozed and change.status != "resolved"  # a resolve ends a snooze
    now = routing.waiting(room.kind, change.status, change.assignee_id, snoozed)
    out.queue_entered = out.queue_entered or (now and not was)
    out.queue_left = out.queue_left or (was and not now)
    line = change.event
    text = line.render(room_store.site_locale(conn, room.site_id))
    out.messages.append(
        room_store.append_message(conn, room, "event", text, SYSTEM, event=line.data())
    )
    out.room_changed = True
    reloaded = room_store.load_room(conn, room.site_id, room.id)
    assert reloaded is not None
    return reloaded


def _files_for(conn: Tx, viewer: Viewer, room: Room, command: Send) -> tuple[Attachment, ...]:
    """The sender's own unsent uploads the message names; anyone else's is not found."""
    if not command.attachments:
        return ()
    files = attachment_store.unsent_of(
        conn, viewer.site_id, viewer.kind, viewer.id, command.attachments
    )
    if len(files) != len(command.attachments):
        raise errors.not_found("attachment")
    check_for_message(
        files,
        visitor=not viewer.is_agent,
        public_room=room.kind == "public",
        room_allows_images=room.visitor_images,
    )
    return tuple(files)


def _wake(conn: Tx, room: Room, out: Outcome) -> Room:
    """End a snooze: the conversation is back in the open inbox, with its assignee, or at the
    end of the queue when it has none (routing runs after, in the same write)."""
    snooze_store.mark(conn, room.id, None)
    out.room_changed = True
    if routing.waiting(room.kind, room.status, room.assignee_id):
        routing_store.enqueue(conn, room.site_id, room.id, now_iso())
        out.queue_entered = True
    reloaded = room_store.load_room(conn, room.site_id, room.id)
    assert reloaded is not None
    return reloaded


def _give_back(conn: Tx, site_id: str, agent_id: str) -> list[Outcome]:
    """An agent's open conversations go back to the queue, each with its `unassigned` line."""
    outcomes = []
    for room_id in room_store.assigned_open_rooms(conn, site_id, agent_id):
        room = room_store.load_room(conn, site_id, room_id)
        assert room is not None
        out = Outcome(room)
        change = rooms.assign(room.status, room.assignee_id, None, None)
        out.room = _apply(conn, room, change, out)
        outcomes.append(out)
    return outcomes


async def _nobody(site_id: str) -> frozenset[str]:
    return frozenset()


def _handover(conn: Tx, out: Outcome, viewer: Viewer, note: str | None) -> None:
    """A transfer's note for the receiver: a private note by the one handing over."""
    if note:
        out.messages.append(room_store.append_message(conn, out.room, "note", note, viewer.author))
        out.room = room_store.load_room(conn, out.room.site_id, out.room.id) or out.room


def _plan(
    conn: Tx, site_id: str, settings: routing.RoutingSettings, loads: list[AgentLoad], free: int
) -> list[tuple[str, AgentLoad]]:
    """Who gets which waiting conversation: a team's only its own agents (domain `plan_teams`)."""
    teams_of = team_store.teams_of(conn, site_id, [a.agent_id for a in loads])
    team_free = routing.team_free_slots(settings, loads, teams_of)
    head = team_store.queue_head(conn, site_id, free, team_free)
    return routing.plan_teams(settings, head, loads, teams_of)


def _route(
    conn: Tx, site_id: str, online: Collection[str], changed: list[Outcome], moved: bool = False
) -> Routed | None:
    """Give waiting conversations to online agents with free slots, oldest first.

    Runs inside the write that freed a slot or queued a room, so the counts it reads are
    the committed truth plus this write: no cap is ever passed, no room given twice, on any
    number of processes (SQLite: one writer at a time; PostgreSQL: batches take turns on a lock).
    """
    settings = routing_store.settings(conn, site_id)
    if not settings.automatic:
        return None
    routed = Routed()
    loads = routing_store.agent_loads(conn, site_id, online)
    free = routing.free_slots(settings, loads)
    if free:
        for room_id, agent in _plan(conn, site_id, settings, loads, free):
            room = room_store.load_room(conn, site_id, room_id)
            assert room is not None
            sub = Outcome(room)
            change = rooms.assign(room.status, room.assignee_id, agent.agent_id, agent.name)
            sub.room = _apply(conn, room, change, sub)
            routed.outcomes.append(sub)
    everything = [*changed, *routed.outcomes]
    # `moved`: places changed without a room leaving (a team gone, a waiting room's team).
    left = moved or any(o.queue_left for o in everything)
    entered = [o.room.id for o in everything if o.queue_entered]
    if left or entered:
        version = routing_store.bump_version(conn, site_id)
        # A room leaving moves everyone behind it; a room joining is the only news itself.
        entries = (
            routing_store.queue(conn, site_id)
            if left
            else [e for rid in entered if (e := routing_store.entry(conn, rid)) is not None]
        )
        routed.queue = QueueNews(version, entries, routing_store.recent_waits(conn, site_id))
    return routed


class _ShopperText(Phased[Outcome]):
    """A shopper's plain text: in the common case (their conversation exists, needs no
    change of status, no routing, no snooze ended, no resend) it takes the short way
    (`sql.Phased`): no savepoint, the room not selected again; on PostgreSQL its lookup and
    its append each share one round trip with the rest of the batch. Anything else runs
    `whole`, the send job itself."""

    __slots__ = ("_command", "_looked", "_posts", "_viewer", "_whole")

    def __init__(
        self, whole: Callable[[Tx], Outcome], viewer: Viewer, command: Send, posts: PostGuard
    ) -> None:
        self._whole = whole
        self._viewer = viewer
        self._command = command
        self._posts = posts
        self._looked: Callable[[], room_store.SendLookup | None] | None = None

    def __call__(self, conn: Tx, /) -> Outcome:
        return self._whole(conn)

    def look(self, conn: Tx, written: Written) -> None:
        viewer, command = self._viewer, self._command
        self._looked = room_store.look_for_send(
            conn, viewer.site_id, viewer.id, command.room_id, command.client_msg_id, written
        )

    def write(self, conn: Tx, written: Written) -> Callable[[], Outcome] | None:
        assert self._looked is not None
        viewer, command = self._viewer, self._command
        found = self._looked()
        # A lookup is stale once an earlier job of the group wrote the same room (or may
        # have made the customer's): that one, and every later one there, runs whole.
        stale = viewer.id in written.customers or (
            found is not None and found.room.id in written.rooms
        )
        written.customers.add(viewer.id)
        if found is None:
            return None  # a first message makes the room; or no such room: `whole` says so
        room = found.room
        written.rooms.add(room.id)
        if stale or found.sent_id is not None or not found.sender_ok:
            return None
        if room.kind != "private" or room.last_seq == 0 or room.snoozed or room.superseded_at:
            return None
        if rooms.on_customer_message(room.status, room.assignee_id).event is not None:
            return None
        try:
            check_can_read(viewer, room)
            author, _ = self._posts.check(conn, viewer, room, command)
        except SapaError:
            return None
        later = room_store.append_later(
            conn, room, command.kind, command.body, author, command.client_msg_id, written
        )

        def outcome() -> Outcome:
            message, after = later()
            return Outcome(after, [message], primary=message)

        return outcome


async def with_labels(db: Database, found: list[Room]) -> list[Room]:
    """Conversations with their `labels` (staff only: `extra` never reaches a visitor)."""
    private = [r.id for r in found if r.kind == "private"]
    labels = await label_store.labels_of_rooms(db, private)
    return [
        replace(r, extra={**r.extra, "labels": [x.to_json() for x in labels.get(r.id, [])]})
        if r.kind == "private"
        else r
        for r in found
    ]


class ChatService:
    def __init__(self, db: Database, bus: Bus, post_limits: PostLimits | None = None) -> None:
        self.db = db
        self.bus = bus
        # Which of a site's agents are online (presence, shared by the processes); only they
        # are given conversations. The app sets it; without it nobody is routed to.
        self.online_agents: Callable[[str], Awaitable[frozenset[str]]] = _nobody
        self.messages_stored = 0  # this process, for /metrics
        # Work that follows a shopper's message (FAQ suggestions) without delaying its ack.
        self.after_customer_message: list[Callable[[Room, Message], Coroutine[Any, Any, None]]] = []
        self.followups = FollowUps()
        # Who may post in public rooms, and how fast; replies (checked in the write).
        self.posts = PostGuard(post_limits)

    # -- sending ------------------------------------------------------------

    async def send(self, viewer: Viewer, command: Send) -> Outcome:
        # Public-room allowances shared across processes are taken before the write.
        charged = await self.posts.charge(self.db, viewer, command)
        # A shopper's message may queue or reopen a conversation: routing needs who is online.
        online = frozenset() if viewer.is_agent else await self.online_agents(viewer.site_id)

        def job(conn: Tx) -> Outcome:
            if not viewer.is_agent:
                # A visitor's first message makes their record; an erased one sends nothing.
                customer_store.activate(conn, viewer.site_id, viewer.id)
            room, existing = self._room_for_send(conn, viewer, command)
            if existing is not None:
                return Outcome(room, duplicate=True, primary=existing)
            author, reply_to = self.posts.check(
                conn, viewer, room, command, charged=charged is not None
            )
            out = Outcome(room, room_changed=room.last_seq == 0)
            # A conversation's first message is when it joined the queue (made in this write).
            out.queue_entered = room.kind == "private" and room.last_seq == 0
            if not viewer.is_agent and room.snoozed:
                room = _wake(conn, room, out)  # the shopper wrote: it comes back now
            if command.kind == "text":
                change = (
                    rooms.on_agent_reply(room.status, room.assignee_id, viewer.id, viewer.name)
                    if viewer.is_agent
                    else rooms.on_customer_message(room.status, room.assignee_id)
                )
                room = _apply(conn, room, change, out)
                if viewer.is_agent:
                    # In the same transaction: a reply is never left un-emailed by a crash.
                    mail_store.schedule_reply(conn, room)
            files = _files_for(conn, viewer, room, command)
            # The room as the message left it comes back with the append (one round trip).
            message, out.room = room_store.append_and_load(
                conn,
                room,
                command.kind,
                command.body,
                author,
                command.client_msg_id,
                reply_to,
                attachments=files,
            )
            if files:
                attachment_store.claim(conn, command.attachments, message.id, room.id)
            out.messages.append(message)
            out.primary = message
            if room.kind == "private" and out.room_changed:
                out.routed = _route(conn, room.site_id, online, [out])
                out.room = room_store.load_room(conn, room.site_id, room.id) or out.room
            return out

        plain = (
            not viewer.is_agent
            and charged is None
            and command.kind == "text"
            and not command.attachments
            and command.reply_to is None
        )
        try:
            outcome = await self.db.write(
                _ShopperText(job, viewer, command, self.posts) if plain else job
            )
        except SapaError:
            await self.posts.give_back(charged)  # refused: it used up nothing
            raise
        if outcome.duplicate:
            await self.posts.give_back(charged)
        await self._publish(outcome)
        if not outcome.duplicate and not viewer.is_agent and outcome.primary is not None:
            for follow in self.after_customer_message:
                self.followups.add(follow(outcome.room, outcome.primary))
        return outcome

    def _room_for_send(
        self, conn: Tx, viewer: Viewer, command: Send
    ) -> tuple[Room, Message | None]:
        """The room, and the message this client_msg_id stored there already (a resend)."""
        if command.room_id is None:
            if viewer.is_agent:
                raise errors.bad_request("'room_id' is required")
            target = room_store.private_room_for_send(
                conn, viewer.site_id, viewer.id, command.client_msg_id
            )
            return target.room, target.sent
        found = room_store.room_for_send(
            conn, viewer.site_id, command.room_id, command.client_msg_id
        )
        room = check_can_read(viewer, found.room if found else None)
        if not viewer.is_agent:
            rooms.check_not_past(room.superseded_at)  # a resend in it is refused too
        if room.kind == "public" and command.kind == "note":
            raise errors.bad_request("notes belong in private conversations")
        return room, found.sent if found else None

    async def new_conversation(self, viewer: Viewer) -> Room | None:
        """The shopper leaves their resolved conversation behind; their next message starts a
        new one (made, queued and routed then, so routing never sees an empty conversation).
        None when there is no current conversation: already left (another tab was first),
        or never started. Answers the conversation left behind."""

        def job(conn: Tx) -> Room | None:
            room = room_store.current_room(conn, viewer.id)
            if room is None:
                return None
            rooms.check_may_leave(room.status)
            return room_store.supersede(conn, room)

        if viewer.is_agent:
            raise errors.bad_request("only shoppers start conversations")
        left = await self.db.write(job)
        if left is not None:
            await self.publish_room(left)  # the shopper's other tabs and the consoles follow
        return left

    # -- reading ------------------------------------------------------------

    async def room_for(self, viewer: Viewer, room_id: str) -> Room:
        return check_can_read(viewer, await room_store.get_room(self.db, viewer.site_id, room_id))

    async def list_rooms(
        self,
        viewer: Viewer,
        *,
        kind: str | None = None,
        status: str | None = None,
        assignee: str | None = None,
        snoozed: bool | None = None,
        limit: int = 500,
        team: str | None = None,
        label: str | None = None,
    ) -> list[Room]:
        """The site's rooms as staff see them: unread and unanswered counts for this agent,
        and each conversation's labels."""
        found = await room_store.list_rooms(
            self.db,
            viewer.site_id,
            viewer.id,
            kind=kind,
            status=status,
            assignee=assignee,
            team=team,
            label=label,
            snoozed=snoozed,
            limit=limit,
        )
        return await with_labels(self.db, found)

    async def sync(
        self, viewer: Viewer, room_id: str, after_seq: int, limit: int
    ) -> tuple[list[Message], bool]:
        page = await self.sync_page(viewer, room_id, after_seq, limit)
        return page.messages, page.has_more

    async def sync_page(
        self, viewer: Viewer, room_id: str, after_seq: int, limit: int, since_rev: int | None = None
    ) -> SyncPage:
        """The messages after `after_seq`; with `since_rev`, also those up to it that were
        edited, unsent, hidden or unhidden since that rev (a client that was away missed
        their events). A visitor is told a hidden one's id alone (`withdrawn`)."""
        room = await self.room_for(viewer, room_id)
        messages, has_more = await room_store.messages_after(
            self.db, room.id, after_seq, limit, include_notes=viewer.is_agent
        )
        if since_rev is None:
            return SyncPage(messages, has_more)
        # Up to the rev read with the room: a later change is the next sync's.
        changed = await room_store.messages_changed(
            self.db, room.id, after_seq, (since_rev, room.last_rev), limit, staff=viewer.is_agent
        )
        # Nothing in a conversation is ever hidden: only public rooms' visitors get the field.
        visitor = room.kind == "public" and not viewer.is_agent
        return SyncPage(
            messages,
            has_more or changed.more,
            changed.messages,
            changed.rev,
            changed.withdrawn if visitor else None,
        )

    # -- agent actions ------------------------------------------------------

    async def assign(self, viewer: Viewer, room_id: str, agent_id: str | None) -> Room:
        target = None
        if agent_id is not None:
            target = await agent_store.get_agent(self.db, viewer.site_id, agent_id)
            if target is None or not target.active:
                raise errors.not_found("agent")

        def job(conn: Tx) -> Outcome:
            room = check_can_read(viewer, room_store.load_room(conn, viewer.site_id, room_id))
            out = Outcome(room)
            change = rooms.assign(
                room.status, room.assignee_id, agent_id, target.name if target else None
            )
            out.room = _apply(conn, room, change, out)
            self._after_change(conn, out, online)
            return out

        online = await self.online_agents(viewer.site_id)
        return await self._run_room_change(job)

    async def return_to_queue(self, site_id: str, agent_id: str) -> list[Room]:
        """A deactivated agent's open conversations go back to the queue, each with its line,
        and are routed to the agents online at once (in the same write)."""
        return await self.give_back(site_id, lambda conn: (agent_id,))

    async def give_back(self, site_id: str, choose: Callable[[Tx], Collection[str]]) -> list[Room]:
        """The open conversations of the agents `choose` names inside the write go back to the
        queue and are routed to the other agents online, in that same write."""
        online = await self.online_agents(site_id)

        def job(conn: Tx) -> tuple[list[Outcome], Routed | None]:
            agent_ids = choose(conn)
            outcomes = [o for a in agent_ids for o in _give_back(conn, site_id, a)]
            if not outcomes:
                return outcomes, None
            return outcomes, _route(conn, site_id, online - frozenset(agent_ids), outcomes)

        outcomes, routed = await self.db.write(job)
        for outcome in outcomes:
            await self._publish(outcome)
        if routed is not None:
            await self._publish_routed(site_id, routed)
        return [o.room for o in outcomes]

    # -- snooze ---------------------------------------------------------------

    async def snooze(self, viewer: Viewer, room_id: str, until: Any) -> Room:
        """Out of the open inbox until `until` (None: until the shopper writes). A waiting
        conversation steps out of the queue; an assigned one stays its agent's and no longer
        counts against their cap while it sleeps."""
        stored = rooms.snooze_until(until, datetime.now(UTC))

        def job(conn: Tx) -> Outcome:
            room = check_can_read(viewer, room_store.load_room(conn, viewer.site_id, room_id))
            rooms.check_snooze(room.kind, room.status)
            out = Outcome(room, room_changed=True)
            out.queue_left = routing.waiting(room.kind, room.status, room.assignee_id, room.snoozed)
            snooze_store.mark(conn, room.id, stored)
            out.room = room_store.load_room(conn, room.site_id, room.id) or room
            # A slot or a place in line freed: the queue moves in the same write.
            out.routed = _route(conn, room.site_id, online, [out])
            return out

        online = await self.online_agents(viewer.site_id)
        return await self._run_room_change(job)

    async def unsnooze(self, viewer: Viewer, room_id: str) -> Room:
        """Back in the open inbox now (a conversation that is not snoozed is left as it is)."""

        def job(conn: Tx) -> Outcome:
            room = check_can_read(viewer, room_store.load_room(conn, viewer.site_id, room_id))
            out = Outcome(room)
            if room.snoozed:
                out.room = _wake(conn, room, out)
                out.routed = _route(conn, room.site_id, online, [out])
            return out

        online = await self.online_agents(viewer.site_id)
        return await self._run_room_change(job)

    async def wake_due(self, now: datetime | None = None) -> int:
        """Wake every conversation whose snooze has ended; how many woke. Each is taken inside
        the write (its mark cleared there), so two processes never wake one twice."""
        moment = format_time(now or datetime.now(UTC))
        woken = 0
        while sites := await snooze_store.due_sites(self.db, moment):
            online = {site_id: await self.online_agents(site_id) for site_id in sites}

            def job(
                conn: Tx, sites: list[str] = sites, online: dict[str, frozenset[str]] = online
            ) -> list[Outcome]:
                by_site: dict[str, list[Outcome]] = defaultdict(list)
                for site_id, room_id in snooze_store.due(conn, moment, sites, WAKE_BATCH):
                    room = room_store.load_room(conn, site_id, room_id)
                    assert room is not None
                    out = Outcome(room)
                    out.room = _wake(conn, room, out)
                    by_site[site_id].append(out)
                for site_id, outs in by_site.items():
                    outs[-1].routed = _route(conn, site_id, online[site_id], outs)
                return [o for outs in by_site.values() for o in outs]

            outcomes = await self.db.write(job)
            for outcome in outcomes:
                await self._publish(outcome)
            woken += len(outcomes)
            if len(outcomes) < WAKE_BATCH:
                break
        return woken

    async def transfer(self, viewer: Viewer, room_id: str, agent_id: str, note: str | None) -> Room:
        """Give the conversation to another agent of the site, with a handover note stored as
        a private note; the receiver gets a `transfer` event. Their cap does not bind it (a
        person chose them); the slot it frees is filled from the queue in the same write."""
        target = await agent_store.get_agent(self.db, viewer.site_id, agent_id)
        if target is None or not target.active:
            raise errors.not_found("agent")

        def job(conn: Tx) -> Outcome:
            room = check_can_read(viewer, room_store.load_room(conn, viewer.site_id, room_id))
            if room.kind != "private":
                raise errors.bad_request("only conversations are transferred")
            if room.assignee_id == target.id:
                raise SapaError(ErrorCode.CONFLICT, f"{target.name} already has it")
            out = Outcome(room)
            change = rooms.assign(room.status, room.assignee_id, target.id, target.name)
            out.room = _apply(conn, room, change, out)
            _handover(conn, out, viewer, note)
            self._after_change(conn, out, online)
            return out

        online = await self.online_agents(viewer.site_id)
        room = await self._run_room_change(job)
        handover = {
            "type": "transfer",
            "room_id": room.id,
            "from": viewer.author.as_dict(),
            "note": note,
        }
        await self.bus.publish(Event.frame(viewer.site_id, (audience.agent(target.id),), handover))
        return room

    async def transfer_to_team(
        self, viewer: Viewer, room_id: str, team_id: str, note: str | None
    ) -> Room:
        """Give the conversation to a team: it leaves its assignee and waits in line for that
        team's online agents (routing picks one in the same write when a slot is free); the
        handover note is a private note, and every member gets a `transfer` event."""

        def job(conn: Tx) -> tuple[Outcome, Team]:
            team = team_store.load_team(conn, viewer.site_id, team_id)
            if team is None:
                raise errors.not_found("team")
            room = check_can_read(viewer, room_store.load_room(conn, viewer.site_id, room_id))
            if room.kind != "private":
                raise errors.bad_request("only conversations are transferred")
            if room.extra.get("team", {}).get("id") == team.id and room.assignee_id is None:
                raise SapaError(ErrorCode.CONFLICT, f"{team.name} already has it")
            team_store.set_room_team(conn, room.id, team.id)
            # Already waiting: it moves to the team's line, and both lines' places change.
            moved = routing.waiting(room.kind, room.status, room.assignee_id, room.snoozed)
            room = room_store.load_room(conn, room.site_id, room.id) or room
            out = Outcome(room, room_changed=True, queue_left=moved)
            change = rooms.assign(room.status, room.assignee_id, None, None)
            out.room = _apply(conn, room, change, out)
            _handover(conn, out, viewer, note)
            self._after_change(conn, out, online)
            return out, team

        online = await self.online_agents(viewer.site_id)
        outcome, team = await self.db.write(job)
        await self._publish(outcome)
        handover = {
            "type": "transfer",
            "room_id": outcome.room.id,
            "from": viewer.author.as_dict(),
            "note": note,
            "team": {"id": team.id, "name": team.name},
        }
        members = tuple(audience.agent(a) for a in team.members if a != viewer.id)
        if members:
            await self.bus.publish(Event.frame(viewer.site_id, members, handover))
        return outcome.room

    async def hand_over(self, viewer: Viewer, command: Transfer) -> Room:
        """A `transfer` frame (or its REST twin) to an agent or a team."""
        if command.team_id is not None:
            return await self.transfer_to_team(
                viewer, command.room_id, command.team_id, command.note
            )
        return await self.transfer(viewer, command.room_id, command.agent_id or "", command.note)

    async def resolve(self, viewer: Viewer, room_id: str) -> Room:
        return await self._transition(viewer, room_id, rooms.resolve)

    async def reopen(self, viewer: Viewer, room_id: str) -> Room:
        return await self._transition(viewer, room_id, rooms.reopen)

    async def _transition(
        self,
        viewer: Viewer,
        room_id: str,
        rule: Callable[[Any, str | None, str, str | None], rooms.Transition],
    ) -> Room:
        def job(conn: Tx) -> Outcome:
            room = check_can_read(viewer, room_store.load_room(conn, viewer.site_id, room_id))
            if rule is rooms.reopen:
                rooms.check_not_past(room.superseded_at)
            out = Outcome(room)
            change = rule(room.status, room.assignee_id, viewer.name, viewer.id)
            out.room = _apply(conn, room, change, out)
            self._after_change(conn, out, online)
            return out

        online = await self.online_agents(viewer.site_id)
        return await self._run_room_change(job)

    @staticmethod
    def _after_change(conn: Tx, out: Outcome, online: Collection[str]) -> None:
        """A conversation changed hands or state: a slot may be free, the queue may move."""
        if out.room.kind == "private" and out.room_changed:
            out.routed = _route(conn, out.room.site_id, online, [out])
            if out.routed and out.routed.outcomes:
                out.room = room_store.load_room(conn, out.room.site_id, out.room.id) or out.room

    async def route(self, site_id: str, moved: bool = False) -> None:
        """Fill free slots from the queue (an agent came online, a cap or the mode changed);
        `moved`: the waiting rooms' places changed (a team deleted), tell their shoppers."""
        online = await self.online_agents(site_id)
        routed = await self.db.write(lambda conn: _route(conn, site_id, online, [], moved))
        if routed is not None:
            await self._publish_routed(site_id, routed)

    async def _run_room_change(self, job: Callable[[Tx], Outcome]) -> Room:
        outcome = await self.db.write(job)
        await self._publish(outcome)
        return outcome.room

    # -- ephemeral and bookkeeping -------------------------------------------

    async def typing(self, viewer: Viewer, room_id: str, active: bool) -> None:
        room = await self.room_for(viewer, room_id)
        payload = {
            "type": "typing",
            "room_id": room.id,
            "author": viewer.author.as_dict(),
            "active": active,
        }
        await self.bus.publish(
            Event.frame(viewer.site_id, audience.for_typing(room, viewer.kind), payload)
        )

    async def read(self, viewer: Viewer, room_id: str, seq: int) -> None:
        room = await self.room_for(viewer, room_id)
        # PROTOCOL v1 sets no bound on `seq`: a mark past the last message means "all of it".
        seq = min(seq, room.last_seq)
        stored = await self.db.write(
            lambda conn: room_store.set_read_mark(conn, room.id, viewer.kind, viewer.id, seq)
        )
        payload = {
            "type": "read",
            "room_id": room.id,
            "seq": stored,
            "reader": viewer.author.as_dict(),
        }
        await self.bus.publish(
            Event.frame(viewer.site_id, audience.for_read(room, viewer.kind, viewer.id), payload)
        )

    async def rate(self, viewer: Viewer, room_id: str, score: int, comment: str | None) -> None:
        room = await self.room_for(viewer, room_id)
        if room.kind != "private" or room.status != "resolved":
            raise SapaError(ErrorCode.CONFLICT, "a conversation can be rated once it is resolved")

        def job(conn: Tx) -> Rating | None:
            customer_store.activate(conn, viewer.site_id, viewer.id)
            return room_store.insert_rating(conn, room, viewer.id, score, comment)

        rating = await self.db.write(job)
        if rating is None:  # checked again in the write: a reopen racing the rating wins
            raise SapaError(ErrorCode.CONFLICT, "a conversation can be rated once it is resolved")
        # Agents see the rating in the conversation's transcript.
        payload = {"type": "activity", "room_id": room.id, "item": rating.to_json()}
        await self.bus.publish(Event.frame(room.site_id, (audience.AGENTS,), payload))

    async def activity(self, viewer: Viewer, room_id: str, limit: int) -> list[ActivityItem]:
        """FAQ cards shown to the shopper, their clicks, and ratings (staff only), oldest first."""
        room = await self.room_for(viewer, room_id)
        if not viewer.is_agent:
            raise errors.not_found("room")
        items: list[ActivityItem] = [
            *await faq_store.room_events(self.db, room.id, limit),
            *await room_store.ratings(self.db, room.id, limit),
        ]
        items.sort(key=lambda item: item.at)
        return items[-limit:]

    # -- publishing -----------------------------------------------------------

    async def _publish(self, outcome: Outcome) -> None:
        self.messages_stored += len(outcome.messages)
        room = outcome.room
        for message in outcome.messages:
            payload = {"type": "message", "message": message.as_dict()}
            await self.bus.publish(
                Event.frame(room.site_id, audience.for_message(room, message), payload)
            )
        if outcome.room_changed:
            await self.publish_room(room)
        if outcome.routed is not None:
            await self._publish_routed(room.site_id, outcome.routed)

    async def _publish_routed(self, site_id: str, routed: Routed) -> None:
        for sub in routed.outcomes:
            await self._publish(sub)
        if routed.queue is not None:
            for customer_id, frame in routed.queue.frames():
                await self.bus.publish(
                    Event.frame(site_id, (audience.customer(customer_id),), frame)
                )

    async def publish_staff_room(self, room: Room) -> None:
        """A change only staff see (a label, a team's name): the `room` event to agents."""
        staff = Event.frame(
            room.site_id, (audience.AGENTS,), {"type": "room", "room": room.as_dict()}
        )
        await self.bus.publish(staff)

    async def publish_room(self, room: Room) -> None:
        staff = Event.frame(
            room.site_id, (audience.AGENTS,), {"type": "room", "room": room.as_dict()}
        )
        await self.bus.publish(staff)
        if room.kind == "private" and room.customer_id:
            visitor = Event.frame(
                room.site_id,
                (audience.customer(room.customer_id),),
                {"type": "room", "room": room.visitor_view()},
            )
            await self.bus.publish(visitor)
        elif room.kind == "public":
            # Every widget lists the site's public rooms (welcome.rooms), joined or not.
            listed = Event.frame(
                room.site_id, (audience.VISITORS,), {"type": "room", "room": room.visitor_view()}
            )
            await self.bus.publish(listed)
