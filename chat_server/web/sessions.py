"""The two kinds of socket session: a shopper's widget and an agent's console."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.websockets import WebSocket

from chat_server import errors
from chat_server.domain import frames as f
from chat_server.domain.access import Viewer
from chat_server.domain.models import Agent, Customer, Message, Room, Site
from chat_server.domain.origins import host_of, origin_allowed
from chat_server.ids import hash_token
from chat_server.services import hours, message_edits, origins, widget_sessions
from chat_server.services.presence import save_status
from chat_server.web.context import AppContext
from chat_server.web.gateway import CLOSE_ORIGIN, CLOSE_UNAUTHORIZED, Refused
from chat_server.web.hub import Connection
from chat_server.web.security import session_id_from_cookie


class ChatSession:
    """What both sides may do: send, sync, typing, read receipts, public rooms."""

    # Slotted: one per socket, idle sockets by the thousand.
    __slots__ = ("conn", "ctx", "owner_id", "site_id", "viewer")

    def __init__(self, ctx: AppContext, viewer: Viewer) -> None:
        self.ctx = ctx
        self.viewer = viewer
        self.site_id = viewer.site_id
        self.owner_id = viewer.id
        self.conn: Connection | None = None

    async def opened(self, conn: Connection) -> None:
        self.conn = conn

    async def closed(self) -> None:
        return None

    def room_view(self, room: Room) -> dict[str, Any]:
        return room.as_dict() if self.viewer.is_agent else room.visitor_view()

    def show(self, message: Message) -> dict[str, Any]:
        # Staff's file links still work on a message a moderator hides; visitors' do not.
        return message.as_dict("s" if self.viewer.is_agent else "v")

    async def handle(self, frame: f.Frame) -> dict[str, Any] | None:
        chat, viewer, cmd = self.ctx.chat, self.viewer, frame.command
        match cmd:
            case f.Send():
                outcome = await chat.send(viewer, cmd)
                assert outcome.primary is not None
                if cmd.faq_id and cmd.for_message_id and not outcome.duplicate:
                    await self.ctx.faq.learn(
                        self.site_id, cmd.faq_id, cmd.for_message_id, "used", outcome.room.id
                    )
                return {"message": self.show(outcome.primary), "duplicate": outcome.duplicate}
            case f.Edit():
                return {"message": self.show(await message_edits.edit(chat, viewer, cmd))}
            case f.Unsend():
                return {"message": self.show(await message_edits.unsend(chat, viewer, cmd))}
            case f.Sync():
                page = await chat.sync_page(
                    viewer, cmd.room_id, cmd.after_seq, cmd.limit, cmd.since_rev
                )
                answer = {
                    "messages": [self.show(m) for m in page.messages],
                    "has_more": page.has_more,
                }
                if page.updates is not None:
                    answer |= {"updates": [self.show(m) for m in page.updates], "rev": page.rev}
                if page.withdrawn is not None:
                    answer["withdrawn"] = page.withdrawn
                return answer
            case f.Typing():
                await chat.typing(viewer, cmd.room_id, cmd.active)
                return None
            case f.Read():
                await chat.read(viewer, cmd.room_id, cmd.seq)
                return None
            case f.Join():
                return await self._join(cmd.room_id)
            case f.History():
                messages, has_more = await self.ctx.rooms.history(
                    viewer, cmd.room_id, cmd.before_seq, cmd.limit
                )
                return {"messages": [self.show(m) for m in messages], "has_more": has_more}
            case f.Leave():
                room = await chat.room_for(viewer, cmd.room_id)
                if self.conn is not None:
                    self.ctx.hub.leave(self.conn, room.id)
                return {"room": self.room_view(room)}
            case f.Ping():
                if self.conn is not None:
                    self.conn.send('{"type":"pong"}')
                return None
        return await self.handle_own(cmd)

    async def handle_own(self, cmd: f.Command) -> dict[str, Any] | None:
        raise errors.bad_request("hello was already received")

    async def _join(self, room_id: str) -> dict[str, Any]:
        room = await self.ctx.chat.room_for(self.viewer, room_id)
        if room.kind != "public":
            raise errors.bad_request("only public rooms are joined")
        if self.conn is not None:
            self.ctx.hub.join(self.conn, room.id)
        # The newest messages this viewer may see (visitors: none hidden).
        messages = await self.ctx.rooms.latest(self.viewer, room)
        return {"room": self.room_view(room), "messages": [self.show(m) for m in messages]}


# A session's welcome lists once sent: one empty list for all (never added to).
_NOTHING: list[dict[str, Any]] = []

# What makes a visitor a customer (a message does too, inside its own write): not a
# page view, a sync or a search.
ACTIONS = (f.Join, f.Profile, f.Rate, f.FaqFeedback, f.Contact)


class WidgetSession(ChatSession):
    __slots__ = ("active", "agents_online", "customer", "past", "rooms", "site", "unbound")

    def __init__(
        self, ctx: AppContext, site: Site, customer: Customer, unbound: str | None = None
    ) -> None:
        super().__init__(ctx, Viewer(site.id, "customer", customer.id, customer.display_name()))
        self.site = site
        self.customer = customer
        self.rooms: list[dict[str, Any]] = _NOTHING
        self.past: list[dict[str, Any]] = _NOTHING
        self.agents_online = 0
        self.active = False  # the customer's row exists (made at their first action)
        # A signed token without its row (domain/visitor_tokens.py): it gets one before
        # the first action that makes the visitor's record. The hello's own string, which
        # the gateway holds anyway (its per-token socket count): nothing more per socket.
        self.unbound = unbound

    async def handle(self, frame: f.Frame) -> dict[str, Any] | None:
        if not self.active:
            command = frame.command
            if isinstance(command, ACTIONS):
                await widget_sessions.activate(self.ctx.db, self.customer, self.unbound)
                self.active, self.unbound = True, None
            elif self.unbound is not None and isinstance(command, f.Send):
                # The message's own write makes the record (ChatService.send).
                await widget_sessions.bind(self.ctx.db, hash_token(self.unbound), self.customer)
                self.unbound = None
        return await super().handle(frame)

    async def load(self, found: widget_sessions.Hello) -> None:
        self.rooms, self.past = found.rooms, found.past_conversations
        await with_queue_places(self.ctx, self.site_id, self.rooms)

    async def opened(self, conn: Connection) -> None:
        await super().opened(conn)
        # Counted here because welcome() is sync and presence may live in Redis.
        self.agents_online = await self.ctx.presence.agents_online(self.site.id)

    def welcome(self) -> dict[str, Any]:
        # Sent once; an idle socket need not keep its copy of the rooms.
        rooms, self.rooms = self.rooms, _NOTHING
        past, self.past = self.past, _NOTHING
        return {
            "customer_id": self.customer.id,
            "rooms": rooms,
            "past_conversations": past,
            "agents_online": self.agents_online,
            # Read again at every (re)connect: a long session sees the shop open and close.
            "hours": hours.hours_view(self.site),
        }

    async def handle_own(self, cmd: f.Command) -> dict[str, Any] | None:
        if isinstance(cmd, f.Rate):
            await self.ctx.chat.rate(self.viewer, cmd.room_id, cmd.score, cmd.comment)
            return None
        if isinstance(cmd, f.NewConversation):
            await self.ctx.chat.new_conversation(self.viewer)
            past = await widget_sessions.past_conversations(self.ctx.db, self.customer)
            return {"past_conversations": past}
        if isinstance(cmd, f.FaqSearch):
            return {"items": await self.ctx.faq.answers(self.site_id, cmd.q, cmd.limit)}
        if isinstance(cmd, f.FaqFeedback):
            await self.ctx.faq.feedback(self.viewer, cmd.faq_id, cmd.helpful, cmd.for_message_id)
            return None
        if isinstance(cmd, f.Contact):
            await self.ctx.email.capture(self.site_id, self.customer.id, cmd.email, cmd.consent)
            return {"email": cmd.email}
        if isinstance(cmd, f.Profile):
            customer = await self.ctx.rooms.set_display_name(self.viewer, cmd.name)
            self.viewer = replace(self.viewer, name=customer["name"])
            return {"customer": customer}
        return await super().handle_own(cmd)


class AgentSession(ChatSession):
    __slots__ = ("agent", "agents_online", "status")

    def __init__(self, ctx: AppContext, agent: Agent) -> None:
        super().__init__(ctx, Viewer(agent.site_id, "agent", agent.id, agent.name, agent.role))
        self.agent = agent
        self.status: str = agent.status if agent.status != "offline" else "online"
        self.agents_online = 0

    def welcome(self) -> dict[str, Any]:
        return {
            "agent": {**self.agent.public(), "status": self.status},
            "site_id": self.agent.site_id,
            "agents_online": self.agents_online,
        }

    async def opened(self, conn: Connection) -> None:
        await super().opened(conn)
        if self.status != self.agent.status:
            await save_status(self.ctx.db, self.agent.id, self.status)
        await self.ctx.presence.connected(self.site_id, self.agent.id, self.agent.name, self.status)
        self.agents_online = await self.ctx.presence.agents_online(self.site_id)
        await self.ctx.routing.agent_connected(self.agent.id)
        if self.status == "online":
            self.ctx.routing.agent_connecting(self.site_id)

    async def closed(self) -> None:
        await self.ctx.presence.disconnected(self.site_id, self.agent.id)
        await self.ctx.routing.agent_disconnected(self.site_id, self.agent.id)

    async def handle_own(self, cmd: f.Command) -> dict[str, Any] | None:
        chat, viewer = self.ctx.chat, self.viewer
        match cmd:
            case f.Assign():
                return {"room": (await chat.assign(viewer, cmd.room_id, cmd.agent_id)).as_dict()}
            case f.Transfer():
                return {"room": (await chat.hand_over(viewer, cmd)).as_dict()}
            case f.Resolve():
                return {"room": (await chat.resolve(viewer, cmd.room_id)).as_dict()}
            case f.Reopen():
                return {"room": (await chat.reopen(viewer, cmd.room_id)).as_dict()}
            case f.Snooze():
                return {"room": (await chat.snooze(viewer, cmd.room_id, cmd.until)).as_dict()}
            case f.Unsnooze():
                return {"room": (await chat.unsnooze(viewer, cmd.room_id)).as_dict()}
            case f.Moderate():
                rooms = self.ctx.rooms
                message = await rooms.moderate(viewer, cmd.room_id, cmd.message_id, cmd.action)
                return {"message": self.show(message)}
            case f.Mute():
                until = await self.ctx.rooms.mute(viewer, cmd.room_id, cmd.customer_id, cmd.minutes)
                return {"until": until}
            case f.RoomSettings():
                room = await self.ctx.rooms.update(viewer, cmd.room_id, cmd.changes)
                return {"room": room.as_dict()}
            case f.SetStatus():
                self.status = cmd.status
                await save_status(self.ctx.db, self.agent.id, cmd.status)
                await self.ctx.presence.set_status(self.site_id, self.agent.id, cmd.status)
                if cmd.status == "online":
                    await self.ctx.routing.agent_available(self.site_id)
                return None
        return await super().handle_own(cmd)


async def with_queue_places(ctx: AppContext, site_id: str, rooms: list[dict[str, Any]]) -> None:
    """A waiting conversation says where it stands in line (sites that route automatically)."""
    for room in rooms:
        if room["kind"] == "private" and room["status"] == "queued":
            place = await ctx.routing.queue_view(site_id, room["id"])
            if place is not None:
                room["queue"] = place


async def open_widget(ws: WebSocket, ctx: AppContext, hello: f.Hello) -> WidgetSession:
    if not hello.token:
        raise Refused(CLOSE_UNAUTHORIZED, "a token is required")
    # Everything the welcome needs, read at once (one hop to a reader, not one per read).
    token = ctx.tokens.present(hello.token)
    found = await widget_sessions.hello(ctx.db, token, ctx.rooms.listing)
    if found is None:
        raise Refused(CLOSE_UNAUTHORIZED, "unknown token")
    site, customer = found.site, found.customer
    if not origin_allowed(ws.headers.get("origin"), site.domains):
        raise Refused(CLOSE_ORIGIN, "origin not allowed for this site")
    await origins.seen(ctx.db, site.id, ws.headers.get("origin"))
    session = WidgetSession(ctx, site, customer, None if found.bound else hello.token)
    # Limits that throwaway identities share (public-room posts) count per client address.
    session.viewer = replace(session.viewer, address=ws.client.host if ws.client else None)
    await session.load(found)
    return session


async def open_agent(ws: WebSocket, ctx: AppContext, hello: f.Hello) -> AgentSession:
    if not own_origin(ws, ctx):
        raise Refused(CLOSE_ORIGIN, "origin not allowed")
    session_id = session_id_from_cookie(ctx, ws.cookies.get("sapa_session"))
    console = await ctx.auth.session(session_id) if session_id else None
    if console is None:
        raise Refused(CLOSE_UNAUTHORIZED, "not logged in")
    if console.must_enroll:
        raise Refused(CLOSE_ORIGIN, "two-factor sign-in required")
    return AgentSession(ctx, console.agent)


def own_origin(ws: WebSocket, ctx: AppContext) -> bool:
    """The console is served by this server, so its Origin must be this server's."""
    origin = ws.headers.get("origin")
    if not origin:
        return False
    if ctx.settings.public_url:
        return origin.rstrip("/") == ctx.settings.public_url.rstrip("/")
    host = ws.headers.get("host", "")
    return host_of(origin) is not None and origin.split("://", 1)[1].rstrip("/") == host
